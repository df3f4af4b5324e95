import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appliedStrategies,
  applyBatchSlicing,
  applyTiling,
  HookRegistry,
  InvalidArgumentError,
  measureSeams,
  memory,
  MemhooksError,
  unwrapLayersModel,
  wrapLayersModel,
  type Module,
  type TilingOptions,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealModel } from '../../helpers/realModels.js';
import { expectExact } from '../../models/layers/helpers.js';
import { ConvStack, NormDecoder, randomized, smoothImage } from './images.js';

interface Diff {
  max: number;
  mean: number;
  /** Standard deviation of the reference output: the scale the errors are judged against. */
  std: number;
  maxAbs: number;
}

function diff(actual: tf.Tensor, expected: tf.Tensor): Diff {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let max = 0, sum = 0, m = 0, m2 = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    max = Number.isNaN(d) ? Infinity : Math.max(max, d);
    sum += d;
    m += e[i]!;
    m2 += e[i]! * e[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(e[i]!));
  }
  const mean = m / e.length;
  return { max, mean: sum / a.length, std: Math.sqrt(m2 / e.length - mean * mean), maxAbs };
}

/** Runs `module` (through `run`) with tiling applied, then removes it. */
function tiled(module: Module, options: TilingOptions, run: () => tf.Tensor): tf.Tensor {
  const handle = applyTiling(module, options);
  try {
    return run();
  } finally {
    handle.remove();
  }
}

