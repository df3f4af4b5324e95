import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyBatchSlicing, applyTiling, measureSeams, wrapLayersModel, type TilingOptions } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { loadPageUpscaler } from '../helpers/pageModels.js';
import { smoothImage } from '../strategies/tiling/images.js';
import { trackModels } from '../wrap/fixtures.js';

/** A copy of `t` whose values the backend holds on the host side, so that reading it synchronously reads no GPU. */
async function hostCopy(t: tf.Tensor): Promise<tf.Tensor> {
  return tf.tensor(await t.data(), t.shape, t.dtype);
}

interface Diff {
  max: number;
  mean: number;
  std: number;
  maxAbs: number;
}

async function diff(actual: tf.Tensor, expected: tf.Tensor): Promise<Diff> {
  expect(actual.shape).toEqual(expected.shape);
  const a = await actual.data();
  const e = await expected.data();
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

describe('tiling the real upscaler in the page', () => {
  beforeAll(() => usePageBackend());
  const track = trackModels();

  it('tiles predict (outputScale 2) within the Node suite\'s tolerances, with tiling + slicing, and no leaks', async () => {
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const x = smoothImage(2, 32, 28, 3, 255);
    const expected = model.predict(x) as tf.Tensor;
    const options: TilingOptions = { tileSize: 20, tileOverlap: 0.4, outputScale: 2 };
    const handle = applyTiling(root, options);
    const out = await expectNoLeaks(async () => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect(out.shape).toEqual([2, 64, 56, 3]);
    // The upscaler sees farther than the 2-pixel blend margin (4 output pixels), so pixels near cut edges differ a little:
    // mean error ≤ 2% of the output's spread (about 1 grey level of 255), no seam beyond the untiled baseline.
    const d = await diff(out, expected);
    expect(d.mean).toBeLessThanOrEqual(0.02 * d.std);
    const [outHost, expectedHost] = [await hostCopy(out), await hostCopy(expected)];
    expect(measureSeams(outHost, 32, 28, options).ratio).toBeLessThanOrEqual(1.15 * measureSeams(expectedHost, 32, 28, options).ratio);
    // Slicing on the same root wraps tiling: one image at a time, each tiled. Same values, nothing leaked.
    const slicing = applyBatchSlicing(root, { sliceSize: 1 });
    const both = await expectNoLeaks(async () => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect((await diff(both, out)).max).toBeLessThanOrEqual(1e-4 * d.maxAbs);
    slicing.remove();
    handle.remove();
    tf.dispose([x, expected, out, both, outHost, expectedHost]);
  });
});
