import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, DeviceBudgetExceededError, Linear, memory, Module, ModuleList } from '../../src/browser.js';
import { pageBackendName, usePageBackend } from '../helpers/pageBackend.js';
import { gpuBytes } from '../helpers/pageGpu.js';
import { thrown } from '../helpers/thrown.js';

const backend = pageBackendName();
const FLAG = 'WEBGL_DELETE_TEXTURE_THRESHOLD';

/** Equal Linear layers with a relu between: at leaf level, every layer is a group of the same bytes. */
class Stack extends Module {
  layers: ModuleList<Linear>;
  constructor(dim: number, depth: number) {
    super();
    this.layers = new ModuleList(Array.from({ length: depth }, () => new Linear(dim, dim)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const layer of this.layers) h = tf.relu(layer.forward(h));
    return h;
  }
}

const bytesOf = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);
/** What the device holds, as the backend itself says: the GPU's bytes with its pool, else memhooks' count. */
const deviceHolds = (): number => gpuBytes()?.held ?? memory.stats().deviceBytes;
const run = (model: Stack, x: tf.Tensor): void => {
  const y = model.forward(x);
  y.dataSync();
  y.dispose();
};

/** Whether the threshold flag is set, and to what: absent means tfjs' default applies. */
function thresholdFlag(): { set: boolean; value?: unknown } {
  const flags = tf.env().getFlags();
  return Object.hasOwn(flags, FLAG) ? { set: true, value: flags[FLAG] } : { set: false };
}

describe(`offloading lowers what the device holds, on ${backend}`, () => {
  const models: Module[] = [];
  const tensors: tf.Tensor[] = [];
  beforeAll(async () => {
    await usePageBackend();
  });
  afterEach(() => {
    memory.setDeviceBudget(undefined);
    models.splice(0).forEach((m) => m.dispose());
    tf.dispose(tensors.splice(0));
  });
  const make = (dim = 256, depth = 4): Stack => {
    const model = new Stack(dim, depth);
    models.push(model);
    return model;
  };
  const input = (dim = 256): tf.Tensor => {
    // Over 1000 elements: webgpu runs smaller kernels on the CPU when their inputs are there.
    const x = tf.randomNormal([32, dim], 0, 1, 'float32', 9);
    tensors.push(x);
    return x;
  };

  it('between calls under leaf group offloading, by at least the weights, and memhooks reports it', () => {
    const model = make();
    const x = input();
    run(model, x);
    run(model, x);
    const resident = deviceHolds();
    const residentStats = memory.stats().deviceBytes;

    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    memory.resetPeak();
    run(model, x);
    const duringCall = memory.stats().peakDeviceBytes;
    run(model, x);
    const offloaded = deviceHolds();
    expect(resident - offloaded).toBeGreaterThanOrEqual(bytesOf(model));
    // memhooks' device bytes are those the device holds, before and after.
    expect([residentStats, memory.stats().deviceBytes]).toEqual([resident, offloaded]);
    // Each layer's weights were on the device during the call, and are gone between calls.
    expect(duringCall).toBeGreaterThanOrEqual(offloaded + bytesOf(model.layers.at(0)));
    handle.remove();
    run(model, x);
    expect(deviceHolds()).toBeGreaterThanOrEqual(offloaded + bytesOf(model));
  });

  it('sets the texture threshold while applied and restores it exactly when the last offloading is removed', () => {
    const a = make(64, 2);
    const b = make(64, 2);
    const x = input(64);
    const outputBytes = x.size * 4;
    const onGpu = gpuBytes() !== undefined;
    // Unset (tfjs' default, never delete), then a value of the user's, high enough that freed textures still pool.
    for (const userValue of [undefined, 2 ** 30]) {
      if (userValue !== undefined && backend === 'webgl') tf.env().set(FLAG, userValue);
      const before = thresholdFlag();
      const ha = applyGroupOffloading(a, { offloadType: 'leaf_level' });
      const hb = applyGroupOffloading(b, { offloadType: 'block_level', numBlocksPerGroup: 1 });
      if (backend === 'webgl') expect(tf.env().getNumber(FLAG)).toBe(0);
      ha.remove();
      if (backend === 'webgl') expect(tf.env().getNumber(FLAG)).toBe(0);
      run(a, x);
      // With one offloading still applied, a freed tensor's texture or buffer goes back to the GPU, not to the pool.
      const heldWith = deviceHolds();
      tf.tidy(() => void tf.add(x, 1).dataSync());
      if (onGpu) expect(deviceHolds() - heldWith).toBeLessThan(outputBytes);
      hb.remove();
      expect(thresholdFlag()).toEqual(before);
      // All removed: freed ones are pooled again.
      const heldAfter = deviceHolds();
      tf.tidy(() => void tf.mul(x, 3).dataSync());
      if (onGpu) expect(deviceHolds() - heldAfter).toBeGreaterThanOrEqual(outputBytes);
    }
    if (backend === 'webgl') delete tf.env().getFlags()[FLAG];
  });

  it('refuses an onload that would pass the device budget, counted in what the GPU holds', () => {
    const model = make(256, 3);
    const x = input();
    const group = bytesOf(model.layers.at(0));
    applyGroupOffloading(model, { offloadType: 'leaf_level' });
    run(model, x);
    // Made from values and never read by a kernel: a live tensor that holds nothing on the GPU (yet). Larger than
    // the whole model, so that counting it would refuse the first onload below.
    const ballast = tf.tensor1d(new Float32Array(4 * group));
    tensors.push(ballast);
    const now = deviceHolds();

    memory.setDeviceBudget(now + 3 * group);
    const numTensors = tf.memory().numTensors;
    run(model, x);
    expect(tf.memory().numTensors).toBe(numTensors);

    memory.setDeviceBudget(now + group - 1);
    const before = deviceHolds();
    expect(thrown(() => run(model, x))).toBeInstanceOf(DeviceBudgetExceededError);
    // Refused before anything was allocated, and nothing leaked.
    expect(deviceHolds()).toBe(before);
    expect(tf.memory().numTensors).toBe(numTensors);
  });
});