describe.each(BACKENDS)('tiling on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('runs an input at or below one tile untiled: one call, bitwise equal; remove() restores the forward', () => {
    const model = randomized(new ConvStack(), 1);
    const plainForward = model.forward;
    const x = smoothImage(2, 16, 12, 3);
    const expected = model.forward(x) as tf.Tensor;
    const handle = applyTiling(model, { tileSize: 16 });
    expect(appliedStrategies(model)).toEqual(['tiling']);
    const out = expectNoLeaks(() => model.forward(x) as tf.Tensor, { newTensors: 1 });
    expectExact(out, expected);
    handle.remove();
    expect(model.forward).toBe(plainForward);
    expect(HookRegistry.get(model)?.hookOrder ?? []).toEqual([]);
    tf.dispose([x, expected, out]);
    model.dispose();
  });

  it('is exact up to float rounding for a local module when the overlap is ≥ 4× its receptive radius', () => {
    // The blend leaves out the outer quarter of each overlap, where a tile saw zero padding instead of its
    // neighbours. With 12 pixels of overlap that quarter is 3 pixels = the radius of three 3×3 convolutions,
    // so every pixel that gets weight was computed from its true neighbourhood: only the convolutions'
    // own float reordering on other shapes (and the weighted sum) remains, 1e-5 of the output scale.
    const model = randomized(new ConvStack(), 2);
    const x = smoothImage(2, 45, 38, 3);
    const expected = model.forward(x) as tf.Tensor;
    const out = tiled(model, { tileSize: 16, tileOverlap: 0.75 }, () => model.forward(x) as tf.Tensor);
    const d = diff(out, expected);
    expect(d.max).toBeLessThanOrEqual(1e-5 * d.maxAbs);
    tf.dispose([x, expected, out]);
    model.dispose();
  });

  it('blends a GroupNorm decoder without seams, within a stated tolerance of the untiled output', () => {
    const model = randomized(new NormDecoder(), 3);
    const x = smoothImage(1, 48, 40, 4);
    const expected = model.forward(x) as tf.Tensor;
    const blended: TilingOptions = { tileSize: 16, tileOverlap: 0.25 };
    const butted: TilingOptions = { tileSize: 16, tileOverlap: 0 };
    const out = tiled(model, blended, () => model.forward(x) as tf.Tensor);
    const hard = tiled(model, butted, () => model.forward(x) as tf.Tensor);
    // GroupNorm normalizes each tile with that tile's statistics, not the image's (as diffusers' VAE tiling
    // does), so values shift everywhere a little: mean error ≤ 15% of the output's spread.
    const d = diff(out, expected);
    expect(d.mean).toBeLessThanOrEqual(0.15 * d.std);
    // Seams: the untiled output has none by construction, so its border/elsewhere ratio at the same borders
    // is the baseline. Blended stays within 15% of it; butted tiles (no overlap) show steps well above it.
    const base = measureSeams(expected, 48, 40, blended).ratio;
    expect(measureSeams(out, 48, 40, blended).ratio).toBeLessThanOrEqual(1.15 * base);
    const baseButted = measureSeams(expected, 48, 40, butted).ratio;
    expect(measureSeams(hard, 48, 40, butted).ratio).toBeGreaterThan(2 * baseButted);
    tf.dispose([x, expected, out, hard]);
    model.dispose();
  });

  it('keeps the peak near one tile while the untiled peak grows with the image (memory.track)', () => {
    const model = randomized(new NormDecoder(), 4);
    const delta = (x: tf.Tensor): number => {
      const base = memory.stats().deviceBytes;
      const { result, peakDeviceBytes } = memory.track(() => model.forward(x) as tf.Tensor);
      result.dispose();
      return peakDeviceBytes - base;
    };
    const tile = smoothImage(1, 16, 16, 4);
    const oneTile = delta(tile);
    tile.dispose();
    const rows: Array<{ untiled: number; tiled: number }> = [];
    for (const size of [32, 64, 96]) {
      const x = smoothImage(1, size, size, 4);
      const outBytes = size * size * 3 * 4;
      const handle = applyTiling(model, { tileSize: 16, tileOverlap: 0.25 });
      const t = delta(x);
      handle.remove();
      const u = delta(x);
      // Tiled: one tile's work and its input slice, plus the finished output, created once at the end.
      expect(t).toBeLessThanOrEqual(1.25 * oneTile + outBytes);
      rows.push({ untiled: u, tiled: t });
      x.dispose();
    }
    // Untiled grows with the area (9× from 32² to 96²); tiled stays near one tile.
    expect(rows[2]!.untiled).toBeGreaterThan(8 * rows[0]!.untiled);
    expect(rows[2]!.untiled).toBeGreaterThan(5 * rows[2]!.tiled);
    model.dispose();
  });

  it('tiles the real ESRGAN upscaler through predict (outputScale 2), with tiling + slicing and no leaks', async () => {
    const model = await loadRealModel('upscaler-esrgan-2x');
    const root = wrapLayersModel(model);
    const x = smoothImage(2, 32, 28, 3, 255);
    const expected = model.predict(x) as tf.Tensor;
    const options: TilingOptions = { tileSize: 20, tileOverlap: 0.4, outputScale: 2 };
    const handle = applyTiling(root, options);
    const out = model.predict(x) as tf.Tensor;
    expect(out.shape).toEqual([2, 64, 56, 3]);
    // The upscaler sees farther than the 2-pixel blend margin (4 output pixels), so pixels near cut edges differ a little:
    // mean error ≤ 2% of the output's spread (about 1 grey level of 255), no seam beyond the untiled baseline.
    const d = diff(out, expected);
    expect(d.mean).toBeLessThanOrEqual(0.02 * d.std);
    expect(measureSeams(out, 32, 28, options).ratio).toBeLessThanOrEqual(1.15 * measureSeams(expected, 32, 28, options).ratio);
    // Slicing on the same root wraps tiling: one image at a time, each tiled. Same values, nothing leaked.
    const slicing = applyBatchSlicing(root, { sliceSize: 1 });
    const both = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect(diff(both, out).max).toBeLessThanOrEqual(1e-4 * d.maxAbs);
    slicing.remove();
    handle.remove();
    tf.dispose([x, expected, out, both]);
    unwrapLayersModel(model);
    model.dispose();
  });

  it('refuses bad options and non-image inputs with a MemhooksError naming the option, changing nothing', () => {
    const model = randomized(new ConvStack(), 5);
    const plainForward = model.forward;
    const cases: Array<[TilingOptions, RegExp]> = [
      [{ tileSize: 0 }, /tileSize/],
      [{ tileSize: 2.5 }, /tileSize/],
      [{ tileSize: 8, tileOverlap: 1 }, /tileOverlap/],
      [{ tileSize: 8, tileOverlap: -0.1 }, /tileOverlap/],
      [{ tileSize: 4, tileOverlap: 0.9 }, /tileSize.*overlap/],
      [{ tileSize: 8, outputScale: 0 }, /outputScale/],
      [{ tileSize: 9, outputScale: 0.5 }, /outputScale/],
    ];
    for (const [options, message] of cases) {
      expect(() => applyTiling(model, options)).toThrow(InvalidArgumentError);
      expect(() => applyTiling(model, options)).toThrow(message);
    }
    expect(() => applyTiling(model, undefined as never)).toThrow(/tileSize/);
    expect(model.forward).toBe(plainForward);
    expect(appliedStrategies(model)).toEqual([]);
    const handle = applyTiling(model, { tileSize: 8 });
    const flat = tf.zeros([2, 20, 3]);
    expect(() => model.forward(flat)).toThrow(MemhooksError);
    expect(() => model.forward(flat)).toThrow(/4-D NHWC/);
    // A wrong outputScale is caught at the first tile's output, which is then released.
    handle.remove();
    applyTiling(model, { tileSize: 8, outputScale: 2 });
    const x = smoothImage(1, 20, 20, 3);
    expectNoLeaks(() => expect(() => model.forward(x)).toThrow(/outputScale/));
    HookRegistry.get(model)!.removeHook('tiling');
    tf.dispose([flat, x]);
    model.dispose();
  });
});
