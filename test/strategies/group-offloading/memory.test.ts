import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  DeviceBudgetExceededError,
  type GroupOffloadingOptions,
  type Module,
} from '../../../src/index.js';
import { memory } from '../../../src/diagnostics/memory.js';
import { DEFAULT_WASM_DEVICE_BUDGET, WASM_HEAP_CAP } from '../../../src/runtime/budget.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { bits, Blocky, withEarlyUploads } from './models.js';
import { thrown } from '../../helpers/thrown.js';

const bytesOf = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);
/** Room for the activations of a [2, 128] forward: a few tensors of 1 KiB, and kernel outputs. */
const ACTIVATIONS = 16 * 1024;

describe.each(BACKENDS)('group offloading device memory on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => {
    memory.setDeviceBudget(undefined);
    models.splice(0).forEach((m) => m.dispose());
  });
  const make = (): Blocky => {
    const m = new Blocky(128);
    models.push(m);
    return m;
  };

  /** Peak during a forward above what was on the device before it, and what stays after it. */
  function measure(model: Blocky, x: tf.Tensor): { during: number; after: number } {
    const start = memory.stats().deviceBytes;
    const { result, peakDeviceBytes } = memory.track(() => model.forward(x));
    const after = memory.stats().deviceBytes - start - result.size * 4;
    result.dispose();
    return { during: peakDeviceBytes - start, after };
  }

  const cases: Array<[string, GroupOffloadingOptions, (m: Blocky) => number]> = [
    // Leaf level: the largest leaf (+ prefetched ones) and the root's own weight, which is onloaded for its whole forward.
    ['leaf level', { offloadType: 'leaf_level' }, (m) => bytesOf(m.blocks.at(0).proj) + m.scale.byteLength],
    ['leaf level + stream, depth 1', { offloadType: 'leaf_level', useStream: true }, (m) => 2 * bytesOf(m.blocks.at(0).proj) + m.scale.byteLength],
    ['leaf level + stream, depth 3', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 3 }, (m) => 4 * bytesOf(m.blocks.at(0).proj) + m.scale.byteLength],
    // Block level: the unmatched group for the whole forward, plus the current (and prefetched) block.
    ['block level', { numBlocksPerGroup: 1 }, (m) => bytesOf(m) - 3 * bytesOf(m.blocks.at(0))],
    ['block level + stream', { numBlocksPerGroup: 1, useStream: true }, (m) => bytesOf(m) - 2 * bytesOf(m.blocks.at(0))],
  ];

  it.each(cases)('bounds peak device bytes during a forward and holds no weight between forwards (%s, early uploads)', (_l, options, bound) => withEarlyUploads(backend, () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    // Resident, the weights are on the device before the forward starts: its peak is above them.
    const resident = measure(model, x).during + bytesOf(model);
    applyGroupOffloading(model, options);
    for (let i = 0; i < 3; i++) {
      const { during, after } = measure(model, x);
      expect(after).toBe(0);
      expect(during).toBeLessThanOrEqual(bound(model) + ACTIVATIONS);
      expect(during).toBeLessThan(resident);
    }
    x.dispose();
  }));

  it('holds one group at a time with a stream when uploads are not issued early (cpu, wasm)', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, prefetchDepth: 3 });
    for (let i = 0; i < 3; i++) {
      const { during, after } = measure(model, x);
      expect(after).toBe(0);
      expect(during).toBeLessThanOrEqual(bytesOf(model.blocks.at(0).proj) + model.scale.byteLength + ACTIVATIONS);
    }
    x.dispose();
  });

  it('refuses an onload past the device budget before allocating, naming the group, the bytes, the budget and what to do', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const ref = bits(model.forward(x));
    const handle = applyGroupOffloading(model, { offloadType: 'block_level', numBlocksPerGroup: 1 });
    const block = bytesOf(model.blocks.at(0));
    const unmatched = bytesOf(model) - 4 * block;
    // Room for the unmatched group and activations, not for a block on top.
    memory.setDeviceBudget(memory.stats().deviceBytes + unmatched + block - 1);
    const before = memory.stats().deviceBytes;
    expectNoLeaks(() => {
      const error = thrown(() => model.forward(x));
      expect(error).toBeInstanceOf(DeviceBudgetExceededError);
      expect((error as DeviceBudgetExceededError).code).toBe('DEVICE_BUDGET_EXCEEDED');
      expect((error as Error).message).toMatch(new RegExp(`Onloading group "blocks_2_2" \\(module "blocks\\.2"\\) needs [\\d.]+ KiB \\(${block} bytes\\)`));
      expect((error as Error).message).toMatch(/would pass the device budget of .*Nothing was allocated\. Use smaller groups .*memory\.setDeviceBudget/);
      expect(memory.stats().deviceBytes).toBe(before);
    });
    // A smaller prefetchDepth is the advice when prefetch is what overflows.
    memory.setDeviceBudget('1GiB');
    const y = model.forward(x);
    expect(bits(y)).toEqual(ref);
    // remove() checks the budget before putting anything back.
    memory.setDeviceBudget(memory.stats().deviceBytes + 1);
    expect(() => handle.remove()).toThrow(/removing group offloading.*Nothing was allocated/s);
    expect(handle.removed).toBe(false);
    expect(model.memoryFootprint().device).toBe(0);
    memory.setDeviceBudget(undefined);
    handle.remove();
    expect(model.memoryFootprint().device).toBe(bytesOf(model));
    tf.dispose([x, y]);
  });

  it('names prefetchDepth in the advice when prefetching is what passes the budget', () => withEarlyUploads(backend, () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, prefetchDepth: 4 });
    model.forward(x).dispose();
    const leaf = bytesOf(model.blocks.at(0).proj);
    memory.setDeviceBudget(memory.stats().deviceBytes + 3 * leaf);
    expect(() => model.forward(x)).toThrow(/\(prefetch\).*Use a smaller prefetchDepth \(now 4\)/s);
    expect(model.memoryFootprint().device).toBe(0);
    memory.setDeviceBudget(undefined);
    handle.remove();
    x.dispose();
  }));

  it('has a default budget on wasm only, below the 4 GiB heap cap, that refuses what would not fit', () => {
    memory.setDeviceBudget(undefined);
    if (backend === 'wasm') {
      expect(memory.deviceBudget).toBe(DEFAULT_WASM_DEVICE_BUDGET);
      expect(DEFAULT_WASM_DEVICE_BUDGET).toBeLessThan(WASM_HEAP_CAP);
      expect(() => memory.assertDeviceBudget(DEFAULT_WASM_DEVICE_BUDGET, 'group "blocks_0_0"')).toThrow(/default wasm budget \(3\.00 GiB, below the 4 GiB heap cap\)/);
      expect(() => memory.assertDeviceBudget(64 * 2 ** 20, 'a small group')).not.toThrow();
    } else {
      expect(memory.deviceBudget).toBeUndefined();
      expect(() => memory.assertDeviceBudget(2 ** 50, 'anything')).not.toThrow();
    }
    memory.setDeviceBudget('2GiB');
    expect(memory.deviceBudget).toBe(2 * 2 ** 30);
    expect(() => memory.setDeviceBudget('lots')).toThrow(/Invalid device budget "lots"/);
    expect(memory.deviceBudget).toBe(2 * 2 ** 30);
  });
});
