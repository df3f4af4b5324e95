import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DiffusionPipeline, loadPretrained } from '../../src/zoo.js';
import { memory } from '../../src/index.js';
import type { BenchContext } from '../../bench/framework.js';
import { upscalerSection } from '../../bench/upscalerSection.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

// A tiny image keeps the real upscaler cheap; the leftover pipeline is then far more than 1 % of its peak.
const SIDE = 16;
const ctx: BenchContext = { smoke: true, runs: 1, backend: 'cpu', log: () => {} };

/** The quick start's resident measurement in a fresh state: only the upscaler and its image on the device. */
async function standalonePeak(): Promise<number> {
  const model = await loadPretrained('upscaler-esrgan-2x');
  const image = tf.randomUniform([1, SIDE, SIDE, 3], 0, 255, 'float32', 1);
  try {
    const { result, peakDeviceBytes } = memory.track(() => model.predict(image) as tf.Tensor);
    result.dispose();
    return peakDeviceBytes;
  } finally {
    image.dispose();
    model.dispose();
  }
}

describe.each(BACKENDS)('the strategies benchmark\'s upscaler section on %s', (backend) => {
  it('reports the resident peak a standalone memory.track of the same predict gives, with a zoo pipeline left on the device', async () => {
    await useBackend(backend);
    const empty = memory.stats().deviceBytes;
    const pipeline = DiffusionPipeline.create('tiny', { seed: 0 });
    const leftover = memory.stats().deviceBytes - empty;
    let peak: number;
    try {
      const section = await upscalerSection({ ...ctx, backend }, 1, () => {}, { side: SIDE, variants: ['resident'] });
      const columns = section.table.columns;
      const row = section.table.rows.find((r) => r[0] === 'resident')!;
      peak = Number(row[columns.indexOf('peak device MB')]) * 1e6;
    } finally {
      pipeline.dispose();
    }
    expect(memory.stats().deviceBytes).toBe(empty);
    const alone = (await standalonePeak()) - empty;
    // The guard can fail: the pipeline left behind is well over the 1 % allowed.
    expect(leftover).toBeGreaterThan(0.01 * alone);
    expect(Math.abs(peak - alone)).toBeLessThanOrEqual(0.01 * alone);
  });
});
