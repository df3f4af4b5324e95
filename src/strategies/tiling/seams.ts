import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { tileBorders } from './grid.js';
import { resolveTilingOptions, type TilingOptions } from './options.js';

export interface SeamReport {
  /** Mean |difference| of adjacent pixels that lie on both sides of a tile border (rows and columns). */
  acrossBorders: number;
  /** The same mean over every other pair of adjacent pixels. */
  elsewhere: number;
  /** acrossBorders / elsewhere: about 1 when no seam shows, above 1 when borders stand out. */
  ratio: number;
}

/**
 * A seam metric for a tiled output: compares the differences between adjacent pixels across the tile
 * borders that `options` produce for an input of `inputHeight` × `inputWidth` with those elsewhere. A
 * visible seam is a step at the border, so it raises the first mean and not the second.
 */
export function measureSeams(output: tf.Tensor, inputHeight: number, inputWidth: number, options: TilingOptions): SeamReport {
  if (!(output instanceof tf.Tensor) || output.rank !== 4) throw new InvalidArgumentError('measureSeams needs a 4-D NHWC output tensor.');
  const { tileSize, overlapPixels, outputScale } = resolveTilingOptions(options, 'measureSeams');
  const [batch, h, w, c] = output.shape as [number, number, number, number];
  const rowBorders = new Set(tileBorders(inputHeight, tileSize, overlapPixels, outputScale));
  const colBorders = new Set(tileBorders(inputWidth, tileSize, overlapPixels, outputScale));
  const v = output.dataSync();
  let border = 0;
  let borderCount = 0;
  let other = 0;
  let otherCount = 0;
  const at = (b: number, y: number, x: number, k: number): number => v[((b * h + y) * w + x) * c + k]!;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          const here = at(b, y, x, k);
          // The pair (y − 1, y) straddles a border at y; likewise for columns.
          if (y > 0) {
            const d = Math.abs(here - at(b, y - 1, x, k));
            if (rowBorders.has(y)) (border += d), borderCount++;
            else (other += d), otherCount++;
          }
          if (x > 0) {
            const d = Math.abs(here - at(b, y, x - 1, k));
            if (colBorders.has(x)) (border += d), borderCount++;
            else (other += d), otherCount++;
          }
        }
      }
    }
  }
  const acrossBorders = borderCount === 0 ? 0 : border / borderCount;
  const elsewhere = otherCount === 0 ? 0 : other / otherCount;
  return { acrossBorders, elsewhere, ratio: elsewhere === 0 ? (acrossBorders === 0 ? 1 : Infinity) : acrossBorders / elsewhere };
}
