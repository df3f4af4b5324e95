import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyBatchSlicing,
  applyGroupOffloading,
  applyTiling,
  HookRegistry,
  measureSeams,
  memory,
  unwrapGraphModel,
  wrapGraphModel,
  type Module,
  type TilingOptions,
} from '../../../src/index.js';
import { removeStrategiesIn } from '../../../src/strategies/registry.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealGraphModel } from '../../helpers/realModels.js';
import { smoothImage } from '../../strategies/tiling/images.js';
import { expectBitwiseEqual } from '../../wrap/fixtures.js';

/**
 * The catalog's `selfie-human` (MediaPipe Selfie Segmentation): a convolutional GraphModel whose signature fixes
 * 1×256×256 (its squeeze-and-excitation pools and resizes are sized for it), so a larger image runs only as 256²
 * tiles and a batch only one image at a time. A 448² image makes 2×2 tiles, starting at 0 and 192 (64 pixels of
 * overlap, blended over its middle 32: the outer 16 on each side belong to one tile alone).
 */
const SIZE = 448;
const TILE = 256;
const OPTIONS: TilingOptions = { tileSize: TILE, tileOverlap: 0.25 };
const STARTS = [0, 192];
/** Along one axis, the image pixels that tile i alone covers with weight 1: [from, to). */
const ALONE: Array<[number, number]> = [[0, 208], [240, SIZE]];
const SHAPE_ERROR = /must be \[1,256,256,3\]/;

function crop(t: tf.Tensor, [y0, y1]: [number, number], [x0, x1]: [number, number]): tf.Tensor {
  return tf.slice(t, [0, y0, x0, 0], [t.shape[0]!, y1 - y0, x1 - x0, t.shape[3]!]);
}

function tileOf(x: tf.Tensor, row: number, col: number): tf.Tensor {
  return crop(x, [STARTS[row]!, STARTS[row]! + TILE], [STARTS[col]!, STARTS[col]! + TILE]);
}

/** What tiling gives when it hands over from one tile to the next at the middle of each overlap (224), unblended. */
function handOver(refs: tf.Tensor[][]): tf.Tensor {
  const cut = 224;
  const part = (row: number, col: number, ys: [number, number], xs: [number, number]): tf.Tensor =>
    crop(refs[row]![col]!, [ys[0] - STARTS[row]!, ys[1] - STARTS[row]!], [xs[0] - STARTS[col]!, xs[1] - STARTS[col]!]);
  return tf.tidy(() => {
    const band = (row: number, ys: [number, number]): tf.Tensor => tf.concat([part(row, 0, ys, [0, cut]), part(row, 1, ys, [cut, SIZE])], 2);
    return tf.concat([band(0, [0, cut]), band(1, [cut, SIZE])], 1);
  });
}

function hooksOn(root: Module): string[] {
  return root.modules().flatMap((m) => HookRegistry.get(m)?.hookOrder ?? []);
}

