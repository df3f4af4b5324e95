import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, wrapLayersModel, type GroupOffloadingOptions } from '../../src/index.js';
import { type LayersPretrainedName } from '../../src/zoo.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { loadRealModel } from '../helpers/realModels.js';
import { sameBits, trackModels } from '../wrap/fixtures.js';

// Group offloading on the two real models no one here wrote, every level, with and without the stream,
// and from disk: predict must stay bitwise identical to the unwrapped model.
const MODELS: Array<[LayersPretrainedName, number[]]> = [
  ['upscaler-esrgan-2x', [1, 24, 24, 3]],
  ['mobilenet-v2-nsfw', [1, 224, 224, 3]],
];

const CONFIGS: Array<[string, GroupOffloadingOptions, boolean]> = [
  ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }, false],
  ['block level + stream', { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }, false],
  ['leaf level', { offloadType: 'leaf_level' }, false],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }, false],
  ['leaf level + stream, from disk', { offloadType: 'leaf_level', useStream: true }, true],
];

describe.each(BACKENDS)('group offloading on the real models on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-real-models-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(MODELS)('%s: predict is bitwise identical at every level, with and without stream, and from disk', async (name, shape) => {
    const model = track(await loadRealModel(name));
    const x = tf.randomUniform(shape, 0, name === 'upscaler-esrgan-2x' ? 255 : 1, 'float32', 3);
    const reference = (model.predict(x) as tf.Tensor).dataSync().slice();
    const root = wrapLayersModel(model);
    // MobileNetV2 predicts take ~1 s on cpu (~30× wasm): there it runs the two streamed configurations only.
    const configs = backend === 'cpu' && name === 'mobilenet-v2-nsfw' ? CONFIGS.slice(3) : CONFIGS;
    for (const [label, options, disk] of configs) {
      expectNoLeaks(() => {
        const handle = applyGroupOffloading(root, { ...options, ...(disk ? { offloadToDiskPath: join(scratch, `${name}-${backend}`) } : {}) });
        expect(root.memoryFootprint().device, label).toBe(0);
        // Twice: the first forward records the order, the second prefetches along it.
        for (let i = 0; i < 2; i++) {
          const out = model.predict(x) as tf.Tensor;
          expect(sameBits(out.dataSync(), reference), `${label}, call ${i + 1}`).toBe(true);
          out.dispose();
        }
        handle.remove();
      }, { label });
    }
    x.dispose();
  });
});
