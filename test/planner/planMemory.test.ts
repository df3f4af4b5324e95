import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, ERROR_CODES, InvalidArgumentError, PlanInfeasibleError, planMemory, type MemoryPlan } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { expectSameState, stateOf } from '../helpers/modelState.js';
import { residentPeak, Stack } from './models.js';

const FRACTIONS = [0.1, 0.25, 0.5, 0.75, 0.9];

describe.each(BACKENDS)('planMemory on %s', (backend) => {
  let model: Stack;
  let x: tf.Tensor;
  let peak: number;
  const sample = (): tf.Tensor => model.forward(x);

  beforeAll(async () => {
    await useBackend(backend);
    model = new Stack();
    x = tf.randomNormal([1, 96], 0, 1, 'float32', 7);
    peak = residentPeak(model, sample);
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  it.each(FRACTIONS)('at %s of the resident peak: the chosen plan fits, measured, and is bitwise the resident output', async (fraction) => {
    const budget = Math.floor(peak * fraction);
    const plan = await planMemory(model, { deviceBudget: budget, sample });
    expect(plan.deviceBudget).toBe(budget);
    expect(plan.chosen.fits).toBe(true);
    expect(plan.chosen.predicted.peakDeviceBytes).toBeLessThanOrEqual(budget * 0.9);
    expect(plan.chosen.name).not.toBe('resident');
    const m = await plan.verify();
    expect(m.measured.peakDeviceBytes).toBeLessThanOrEqual(budget);
    expect(m.withinBudget).toBe(true);
    expect(plan.chosen.lossless).toBe(true);
    expect(m.bitwise).toBe(true);
  });

  it('keeps the model resident when the budget holds it', async () => {
    const plan = await planMemory(model, { deviceBudget: peak * 2, sample });
    expect(plan.chosen.name).toBe('resident');
    expect(plan.chosen.predicted.peakDeviceBytes).toBe(peak);
  });

  it('predicts the peak that verify() measures', async () => {
    const plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.5), sample });
    for (const c of plan.candidates.filter((c) => c.fits)) {
      const m = await plan.verify(c);
      // The prediction may only err on the safe side, and by little here (one row: activations are tiny).
      expect(m.measured.peakDeviceBytes, c.name).toBeLessThanOrEqual(c.predicted.peakDeviceBytes);
      expect(m.measured.peakDeviceBytes, c.name).toBeGreaterThanOrEqual(c.predicted.peakDeviceBytes * 0.8);
      expect(m.bitwise, c.name).toBe(true);
    }
  });

  it('chooses partial residency at 85% of the resident peak', async () => {
    const plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.85), sample });
    expect(plan.chosen.name).toMatch(/^partial: \d+ of \d+ (block\(\d+\)|leaf) groups resident$/);
    // It offloads less than half of what offloading every group does, and is predicted faster.
    const leaf = plan.candidates.find((c) => c.name === 'group leaf')!;
    expect(plan.chosen.predicted.hostBytes).toBeLessThan(leaf.predicted.hostBytes / 2);
    expect(plan.chosen.predicted.ms).toBeLessThanOrEqual(leaf.predicted.ms);
    expect((await plan.verify()).withinBudget).toBe(true);
  });

  it('describe() names the choice, its prediction, why, the calls it applies, and every candidate', async () => {
    const plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.85), sample });
    const text = plan.describe();
    const lines = text.split('\n');
    expect(lines[1]).toBe(
      `Chosen: ${plan.chosen.name}. Predicted: peak ${(plan.chosen.predicted.peakDeviceBytes / 1e6).toFixed(2)} MB on the device, ` +
        `${(plan.chosen.predicted.hostBytes / 1e6).toFixed(2)} MB on the host, ${plan.chosen.predicted.ms.toFixed(plan.chosen.predicted.ms < 10 ? 2 : 1)} ms per call.`,
    );
    expect(text).toContain(`Why: ${plan.chosen.why}.`);
    expect(text).toMatch(/apply\(\) calls: applyGroupOffloading\(root, \{ offloadType: '(block|leaf)_level', .*useStream: false, keepResident: \['[\w.]+'/);
    for (const c of plan.candidates) expect(text).toContain(`| ${c.name} | ${c.lossless ? 'yes' : 'no'} |`);
    expect(plan.candidates.filter((c) => c.why.startsWith('chosen'))).toEqual([plan.chosen]);
  });

  it('refuses when nothing fits, naming the smallest peak and what would reach it; nothing changes', async () => {
    const before = stateOf(model);
    const error = await expectNoLeaks(() => planMemory(model, { deviceBudget: 1000, sample }).then(() => undefined, (e: unknown) => e));
    expect(error).toBeInstanceOf(PlanInfeasibleError);
    const e = error as PlanInfeasibleError;
    expect(e.code).toBe(ERROR_CODES.PLAN_INFEASIBLE);
    expect(e.deviceBudget).toBe(1000);
    expect(e.smallestPeakBytes).toBeGreaterThan(900);
    expect(e.message).toMatch(/smallest achievable peak is [\d.]+ MB, with group leaf/);
    expect(e.message).toContain("allowLossy: 'fp8' →");
    expect(e.message).toMatch(/deviceBudget: '\d+KB' or more/);
    expectSameState(stateOf(model), before);
  });

  it('offers casting only with allowLossy, and marks it lossy', async () => {
    const budget = Math.floor(peak * 0.5);
    const plain = await planMemory(model, { deviceBudget: budget, sample });
    expect(plain.candidates.some((c) => /^(bf16|fp8)\b/.test(c.name))).toBe(false);
    const bf16 = await planMemory(model, { deviceBudget: budget, sample, allowLossy: 'bf16' });
    expect(bf16.candidates.some((c) => c.name.startsWith('bf16'))).toBe(true);
    expect(bf16.candidates.some((c) => c.name.startsWith('fp8'))).toBe(false);
    const fp8 = await planMemory(model, { deviceBudget: budget, sample, allowLossy: 'fp8' });
    const cast = fp8.candidates.filter((c) => c.name.startsWith('fp8'));
    expect(cast.length).toBeGreaterThan(0);
    expect(cast.every((c) => !c.lossless)).toBe(true);
    // fp8 weights resident take a quarter of the float32 bytes: it fits where the float32 model does not.
    expect(cast.find((c) => c.name === 'fp8')!.predicted.peakDeviceBytes).toBeLessThan(peak / 2);
    for (const c of cast.filter((c) => c.fits)) {
      const m = await fp8.verify(c);
      expect(m.measured.peakDeviceBytes, c.name).toBeLessThanOrEqual(budget);
      expect(m.bitwise).toBeUndefined();
    }
  });

  it('apply() then remove() restores the model exactly, leaking no tensor', async () => {
    const before = stateOf(model);
    const reference = sample();
    let plan: MemoryPlan | undefined;
    await expectNoLeaks(async () => {
      plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.6), sample });
    });
    expectSameState(stateOf(model), before);
    expectNoLeaks(() => {
      const handle = plan!.apply();
      expect(handle.removed).toBe(false);
      expect(model.memoryFootprint().host).toBeGreaterThan(0);
      const out = sample();
      expect(tf.tidy(() => tf.all(tf.equal(out, reference)).dataSync()[0])).toBe(1);
      handle.remove();
      expect(handle.removed).toBe(true);
      out.dispose();
    });
    expectSameState(stateOf(model), before);
    expect(model.parameters().every((p) => p.tier === 'device')).toBe(true);
    reference.dispose();
  });

  it('refuses a model with a strategy already applied, naming it', async () => {
    const handle = applyGroupOffloading(model.blocks.at(3), { offloadType: 'leaf_level' });
    try {
      await expect(planMemory(model, { deviceBudget: peak, sample })).rejects.toThrow(/has group_offloading on "blocks\.3".*Remove them first/);
    } finally {
      handle.remove();
    }
  });

  it('plans a sample that returns a promise', async () => {
    const budget = Math.floor(peak * 0.5);
    const plan = await planMemory(model, { deviceBudget: budget, sample: async () => model.forward(x) });
    const m = await plan.verify();
    expect(m.measured.peakDeviceBytes).toBeLessThanOrEqual(budget);
    expect(m.bitwise).toBe(true);
  });

  it('verify() on an applied plan leaves it applied', async () => {
    const plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.5), sample });
    const handle = plan.apply();
    const during = stateOf(model);
    expect((await plan.verify()).withinBudget).toBe(true);
    expectSameState(stateOf(model), during);
    handle.remove();
  });
});