describe.each(BACKENDS)('tiling and batch slicing the real selfie-human GraphModel on %s', (backend) => {
  let model: GraphModel;
  let root: Module;
  let x: tf.Tensor;
  /** refs[row][col]: the graph's own output on that tile, unwrapped. */
  let refs: tf.Tensor[][];

  beforeAll(async () => {
    await useBackend(backend);
    model = await loadRealGraphModel('selfie-human');
    x = smoothImage(1, SIZE, SIZE, 3);
    refs = [0, 1].map((row) => [0, 1].map((col) => tf.tidy(() => model.execute(tileOf(x, row, col)) as tf.Tensor)));
    root = wrapGraphModel(model);
  });

  // A failed test leaves no strategy behind for the next one.
  afterEach(() => removeStrategiesIn(root));

  afterAll(() => {
    unwrapGraphModel(model);
    model.dispose();
    tf.dispose([x, refs]);
  });

  it('runs the graph once per 256² tile through model.execute, each tile alone bitwise its own output; remove() is exact', () => {
    // The graph refuses any other size: only tiles of its own reach it.
    expect(() => model.execute(x)).toThrow(SHAPE_ERROR);
    const handle = applyTiling(root, OPTIONS);
    const out = expectNoLeaks(() => model.execute(x) as tf.Tensor, { newTensors: 1 });
    expect(out.shape).toEqual([1, SIZE, SIZE, 1]);
    // Where one tile alone has weight, the output is that tile's own graph output, bit for bit.
    for (const row of [0, 1]) {
      for (const col of [0, 1]) {
        const [ys, xs] = [ALONE[row]!, ALONE[col]!];
        const own = crop(refs[row]![col]!, [ys[0] - STARTS[row]!, ys[1] - STARTS[row]!], [xs[0] - STARTS[col]!, xs[1] - STARTS[col]!]);
        const got = crop(out, ys, xs);
        expectBitwiseEqual(got, own);
        tf.dispose([own, got]);
      }
    }
    handle.remove();
    expect(hooksOn(root)).toEqual([]);
    expect(() => model.execute(x)).toThrow(SHAPE_ERROR);
    const again = tf.tidy(() => model.execute(tileOf(x, 0, 0)) as tf.Tensor);
    expectBitwiseEqual(again, refs[0]![0]!);
    tf.dispose([out, again]);
  });

  it('shows no step at the tile borders, and softens the hand-over between tiles that disagree (seam metric)', () => {
    const handle = applyTiling(root, OPTIONS);
    const out = model.execute(x) as tf.Tensor;
    handle.remove();
    const hard = handOver(refs);
    // No untiled output of a 448² image exists (the signature and the global pools fix 256²), so the baseline is
    // `hard`: the tiles' own outputs, handed over unblended at the middle of each overlap. At the tile borders
    // (192, 256) it holds one tile's own, seamless output; the blend gives the outer quarter of each overlap to the
    // tile that did not cut there, so it shows no step beyond that baseline (within 15%, as for the LayersModel tests).
    expect(measureSeams(out, SIZE, SIZE, OPTIONS).ratio).toBeLessThanOrEqual(1.15 * measureSeams(hard, SIZE, SIZE, OPTIONS).ratio);
    // The graph is not exactly convolutional: its squeeze-and-excitation blocks average each whole tile, and the mask
    // depends on what the window shows, so two tiles disagree over their overlap by far more than float rounding.
    const a = crop(refs[0]![0]!, [0, TILE], [192, TILE]);
    const b = crop(refs[0]![1]!, [0, TILE], [0, TILE - 192]);
    const disagreement = tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    expect(disagreement).toBeGreaterThan(0.01);
    // Where the tiles hand over (224), a hard cut is a step of about that size; the blend spreads it over 32 pixels,
    // which leaves a ramp, not a seam: its border/elsewhere ratio there is at most 40% of the hard cut's.
    const middle: TilingOptions = { tileSize: 224, tileOverlap: 0 };
    const cutRatio = measureSeams(hard, SIZE, SIZE, middle).ratio;
    expect(cutRatio).toBeGreaterThan(3);
    expect(measureSeams(out, SIZE, SIZE, middle).ratio).toBeLessThanOrEqual(0.4 * cutRatio);
    tf.dispose([out, hard, a, b]);
  });

  it('keeps the peak device bytes near one tile\'s: the tiles\' activations are released one tile at a time (memory.track)', () => {
    const peak = (input: tf.Tensor): number => {
      const base = memory.stats().deviceBytes;
      const { result, peakDeviceBytes } = memory.track(() => model.execute(input) as tf.Tensor);
      result.dispose();
      return peakDeviceBytes - base;
    };
    const tile = tileOf(x, 0, 0);
    const oneTile = peak(tile);
    tile.dispose();
    const handle = applyTiling(root, OPTIONS);
    const tiled = peak(x);
    handle.remove();
    // Four tiles, each with its activations and a slice of the input, then the finished output made once at the end;
    // kept until the call returned, the four tiles' activations would need about 4× one tile.
    expect(tiled).toBeLessThanOrEqual(1.25 * oneTile + SIZE * SIZE * 4);
    expect(tiled).toBeLessThan(2 * oneTile);
  });

  it('tiles through predict and executeAsync with leaf-level group offloading inside, bitwise the same, no weight left on the device', async () => {
    const tiling = applyTiling(root, OPTIONS);
    const expected = model.execute(x) as tf.Tensor;
    tiling.remove();
    const resident = root.memoryFootprint().device;
    // Offloading first, tiling outermost: each tile onloads the leaves as its ops run.
    const offload = applyGroupOffloading(root, { offloadType: 'leaf_level' });
    const handle = applyTiling(root, OPTIONS);
    expect(root.memoryFootprint().device).toBe(0);
    const viaPredict = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expectBitwiseEqual(viaPredict, expected);
    const viaAsync = (await model.executeAsync(x)) as tf.Tensor;
    expectBitwiseEqual(viaAsync, expected);
    expect(root.memoryFootprint().device).toBe(0);
    handle.remove();
    offload.remove();
    expect(hooksOn(root)).toEqual([]);
    expect(root.memoryFootprint().device).toBe(resident);
    tf.dispose([expected, viaPredict, viaAsync]);
  });

  it('slices a batch of three into the one-image graph, bitwise each image run alone, and fails as tfjs does on a wrong image', () => {
    const images = tf.tidy(() => tf.concat([tileOf(x, 0, 0), tileOf(x, 1, 1), tileOf(x, 0, 1)], 0));
    // The signature fixes the batch to 1.
    expect(() => model.execute(images)).toThrow(/must be \[1,256,256,3\]/);
    const handle = applyBatchSlicing(root, { sliceSize: 1 });
    const out = expectNoLeaks(() => model.execute(images) as tf.Tensor, { newTensors: 1 });
    const expected = tf.concat([refs[0]![0]!, refs[1]![1]!, refs[0]![1]!], 0);
    expectBitwiseEqual(out, expected);
    // A slice the graph refuses (four channels) fails with tfjs' own error, leaving nothing behind.
    const wrong = tf.zeros([2, TILE, TILE, 4]);
    expectNoLeaks(() => expect(() => model.execute(wrong)).toThrow(/must be \[1,256,256,3\]/));
    handle.remove();
    expect(hooksOn(root)).toEqual([]);
    tf.dispose([images, out, expected, wrong]);
  });
});
