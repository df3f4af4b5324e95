import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../../src/browser.js';
import { pageBackendName, usePageBackend } from '../helpers/pageBackend.js';
import { gpuBytes } from '../helpers/pageGpu.js';

const backend = pageBackendName();

/**
 * memory.stats() on the page's backend: on webgl and webgpu the device bytes are what the GPU holds, its free pool
 * included, read from the backend (tf.memory() says the same numbers under its own names); on wasm nothing changes.
 */
describe(`memory.stats() on ${backend}`, () => {
  beforeAll(async () => {
    await usePageBackend();
  });

  it('reports what the GPU holds and what live tensors use, and deviceBytes is what it holds', async () => {
    const a = tf.randomNormal([192, 192], 0, 1, 'float32', 1);
    const b = tf.matMul(a, a);
    await b.data();
    tf.dispose([a, b]);
    const stats = memory.stats();
    const gpu = gpuBytes();
    if (gpu === undefined) {
      expect(stats.gpuBytesHeld).toBeUndefined();
      expect(stats.gpuBytesInUse).toBeUndefined();
      return;
    }
    expect(stats.gpuBytesHeld).toBe(gpu.held);
    expect(stats.gpuBytesInUse).toBe(gpu.inUse);
    expect(stats.deviceBytes).toBe(gpu.held);
    // The freed textures or buffers of the matmul stay in tfjs' pool: the GPU holds more than live tensors use.
    expect(gpu.held).toBeGreaterThan(gpu.inUse);
    expect(stats.peakDeviceBytes).toBeGreaterThanOrEqual(gpu.held);
  });

  it('memory.track and resetPeak follow the bytes the GPU holds', async () => {
    const x = tf.randomNormal([1, 333], 0, 1, 'float32', 2);
    const w = tf.randomNormal([333, 517], 0, 1, 'float32', 3);
    await x.data();
    memory.resetPeak();
    const before = memory.stats();
    // Shapes no earlier test used: the backend makes new textures or buffers, so what it holds grows.
    const { peakDeviceBytes } = memory.track(() => tf.tidy(() => void tf.matMul(x, w).dataSync()));
    const after = memory.stats();
    tf.dispose([x, w]);
    const gpu = gpuBytes();
    if (gpu === undefined) {
      expect(peakDeviceBytes).toBeGreaterThanOrEqual(before.deviceBytes);
      return;
    }
    expect(peakDeviceBytes).toBeGreaterThan(before.gpuBytesHeld!);
    expect(peakDeviceBytes).toBeGreaterThanOrEqual(after.gpuBytesHeld!);
    expect(after.peakDeviceBytes).toBeGreaterThanOrEqual(peakDeviceBytes);
    memory.resetPeak();
    expect(memory.stats().peakDeviceBytes).toBe(gpu.held);
  });
});
