import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { appliedStrategies, cpuOffloadWithHook, events, InvalidArgumentError, memory, type TransferEvent } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { expectBitwise, expectSameWeights, Faulty, hookNames, Mlp, snapshotWeights, tiers } from './models.js';

function collect(kind: 'onload' | 'offload', fn: () => void): string[] {
  const seen: string[] = [];
  const on = (e: TransferEvent) => seen.push(e.path);
  events.on(kind, on);
  try {
    fn();
  } finally {
    events.off(kind, on);
  }
  return seen;
}

describe.each(BACKENDS)('cpuOffloadWithHook on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('chains a → b → c: one module on the device at a time, outputs bitwise, a module kept across repeated calls', () => {
    const [a, b, c] = [new Mlp(), new Mlp(), new Mlp()];
    const x = tf.randomNormal([2, 8], 0, 1, 'float32', 1);
    const run = () => {
      const h = a.forward(x);
      let d = h;
      for (let i = 0; i < 3; i++) d = b.forward(d);
      return c.forward(d);
    };
    const expected = tf.tidy(run);
    const ha = cpuOffloadWithHook(a);
    const hb = cpuOffloadWithHook(b, { prevModuleHook: ha });
    const hc = cpuOffloadWithHook(c, { prevModuleHook: hb, executionDevice: 'device' });
    expect([a, b, c].map(tiers)).toEqual([['host'], ['host'], ['host']]);
    expect([ha, hb, hc].map((h) => h.onloaded)).toEqual([false, false, false]);
    const h = a.forward(x);
    expect([ha, hb, hc].map((k) => k.onloaded)).toEqual([true, false, false]);
    let d = h;
    // b runs three times and is onloaded once; its first run offloads a.
    const onloads = collect('onload', () => {
      d = tf.tidy(() => {
        let t = h;
        for (let i = 0; i < 3; i++) t = b.forward(t);
        return t;
      });
    });
    expect(onloads).toEqual(['Mlp']);
    expect([ha, hb, hc].map((k) => k.onloaded)).toEqual([false, true, false]);
    const y = c.forward(d);
    expect([ha, hb, hc].map((k) => k.onloaded)).toEqual([false, false, true]);
    expectBitwise(y, expected);
    // Only c's weights are on the device now; offload() takes exactly those off.
    const onDevice = memory.stats().deviceBytes;
    hc.offload();
    expect(onDevice - memory.stats().deviceBytes).toBe(c.memoryFootprint().host);
    expect([a, b, c].map(tiers)).toEqual([['host'], ['host'], ['host']]);
    tf.dispose([h, d, y]);
    for (const k of [hc, hb, ha]) k.remove();
    expect([a, b, c].map(tiers)).toEqual([['device'], ['device'], ['device']]);
    expect([a, b, c].flatMap(hookNames)).toEqual([]);
    tf.dispose([x, expected]);
    for (const m of [a, b, c]) m.dispose();
  });

  it('peaks at the largest component, not the sum, and leaks nothing', () => {
    const [a, b] = [new Mlp(), new Mlp()];
    const x = tf.randomNormal([1, 8], 0, 1, 'float32', 2);
    const resident = memory.track(() => tf.dispose(b.forward(a.forward(x)))).peakDeviceBytes;
    const ha = cpuOffloadWithHook(a);
    const hb = cpuOffloadWithHook(b, { prevModuleHook: ha });
    expectNoLeaks(() => {
      const offloaded = memory.track(() => tf.tidy(() => b.forward(a.forward(x))).dispose()).peakDeviceBytes;
      // a is offloaded before b onloads, so the peak loses a's weights; it may keep one activation (a's
      // output, [1, 8] float32) alive at a different moment than the resident run does.
      expect(resident - offloaded).toBeGreaterThanOrEqual(a.memoryFootprint().host - 8 * 4);
      expect(offloaded).toBeGreaterThanOrEqual(b.memoryFootprint().host);
      hb.offload();
      for (let i = 0; i < 5; i++) tf.tidy(() => b.forward(a.forward(x))).dispose();
      hb.offload();
    });
    hb.remove();
    ha.remove();
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('keeps the module onloaded after a failing forward and restores weights exactly on remove()', () => {
    const m = new Faulty();
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 3);
    const expected = m.forward(x);
    const weights = snapshotWeights(m);
    const host = memory.stats().hostBytes;
    const handle = cpuOffloadWithHook(m);
    expect(appliedStrategies(m)).toEqual(['model_cpu_offload']);
    m.fail = true;
    expect(() => m.forward(x)).toThrow('boom');
    expect(handle.onloaded).toBe(true);
    m.fail = false;
    const y = m.forward(x);
    expectBitwise(y, expected);
    handle.remove();
    handle.remove();
    handle.offload();
    expect(tiers(m)).toEqual(['device']);
    expect(memory.stats().hostBytes).toBe(host);
    expect(appliedStrategies(m)).toEqual([]);
    expectSameWeights(weights, snapshotWeights(m));
    tf.dispose([x, y, expected]);
    m.dispose();
  });

  it('a removed predecessor is no longer offloaded by the chain', () => {
    const [a, b] = [new Mlp(), new Mlp()];
    const x = tf.randomNormal([1, 8], 0, 1, 'float32', 4);
    const ha = cpuOffloadWithHook(a);
    const hb = cpuOffloadWithHook(b, { prevModuleHook: ha });
    ha.remove();
    tf.tidy(() => b.forward(a.forward(x))).dispose();
    expect(tiers(a)).toEqual(['device']);
    expect(hb.onloaded).toBe(true);
    hb.remove();
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('validates prevModuleHook and its options before changing anything', () => {
    const [a, b] = [new Mlp(), new Mlp()];
    expect(() => cpuOffloadWithHook(a, { prevModuleHook: {} as never })).toThrow(InvalidArgumentError);
    expect(() => cpuOffloadWithHook(a, { prevModuleHook: {} as never })).toThrow(/must be a handle returned by cpuOffloadWithHook/);
    expect(() => cpuOffloadWithHook(a, { executionDevice: 'webgl' })).toThrow(/`executionDevice` is "webgl"/);
    expect(() => cpuOffloadWithHook(a, { offload: true } as never)).toThrow(/`offload` is not one of its options/);
    const ha = cpuOffloadWithHook(a);
    expect(() => cpuOffloadWithHook(a, { prevModuleHook: ha })).toThrow(/already applied/);
    expect(tiers(b)).toEqual(['device']);
    expect(hookNames(b)).toEqual([]);
    ha.remove();
    a.dispose();
    b.dispose();
  });
});
