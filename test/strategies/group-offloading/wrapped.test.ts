import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, memory, wrapLayersModel, type GroupOffloadingOptions } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealModel } from '../../helpers/realModels.js';
import { trackModels } from '../../wrap/fixtures.js';
import { bits, withEarlyUploads } from './models.js';

const CONFIGS: Array<[string, GroupOffloadingOptions]> = [
  ['leaf level', { offloadType: 'leaf_level' }],
  ['leaf level + stream, depth 2', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 2 }],
  ['block level (one group: a LayersModel has no block lists)', { numBlocksPerGroup: 1 }],
];

describe.each(BACKENDS)('group offloading on a wrapped real LayersModel on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it.each(CONFIGS)('runs predict bitwise equal to the unwrapped model with the weights off the device (%s)', async (_label, options) => {
    const model = track((await loadRealModel('upscaler-esrgan-2x')) as tfl.LayersModel);
    const x = tf.randomUniform([1, 12, 12, 3], 0, 255, 'float32', 17);
    const ref = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const weights = root.parameters().reduce((n, p) => n + p.byteLength, 0);
    const handle = applyGroupOffloading(root, options);
    expect(root.memoryFootprint()).toEqual({ device: 0, host: weights, disk: 0 });
    expectNoLeaks(() => {
      for (let i = 0; i < 3; i++) {
        const start = memory.stats().deviceBytes;
        const { result, peakDeviceBytes } = withEarlyUploads(backend, () => memory.track(() => model.predict(x) as tf.Tensor));
        expect(bits(result)).toEqual(bits(ref));
        if (options.offloadType === 'leaf_level') expect(peakDeviceBytes - start).toBeLessThan(weights);
        result.dispose();
        expect(root.memoryFootprint().device).toBe(0);
      }
      const batched = model.predict(x, { batchSize: 1 }) as tf.Tensor;
      expect(bits(batched)).toEqual(bits(ref));
      batched.dispose();
    });
    handle.remove();
    expect(root.memoryFootprint()).toEqual({ device: weights, host: 0, disk: 0 });
    const after = model.predict(x) as tf.Tensor;
    expect(bits(after)).toEqual(bits(ref));
    tf.dispose([x, ref, after]);
  });
});
