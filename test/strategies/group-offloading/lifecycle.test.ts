import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applyStrategy,
  events,
  HookRegistry,
  memory,
  registerStrategy,
  strategy,
  StrategyConflictError,
  type Module,
  type TransferEvent,
} from '../../../src/index.js';
import {
  createContainer,
  GROUP_OFFLOADING,
  SEQUENTIAL_OFFLOAD,
  MODEL_CPU_OFFLOAD,
  DEVICE_MAP,
  Strategy,
  type Undo,
} from '../../../src/plugin.js';
import { GroupOffloadingStrategy } from '../../../src/strategies/group-offloading/GroupOffloadingStrategy.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { bits, Blocky, snapshot, withEarlyUploads } from './models.js';

describe.each(BACKENDS)('group offloading lifecycle on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const make = (): Blocky => {
    const m = new Blocky();
    models.push(m);
    return m;
  };

  it('moves every grouped weight to the host at apply and keeps keepResident modules on the device', () => {
    const model = make();
    const deviceBefore = memory.stats().deviceBytes;
    const total = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    const kept = model.getSubmodule('blocks.1').parameters();
    const keptBytes = kept.reduce((n, p) => n + p.byteLength, 0);
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', keepResident: ['blocks.1'] });
    for (const [path, p] of model.namedParameters()) expect([path, p.tier]).toEqual([path, kept.includes(p) ? 'device' : 'host']);
    expect(deviceBefore - memory.stats().deviceBytes).toBe(total - keptBytes);
    const x = tf.randomNormal([2, 8]);
    model.forward(x).dispose();
    // Between forwards, only the keepResident weights are on the device.
    expect(model.memoryFootprint().device).toBe(keptBytes);
    handle.remove();
    expect(model.memoryFootprint()).toEqual({ device: total, host: 0, disk: 0 });
    x.dispose();
  });

  it('remove() restores the module exactly: weights bitwise on the device, no hooks, no host copies, no tensors left', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const before = snapshot(model);
    expectNoLeaks(() => {
      const host = memory.stats().hostBytes;
      const forward = model.forward;
      const handle = applyGroupOffloading(model, { offloadType: 'block_level', numBlocksPerGroup: 2, useStream: true });
      for (let i = 0; i < 3; i++) model.forward(x, i === 2).dispose();
      handle.remove();
      handle.remove();
      expect(handle.removed).toBe(true);
      expect(snapshot(model)).toEqual(before);
      expect(model.parameters().every((p) => p.isResident && !p.hasHostCopy)).toBe(true);
      expect(model.modules().every((m) => (HookRegistry.get(m)?.hookOrder ?? []).length === 0)).toBe(true);
      expect(model.forward).toBe(forward);
      expect(memory.stats().hostBytes).toBe(host);
    });
    x.dispose();
  });

  it('leaks no tensor over 100 forwards, for every combination of options', () => {
    const combos = [
      { offloadType: 'block_level', numBlocksPerGroup: 1 },
      { offloadType: 'block_level', numBlocksPerGroup: 2, useStream: true, prefetchDepth: 2 },
      { offloadType: 'leaf_level' },
      { offloadType: 'leaf_level', useStream: true, recordStream: true, lowCpuMemUsage: true, keepResident: 'first_last' },
    ] as const;
    const model = make();
    const x = tf.randomNormal([2, 8]);
    for (const options of combos) {
      const handle = applyGroupOffloading(model, options);
      model.forward(x).dispose();
      const device = memory.stats().deviceBytes;
      expectNoLeaks(() => {
        for (let i = 0; i < 100; i++) model.forward(x, i % 7 === 3).dispose();
      });
      expect(memory.stats().deviceBytes).toBe(device);
      handle.remove();
    }
    x.dispose();
  });

  it('does not upload host-tier groups early on cpu and wasm, where the upload cannot overlap the kernels', () => {
    const model = make();
    const seen: string[] = [];
    const listener = (e: TransferEvent) => seen.push(e.path);
    events.on('prefetch', listener);
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
    const x = tf.randomNormal([2, 8]);
    for (let i = 0; i < 3; i++) model.forward(x).dispose();
    events.off('prefetch', listener);
    expect(seen).toEqual([]);
    handle.remove();
    x.dispose();
  });

  it('emits onload, offload and prefetch events with the group path, bytes and ms (early uploads, as on GPU backends)', () => withEarlyUploads(backend, () => {
    const model = make();
    const seen: Array<[string, TransferEvent]> = [];
    const on = (name: 'onload' | 'offload' | 'prefetch' | 'wait') => (e: TransferEvent) => seen.push([name, e]);
    const listeners = (['onload', 'offload', 'prefetch', 'wait'] as const).map((n) => [n, on(n)] as const);
    for (const [n, l] of listeners) events.on(n, l);
    const handle = applyGroupOffloading(model, { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true });
    const x = tf.randomNormal([2, 8]);
    try {
      model.forward(x).dispose();
      const first = seen.splice(0);
      // Recording pass: every group is onloaded on demand, in execution order, and offloaded.
      expect(first.filter(([n]) => n === 'onload').map(([, e]) => e.path)).toEqual(['Blocky_unmatched_group', 'blocks_2_2', 'blocks_0_0', 'blocks_3_3', 'blocks_1_1']);
      expect(first.filter(([n]) => n === 'prefetch')).toEqual([]);
      model.forward(x).dispose();
      const second = seen.splice(0);
      // Later passes prefetch the next group while one computes, following the recorded order.
      expect(second.filter(([n]) => n === 'prefetch').map(([, e]) => e.path)).toEqual(['blocks_2_2', 'blocks_0_0', 'blocks_3_3', 'blocks_1_1']);
      const block = model.getSubmodule('blocks.0').parameters().reduce((n, p) => n + p.byteLength, 0);
      for (const [, e] of second) {
        expect(e.ms).toBeGreaterThanOrEqual(0);
        if (e.path === 'blocks_0_0') expect(e.bytes).toBe(block);
      }
      const onloads = second.filter(([n]) => n === 'onload').map(([, e]) => [e.path, e.prefetched]);
      expect(onloads).toEqual([['Blocky_unmatched_group', false], ['blocks_2_2', true], ['blocks_0_0', true], ['blocks_3_3', true], ['blocks_1_1', true]]);
      expect(second.filter(([n]) => n === 'offload')).toHaveLength(5);
    } finally {
      for (const [n, l] of listeners) events.off(n, l);
      handle.remove();
      x.dispose();
    }
  }));

  it('refuses to stack on itself and on the other offloading strategies, both ways, naming them', () => {
    const c = createContainer();
    registerStrategy(GroupOffloadingStrategy, c);
    const undo: Undo = { remove() {} };
    @strategy(SEQUENTIAL_OFFLOAD, { container: c })
    class FakeSequential extends Strategy<object> {
      override readonly conflictsWith = [GROUP_OFFLOADING];
      override apply(): Undo {
        return undo;
      }
    }
    @strategy(MODEL_CPU_OFFLOAD, { container: c })
    class FakeModelOffload extends Strategy<object> {
      override apply(): Undo {
        return undo;
      }
    }
    @strategy(DEVICE_MAP, { container: c })
    class FakeDeviceMap extends Strategy<object> {
      override apply(): Undo {
        return undo;
      }
    }
    void [FakeSequential, FakeModelOffload, FakeDeviceMap];
    const model = make();
    const opts = { offloadType: 'leaf_level' } as const;
    const handle = applyStrategy(model, GROUP_OFFLOADING, opts, { container: c });
    expect(() => applyGroupOffloading(model, opts)).toThrow(/Strategy "group_offloading" is already applied to module Blocky\. Remove it first \(handle\.remove\(\)\)/);
    expect(() => applyStrategy(model.blocks.at(0), GROUP_OFFLOADING, opts, { container: c })).toThrow(StrategyConflictError);
    for (const other of [SEQUENTIAL_OFFLOAD, MODEL_CPU_OFFLOAD, DEVICE_MAP]) {
      expect(() => applyStrategy(model.head, other, {}, { container: c })).toThrow(new RegExp(`Strategy "${other}" conflicts with strategy "group_offloading"`));
    }
    handle.remove();
    for (const other of [SEQUENTIAL_OFFLOAD, MODEL_CPU_OFFLOAD, DEVICE_MAP]) {
      const h = applyStrategy(model.head, other, {}, { container: c });
      expect(() => applyStrategy(model, GROUP_OFFLOADING, opts, { container: c })).toThrow(new RegExp(`Strategy "group_offloading" conflicts with strategy "${other}", which is applied to module "head"`));
      h.remove();
    }
    expect(model.parameters().every((p) => p.isResident)).toBe(true);
  });

  it('keeps the model usable after a forward throws: weights offloaded again, next call correct', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const ref = bits(model.forward(x));
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
    model.forward(x).dispose();
    const bad = tf.randomNormal([2, 5]);
    expectNoLeaks(() => {
      expect(() => model.forward(bad)).toThrow();
    });
    expect(model.memoryFootprint().device).toBe(0);
    const y = model.forward(x);
    expect(bits(y)).toEqual(ref);
    handle.remove();
    tf.dispose([x, y, bad]);
  });
});
