import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, DeviceBudgetExceededError, memory, type Module } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { Blocky } from './models.js';
import { thrown } from '../../helpers/thrown.js';

const bytesOf = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);
const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));

/**
 * A budget set below what the resident model holds is the reason to apply offloading: applying must be
 * allowed (it only lowers the device bytes); only an onload that would really pass the budget is refused.
 */
describe.each(BACKENDS)('group offloading under a budget the resident model already exceeds, on %s', (backend) => {
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

  it('applies, runs within the budget and comes off again once the budget allows', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const ref = model.forward(x);
    const whole = bytesOf(model);
    const block = bytesOf(model.blocks.at(0));
    // Room for what stays outside the device (x, ref), one block and activations: far below the whole model.
    const outside = memory.stats().deviceBytes - whole;
    memory.setDeviceBudget(outside + 2 * block);
    expect(memory.stats().deviceBytes).toBeGreaterThan(memory.deviceBudget!);

    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    expect(model.memoryFootprint().device).toBe(0);
    expect(memory.stats().deviceBytes).toBeLessThanOrEqual(memory.deviceBudget!);
    const y = model.forward(x);
    expect(bits(y)).toEqual(bits(ref));

    memory.setDeviceBudget(undefined);
    handle.remove();
    expect(model.memoryFootprint().device).toBe(whole);
    tf.dispose([x, ref, y]);
  });

  it('keeps the keepResident weights when they fit once the rest is offloaded', () => {
    const model = make();
    const whole = bytesOf(model);
    const head = bytesOf(model.head);
    memory.setDeviceBudget(memory.stats().deviceBytes - whole + head + bytesOf(model.blocks.at(0)));
    const handle = applyGroupOffloading(model, { offloadType: 'block_level', numBlocksPerGroup: 1, keepResident: ['head'] });
    expect(model.memoryFootprint().device).toBe(head);
    memory.setDeviceBudget(undefined);
    handle.remove();
    expect(model.memoryFootprint().device).toBe(whole);
  });

  it('refuses a real onload past the budget with a message that names it, and changes nothing', () => {
    const model = make();
    const x = tf.randomNormal([2, 8]);
    const whole = bytesOf(model);
    // Not even the smallest group fits: the budget is below what is outside the model.
    memory.setDeviceBudget(memory.stats().deviceBytes - whole);
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    const before = memory.stats().deviceBytes;
    expectNoLeaks(() => {
      const error = thrown(() => model.forward(x));
      expect(error).toBeInstanceOf(DeviceBudgetExceededError);
      const message = (error as Error).message;
      expect(message).toMatch(/^Onloading group "[^"]*" \(module [^)]+\) needs [\d.]+ (B|KiB) \(\d+ bytes\) on the device, which already holds .* would pass the device budget/);
      expect(message).not.toMatch(/needs 0 B/);
      expect(memory.stats().deviceBytes).toBe(before);
    });
    memory.setDeviceBudget(undefined);
    handle.remove();
    expect(model.memoryFootprint().device).toBe(whole);
    x.dispose();
  });
});
