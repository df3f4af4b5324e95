import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applySequentialOffload, memory, unwrapGraphModel, wrapGraphModel, type Module, type StrategyHandle } from '../../../src/index.js';
import { pretrainedWeightSpecs } from '../../../src/zoo/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealGraphModel, MODEL_CACHE_DIR } from '../../helpers/realModels.js';
import { sameBits } from '../../wrap/fixtures.js';

// The catalog's nsfwjs MobileNetV2 "mid" ships every weight as uint8 (17.2 MB of float32 in 4.3 MB): wrapped with
// hostWeights: 'shipped', its offloaded weights hold those codes on the host, and every strategy stays bitwise.
const MODEL = 'mobilenet-v2-mid-nsfw';
const BLOCKS_PATH = 'sequential.predict.MobilenetV2';

type Apply = (root: Module) => StrategyHandle;
const CONFIGS: Array<[string, Apply, boolean]> = [
  ['leaf level + stream', (root) => applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true }), true],
  ['leaf level', (root) => applyGroupOffloading(root, { offloadType: 'leaf_level' }), false],
  [
    'block level',
    (root) => {
      const blockModules = root.getSubmodule(BLOCKS_PATH).namedChildren().map(([name]) => `${BLOCKS_PATH}.${name}`);
      return applyGroupOffloading(root, { offloadType: 'block_level', numBlocksPerGroup: 1, blockModules });
    },
    false,
  ],
  ['sequential offload', (root) => applySequentialOffload(root), false],
];

describe.each(BACKENDS)(`hostWeights: 'shipped' on ${MODEL} on %s`, (backend) => {
  beforeAll(() => useBackend(backend));
  const models: GraphModel[] = [];
  afterEach(() => {
    for (const m of models.splice(0)) {
      unwrapGraphModel(m);
      m.dispose();
    }
  });

  it('offloaded, the host holds the shipped uint8 codes (a quarter of the float32 bytes); bitwise the unwrapped model; remove() and unwrap exact', async () => {
    const model = await loadRealGraphModel(MODEL);
    models.push(model);
    const specs = new Map((await pretrainedWeightSpecs(MODEL, { cacheDir: MODEL_CACHE_DIR })).map((s) => [s.name, s]));
    const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 3);
    const ref = model.execute(x) as tf.Tensor;
    const reference = ref.dataSync().slice();
    ref.dispose();
    const host0 = memory.stats().hostBytes;
    const root = wrapGraphModel(model, { hostWeights: 'shipped' });
    const params = root.parameters();
    const shipped = params.reduce((n, p) => n + specs.get(p.label!)!.shippedBytes, 0);
    const float32 = params.reduce((n, p) => n + p.byteLength, 0);
    expect(params.every((p) => specs.get(p.label!)!.quantization?.dtype === 'uint8')).toBe(true);
    expect(shipped * 4).toBe(float32);
    expect(memory.stats().hostBytes - host0).toBe(shipped);
    // MobileNetV2 runs take seconds on cpu: there the streamed configuration only (the fixture covers the rest).
    const configs = backend === 'cpu' ? CONFIGS.slice(0, 1) : CONFIGS;
    for (const [label, apply, stream] of configs) {
      await expectNoLeaks(async () => {
        const handle = apply(root);
        // The first call records the order, the second prefetches along it (the worker dequantizes with stream).
        for (let call = 0; call < 2; call++) {
          const out = model.execute(x) as tf.Tensor;
          expect(sameBits(out.dataSync(), reference), `${label}, call ${call + 1}`).toBe(true);
          out.dispose();
          expect(root.memoryFootprint().device, label).toBe(0);
          expect(root.memoryFootprint().host, label).toBe(shipped);
          if (!stream) expect(memory.stats().hostBytes - host0, label).toBe(shipped);
        }
        handle.remove();
      }, { label });
      expect(root.memoryFootprint().device, label).toBe(float32);
      expect(memory.stats().hostBytes - host0, label).toBe(shipped);
    }
    unwrapGraphModel(model);
    expect(memory.stats().hostBytes).toBe(host0);
    const out = model.execute(x) as tf.Tensor;
    expect(sameBits(out.dataSync(), reference), 'unwrapped').toBe(true);
    tf.dispose([out, x]);
    // MobileNetV2 on the cpu backend of a shared machine: seconds per call.
  }, 180_000);
});