describe('planMemory options', () => {
  let model: Stack;
  let x: tf.Tensor;
  const sample = (): tf.Tensor => model.forward(x);
  beforeAll(async () => {
    await useBackend('cpu');
    model = new Stack(2, 8);
    x = tf.ones([1, 8]);
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  it.each([
    [{ sample }, /`deviceBudget` is required/],
    [{ deviceBudget: '1MB' }, /`sample` must be a function/],
    [{ deviceBudget: '1MB', sample, allowLossy: 'int4' }, /`allowLossy` must be 'bf16' or 'fp8'/],
    [{ deviceBudget: '1MB', sample, margin: 1 }, /`margin` must be a fraction/],
    [{ deviceBudget: '1MB', sample, offloadDir: '' }, /`offloadDir` must be a folder path/],
    [{ deviceBudget: '1MB', sample, budget: 3 }, /`budget`.*not one of its options/],
  ])('refuses %j before running anything', async (options, message) => {
    const before = stateOf(model);
    let calls = 0;
    const counted = { ...options, ...('sample' in options ? { sample: () => (calls++, sample()) } : {}) };
    // @ts-expect-error: the bad options are the point
    await expect(planMemory(model, counted)).rejects.toThrow(InvalidArgumentError);
    // @ts-expect-error: as above
    await expect(planMemory(model, counted)).rejects.toThrow(message);
    expect(calls).toBe(0);
    expectSameState(stateOf(model), before);
  });
});
