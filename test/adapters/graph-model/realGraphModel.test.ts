import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applyLayerwiseCasting, applySequentialOffload, unwrapGraphModel, wrapGraphModel, type GroupOffloadingOptions } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealGraphModel } from '../../helpers/realModels.js';
import { sameBits } from '../../wrap/fixtures.js';

// The real GraphModel of the catalog no one here wrote (nsfwjs' MobileNetV2 "mid", fused convolutions under
// converter wrapper scopes): its scopes as modules, and group offloading through execute and executeAsync.
// handtrack-human, the catalog's graph with control flow, is wrapped as a whole: see controlFlow.test.ts.
const CONFIGS: Array<[string, GroupOffloadingOptions, boolean]> = [
  ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }, false],
  ['leaf level', { offloadType: 'leaf_level' }, false],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }, false],
  ['leaf level + stream, from disk', { offloadType: 'leaf_level', useStream: true }, true],
];

describe.each(BACKENDS)('wrapGraphModel on mobilenet-v2-mid-nsfw on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-real-graph-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const models: GraphModel[] = [];
  afterEach(() => {
    for (const m of models.splice(0)) {
      unwrapGraphModel(m);
      m.dispose();
    }
  });

  it('reads like a layer list: converter wrapper scopes elided, MobileNetV2 blocks nested, each weight once', async () => {
    const model = await loadRealGraphModel('mobilenet-v2-mid-nsfw');
    models.push(model);
    const bytes = tf.memory().numBytes;
    const root = wrapGraphModel(model);
    expect(tf.memory().numBytes).toBe(bytes);
    const paths = root.namedModules().map(([p]) => p);
    expect(paths).toContain('sequential.predict.MobilenetV2.expanded_conv_3.depthwise');
    expect(root.getSubmodule('sequential.predict.MobilenetV2.expanded_conv_3.depthwise').namedParameters().map(([k]) => k)).toEqual(['depthwise_weights', 'depthwise_bn_offset']);
    const floatWeights = Object.values(model.weights).filter((ts) => ts[0]!.dtype === 'float32').length;
    expect(new Set(root.parameters()).size).toBe(floatWeights);
    expect(root.parameters().length).toBe(floatWeights);
  });

  it('group offloading at block and leaf level, with stream and from disk: bitwise through execute and executeAsync', async () => {
    const model = await loadRealGraphModel('mobilenet-v2-mid-nsfw');
    models.push(model);
    const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 3);
    const ref = model.execute(x) as tf.Tensor;
    const reference = ref.dataSync().slice();
    ref.dispose();
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    // MobileNetV2 runs take ~1 s on cpu: there the two streamed configurations only.
    const configs = backend === 'cpu' ? CONFIGS.slice(2) : CONFIGS;
    for (const [label, options, disk] of configs) {
      await expectNoLeaks(async () => {
        const handle = applyGroupOffloading(root, { ...options, ...(disk ? { offloadToDiskPath: join(scratch, `mid-${backend}`) } : {}) });
        for (const via of ['execute', 'executeAsync'] as const) {
          const out = (via === 'execute' ? model.execute(x) : await model.executeAsync(x)) as tf.Tensor;
          expect(sameBits(out.dataSync(), reference), `${label}, ${via}`).toBe(true);
          out.dispose();
          expect(root.memoryFootprint().device, label).toBeLessThanOrEqual(resident * 0.1);
        }
        handle.remove();
      }, { label });
      expect(root.memoryFootprint().device, label).toBe(resident);
    }
    x.dispose();
  });

  it('sequential offload (bitwise) and layerwise casting (float16: half the bytes of the cast leaves, close outputs) through execute', async () => {
    const model = await loadRealGraphModel('mobilenet-v2-mid-nsfw');
    models.push(model);
    const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 3);
    const ref = model.execute(x) as tf.Tensor;
    const reference = ref.dataSync().slice();
    ref.dispose();
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    await expectNoLeaks(async () => {
      const seq = applySequentialOffload(root);
      const out = (await model.executeAsync(x)) as tf.Tensor;
      expect(sameBits(out.dataSync(), reference)).toBe(true);
      expect(root.memoryFootprint().device).toBe(0);
      out.dispose();
      seq.remove();
    });
    const cast = applyLayerwiseCasting(root, { storageDtype: 'float16' });
    expect(root.memoryFootprint().device).toBeLessThan(resident * 0.6);
    const out = model.execute(x) as tf.Tensor;
    const got = out.dataSync();
    got.forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(0.02));
    out.dispose();
    cast.remove();
    x.dispose();
  });
});
