import { InvalidArgumentError } from '../../base/errors.js';
import { checkOptionKeys } from '../optionKeys.js';

export interface TilingOptions {
  /** Tile side in input pixels (an integer ≥ 1). Inputs up to this size in both H and W run untiled. */
  tileSize: number;
  /** Fraction of `tileSize` that neighbouring tiles share and blend over, in [0, 1). Default 0.25. */
  tileOverlap?: number;
  /** Output pixels per input pixel (2 for a 2× upscaler, 1/8 for an encoder that downsamples by 8). Default 1. */
  outputScale?: number;
}

export interface ResolvedTilingOptions {
  tileSize: number;
  tileOverlap: number;
  outputScale: number;
  /** The overlap in input pixels: round(tileSize · tileOverlap). */
  overlapPixels: number;
}

/** The keys of TilingOptions, for the unknown-key check. */
export const TILING_OPTION_KEYS = ['tileSize', 'tileOverlap', 'outputScale'] as const;

/** Checks the options (unknown keys too) and fills the defaults; throws a MemhooksError naming the option before anything changes. */
export function resolveTilingOptions(options: TilingOptions | undefined, where: string): ResolvedTilingOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${where} needs an options object with at least \`tileSize\`, got ${options === null ? 'null' : typeof options}.`);
  }
  checkOptionKeys(where, options, TILING_OPTION_KEYS);
  const { tileSize, tileOverlap = 0.25, outputScale = 1 } = options;
  if (!Number.isInteger(tileSize) || tileSize < 1) {
    throw new InvalidArgumentError(`${where}: \`tileSize\` must be an integer ≥ 1 (tile side in input pixels), got ${String(tileSize)}.`);
  }
  if (typeof tileOverlap !== 'number' || !(tileOverlap >= 0 && tileOverlap < 1)) {
    throw new InvalidArgumentError(`${where}: \`tileOverlap\` must be a fraction of tileSize in [0, 1), got ${String(tileOverlap)}.`);
  }
  const overlapPixels = Math.round(tileSize * tileOverlap);
  if (overlapPixels >= tileSize) {
    throw new InvalidArgumentError(
      `${where}: \`tileSize\` (${tileSize}) must be larger than the overlap (${overlapPixels} pixels = tileOverlap ${tileOverlap} of it), ` +
        `or tiles would never advance. Use a larger tileSize or a smaller tileOverlap.`,
    );
  }
  if (typeof outputScale !== 'number' || !Number.isFinite(outputScale) || outputScale <= 0) {
    throw new InvalidArgumentError(`${where}: \`outputScale\` must be a positive number (output pixels per input pixel), got ${String(outputScale)}.`);
  }
  if (!Number.isInteger(tileSize * outputScale) || !Number.isInteger((tileSize - overlapPixels) * outputScale)) {
    throw new InvalidArgumentError(
      `${where}: with \`outputScale\` ${outputScale}, \`tileSize\` (${tileSize}) and its step (${tileSize - overlapPixels}) must map to whole output pixels. ` +
        `Pick a tileSize and tileOverlap that are multiples of ${1 / outputScale} pixels.`,
    );
  }
  return { tileSize, tileOverlap, outputScale, overlapPixels };
}
