import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applySequentialOffload,
  appliedStrategies,
  cpuOffloadWithHook,
  DeviceBudgetExceededError,
  events,
  InvalidArgumentError,
  memory,
  StrategyConflictError,
  type TransferEvent,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { ConvNet, expectBitwise, expectSameWeights, Faulty, hookNames, snapshotWeights, tiers } from './models.js';

describe.each(BACKENDS)('applySequentialOffload on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => memory.setDeviceBudget(undefined));

  it('matches the resident output bitwise with the weights on the host between forwards, one module at a time', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 1);
    const expected = model.forward(x);
    const weightBytes = model.memoryFootprint().device;
    const before = memory.stats().deviceBytes;
    const handle = applySequentialOffload(model);
    expect(tiers(model)).toEqual(['host']);
    expect(memory.stats().deviceBytes).toBe(before - weightBytes);
    expect(handle.name).toBe('sequential_offload');
    expect(appliedStrategies(model)).toEqual(['sequential_offload']);
    // Hooks on exactly the modules that own weights directly (the root owns `scale`).
    expect(hookNames(model).length).toBe(model.modules().filter((m) => m.parameters({ recurse: false }).length > 0).length);
    model.probe.seen = [];
    const result = model.forward(x);
    expectBitwise(result, expected);
    // The probe runs inside the root's forward, between the two calls of `shared`: of all the weights only the
    // root's own `scale` is on the device then.
    expect(model.probe.seen).toEqual([1]);
    expect(tiers(model)).toEqual(['host']);
    tf.dispose([result, expected, x]);
    model.dispose();
  });

  it('keeps the device below the resident weights: the peak holds the largest module, not all of them', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 2);
    tf.dispose(model.forward(x));
    const resident = memory.track(() => tf.dispose(model.forward(x))).peakDeviceBytes;
    const handle = applySequentialOffload(model);
    const offloaded = memory.track(() => tf.dispose(model.forward(x))).peakDeviceBytes;
    const largest = Math.max(...model.modules().map((m) => m.parameters({ recurse: false }).reduce((n, p) => n + p.byteLength, 0)));
    const total = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    expect(offloaded).toBeLessThan(resident);
    expect(resident - offloaded).toBeGreaterThanOrEqual(total - largest - model.scale.byteLength - model.shared.parameters().reduce((n, p) => n + p.byteLength, 0));
    handle.remove();
    x.dispose();
    model.dispose();
  });

  it('leaks nothing over many forwards, and remove() restores weights, hooks and output exactly', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([1, 5, 5, 3], 0, 1, 'float32', 3);
    const expected = model.forward(x);
    const weights = snapshotWeights(model);
    const host = memory.stats().hostBytes;
    expectNoLeaks(() => {
      const handle = applySequentialOffload(model);
      const offloadedHost = memory.stats().hostBytes;
      expect(offloadedHost - host).toBe(model.parameters().reduce((n, p) => n + p.byteLength, 0));
      for (let i = 0; i < 20; i++) tf.dispose(model.forward(x));
      expect(memory.stats().hostBytes).toBe(offloadedHost);
      handle.remove();
      handle.remove();
    });
    expect(memory.stats().hostBytes).toBe(host);
    expect(tiers(model)).toEqual(['device']);
    expect(hookNames(model)).toEqual([]);
    expect(appliedStrategies(model)).toEqual([]);
    expectSameWeights(weights, snapshotWeights(model));
    const again = model.forward(x);
    expectBitwise(again, expected);
    tf.dispose([again, expected, x]);
    model.dispose();
  });

  it('offloads what a failing forward had onloaded and stays usable', () => {
    const model = new Faulty();
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 4);
    const expected = model.forward(x);
    const handle = applySequentialOffload(model);
    expectNoLeaks(() => {
      model.fail = true;
      expect(() => model.forward(x)).toThrow('boom');
      expect(tiers(model)).toEqual(['host']);
    });
    model.fail = false;
    const y = model.forward(x);
    expectBitwise(y, expected);
    handle.remove();
    tf.dispose([x, y, expected]);
    model.dispose();
  });

  it('reports each onload and offload as an event with the module path and bytes', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 5);
    const handle = applySequentialOffload(model);
    const seen: Array<[string, TransferEvent]> = [];
    const on = (e: TransferEvent) => seen.push(['onload', e]);
    const off = (e: TransferEvent) => seen.push(['offload', e]);
    events.on('onload', on).on('offload', off);
    tf.dispose(model.forward(x));
    events.off('onload', on).off('offload', off);
    const onloaded = seen.filter(([k]) => k === 'onload').reduce((n, [, e]) => n + e.bytes, 0);
    const offloaded = seen.filter(([k]) => k === 'offload').reduce((n, [, e]) => n + e.bytes, 0);
    const shared = model.shared.parameters().reduce((n, p) => n + p.byteLength, 0);
    // Every weight once, the shared Linear twice (it runs twice, offloaded in between).
    expect(onloaded).toBe(model.memoryFootprint().host + shared);
    expect(offloaded).toBe(onloaded);
    expect(seen[0]![1].path).toBe('ConvNet');
    expect(seen.map(([k, e]) => `${k} ${e.path}`)).toContain('onload "conv1" (Conv2d)');
    handle.remove();
    x.dispose();
    model.dispose();
  });

  it('refuses an onload past the device budget before allocating, and offloads what it had onloaded', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 6);
    const handle = applySequentialOffload(model);
    expectNoLeaks(() => {
      memory.setDeviceBudget(memory.stats().deviceBytes + model.scale.byteLength + 8);
      expect(() => model.forward(x)).toThrow(DeviceBudgetExceededError);
      expect(() => model.forward(x)).toThrow(/weights of module "conv1" \(Conv2d\)/);
      expect(tiers(model)).toEqual(['host']);
    });
    memory.setDeviceBudget(undefined);
    handle.remove();
    x.dispose();
    model.dispose();
  });

  it('validates its options before changing anything', () => {
    const model = new ConvNet();
    const weights = snapshotWeights(model);
    expect(() => applySequentialOffload(model, { offloadToDiskPath: '' })).toThrow(/`offloadToDiskPath` must be a folder path/);
    expect(() => applySequentialOffload(model, { executionDevice: 'webgpu' })).toThrow(InvalidArgumentError);
    expect(() => applySequentialOffload(model, { executionDevice: 'webgpu' })).toThrow(new RegExp(`active backend "${backend}"`));
    expect(() => applySequentialOffload(model, { nonBlocking: true } as never)).toThrow(/`nonBlocking` is not one of its options/);
    expect(tiers(model)).toEqual(['device']);
    expect(hookNames(model)).toEqual([]);
    expectSameWeights(weights, snapshotWeights(model));
    applySequentialOffload(model, { executionDevice: backend }).remove();
    applySequentialOffload(model, { executionDevice: 'device' }).remove();
    model.dispose();
  });

  it('refuses model offload on an overlapping module, and model offload refuses it, naming the strategy there', () => {
    const model = new ConvNet();
    const seq = applySequentialOffload(model.conv1);
    expect(() => cpuOffloadWithHook(model)).toThrow(StrategyConflictError);
    expect(() => cpuOffloadWithHook(model)).toThrow(/"model_cpu_offload" conflicts with strategy "sequential_offload", which is applied to module "conv1" \(Conv2d\)/);
    seq.remove();
    const mo = cpuOffloadWithHook(model);
    expect(() => applySequentialOffload(model.conv2)).toThrow(/"sequential_offload" conflicts with strategy "model_cpu_offload", which is applied to module ConvNet, which overlaps "conv2"/);
    expect(() => applySequentialOffload(model)).toThrow(StrategyConflictError);
    mo.remove();
    expect(tiers(model)).toEqual(['device']);
    model.dispose();
  });
});
