import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applySequentialOffload, cpuOffloadWithHook, dispatchModel, memory, StrategyConflictError, wrapLayersModel } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealModel } from '../../helpers/realModels.js';
import { buildNestedModel, disposeAll, expectBitwiseEqual, trackModels } from '../../wrap/fixtures.js';
import { ConvNet, hookNames, tiers } from './models.js';

describe.each(BACKENDS)('cpu offload on wrapped tfjs models on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('sequential offload runs a real model through predict bitwise, weights on the host before and after', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const root = wrapLayersModel(model);
    const x = tf.randomUniform([1, 8, 8, 3], 0, 255, 'float32', 1);
    const expected = model.predict(x) as tf.Tensor;
    const weightBytes = root.memoryFootprint().device;
    const resident = memory.track(() => tf.dispose(model.predict(x))).peakDeviceBytes;
    expectNoLeaks(() => {
      const handle = applySequentialOffload(root);
      expect(tiers(root)).toEqual(['host']);
      const { result, peakDeviceBytes } = memory.track(() => model.predict(x) as tf.Tensor);
      expectBitwiseEqual(result, expected);
      expect(tiers(root)).toEqual(['host']);
      expect(peakDeviceBytes).toBeLessThan(resident - weightBytes / 2);
      for (let i = 0; i < 3; i++) tf.dispose(model.predict(x));
      result.dispose();
      handle.remove();
    });
    expect(tiers(root)).toEqual(['device']);
    expect(hookNames(root)).toEqual([]);
    const again = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(again, expected);
    disposeAll(again, expected, x);
  });

  it('sequential and model offload run the nested fixture (shared layers, RNNs, sub-models) bitwise', () => {
    const model = track(buildNestedModel());
    const root = wrapLayersModel(model);
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 2);
    const expected = model.predict(x) as tf.Tensor;
    for (const apply of [() => applySequentialOffload(root), () => cpuOffloadWithHook(root)]) {
      const handle = apply();
      const y = model.predict(x) as tf.Tensor;
      expectBitwiseEqual(y, expected);
      handle.remove();
      expect(tiers(root)).toEqual(['device']);
      y.dispose();
    }
    disposeAll(expected, x);
  });
});

describe.each(BACKENDS)('cpu offload and group offloading on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('refuse each other and device maps both ways, naming the strategy already there', () => {
    const model = new ConvNet();
    const group = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    expect(() => applySequentialOffload(model)).toThrow(StrategyConflictError);
    expect(() => applySequentialOffload(model.conv1)).toThrow(/"sequential_offload" conflicts with strategy "group_offloading", which is applied to module ConvNet/);
    expect(() => cpuOffloadWithHook(model)).toThrow(/"model_cpu_offload" conflicts with strategy "group_offloading"/);
    group.remove();
    const seq = applySequentialOffload(model.conv2);
    expect(() => applyGroupOffloading(model, { offloadType: 'leaf_level' })).toThrow(/"group_offloading" conflicts with strategy "sequential_offload", which is applied to module "conv2"/);
    seq.remove();
    const mo = cpuOffloadWithHook(model);
    expect(() => applyGroupOffloading(model.norm, { offloadType: 'leaf_level' })).toThrow(/conflicts with strategy "model_cpu_offload"/);
    expect(() => dispatchModel(model, { '': 'host' })).toThrow(/"device_map" conflicts with strategy "model_cpu_offload"/);
    mo.remove();
    const mapped = dispatchModel(model, { '': 'host' });
    expect(() => applySequentialOffload(model.conv1)).toThrow(/"sequential_offload" conflicts with strategy "device_map", which is applied to module ConvNet/);
    expect(() => cpuOffloadWithHook(model)).toThrow(/"model_cpu_offload" conflicts with strategy "device_map"/);
    mapped.remove();
    const seq2 = applySequentialOffload(model);
    expect(() => dispatchModel(model.norm, { '': 'host' })).toThrow(/"device_map" conflicts with strategy "sequential_offload"/);
    seq2.remove();
    expect(hookNames(model)).toEqual([]);
    expect(tiers(model)).toEqual(['device']);
    model.dispose();
  });
});
