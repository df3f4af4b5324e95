import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { ModelHook, type NextForward } from '../../hooks/ModelHook.js';
import { formatShape } from '../../models/layers/checks.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { Canvas } from './Canvas.js';
import { blendWeights, tileSpans, type Span } from './grid.js';
import type { ResolvedTilingOptions } from './options.js';

/** The hook name tiling registers under (one per module). */
export const TILING = 'tiling' as const;

/**
 * Runs an NHWC image-to-image module on overlapping spatial tiles of its first argument and blends the
 * overlaps linearly (diffusers' `enable_vae_tiling`, on any module). Other arguments (a wrapped model's
 * predict config) go unchanged to every tile. An input that fits in one tile runs untiled: one call, the
 * module's own output.
 */
export class TilingHook extends ModelHook {
  constructor(readonly options: ResolvedTilingOptions) {
    super();
  }

  override newForward(module: Module, args: any[], next: NextForward): any {
    const [x, ...rest] = args;
    const [batch, height, width, channels] = checkImage(module, x);
    const { tileSize, overlapPixels, outputScale: scale } = this.options;
    if (height <= tileSize && width <= tileSize) return next(...args);
    const rows = tileSpans(height, tileSize, overlapPixels);
    const cols = tileSpans(width, tileSize, overlapPixels);
    checkWholePixels(module, [...rows, ...cols], scale);
    let canvas: Canvas | undefined;
    for (const r of rows) {
      const wy = blendWeights(r, scale);
      for (const c of cols) {
        const wx = blendWeights(c, scale);
        const tile = tf.slice(x as tf.Tensor4D, [0, r.start, c.start, 0], [batch, r.end - r.start, c.end - c.start, channels]);
        let out: unknown;
        try {
          // A scope per tile: the module's activations for this tile are released before the next one runs
          // (hooked dispatch otherwise keeps them until the whole call returns).
          out = tf.tidy(() => next(tile, ...rest));
        } finally {
          tile.dispose();
        }
        try {
          const t = checkTileOutput(module, out, [batch, wy.length, wx.length]);
          canvas ??= new Canvas(batch, height * scale, width * scale, t.shape[3]!);
          canvas.add(t.dataSync(), r.start * scale, c.start * scale, wy, wx);
        } finally {
          tf.dispose(out as tf.TensorContainer);
        }
      }
    }
    return canvas!.finish();
  }

  override toString(): string {
    const { tileSize, tileOverlap, outputScale } = this.options;
    return `TilingHook(tileSize=${tileSize}, tileOverlap=${tileOverlap}, outputScale=${outputScale})`;
  }
}

function checkImage(module: Module, x: unknown): [number, number, number, number] {
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    const got = x instanceof tf.Tensor ? `a tensor of shape ${formatShape(x.shape)}` : x === null ? 'null' : typeof x;
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Tiling on module ${describeModule(module)} needs a 4-D NHWC image [batch, height, width, channels] as its first ` +
        `argument, got ${got}. Tiling applies to image-to-image modules; remove it (handle.remove()) for other inputs.`,
    );
  }
  return x.shape as [number, number, number, number];
}

/** With a fractional outputScale every tile must still start and end on a whole output pixel. */
function checkWholePixels(module: Module, spans: Span[], scale: number): void {
  const bad = spans.find((s) => !Number.isInteger(s.start * scale) || !Number.isInteger(s.end * scale));
  if (bad === undefined) return;
  throw new MemhooksError(
    ERROR_CODES.SHAPE_MISMATCH,
    `Tiling on module ${describeModule(module)}: a tile spans input pixels [${bad.start}, ${bad.end}), which at outputScale ` +
      `${scale} is not a whole number of output pixels. Use an image size that is a multiple of ${1 / scale} pixels.`,
  );
}

function checkTileOutput(module: Module, out: unknown, [batch, h, w]: [number, number, number]): tf.Tensor4D {
  if (out instanceof tf.Tensor && out.rank === 4 && out.shape[0] === batch && out.shape[1] === h && out.shape[2] === w) {
    return out as tf.Tensor4D;
  }
  const got = out instanceof tf.Tensor ? `a tensor of shape ${formatShape(out.shape)}` : Array.isArray(out) ? 'an array' : typeof out;
  throw new MemhooksError(
    ERROR_CODES.SHAPE_MISMATCH,
    `Tiling on module ${describeModule(module)}: a tile's output must be an image [${batch}, ${h}, ${w}, channels] ` +
      `(the tile's size times outputScale), got ${got}. Set \`outputScale\` to the module's output pixels per input pixel.`,
  );
}
