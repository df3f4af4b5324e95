import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanInfeasibleError, planMemory, withParameterInit, type Module } from '../../src/index.js';
import { createDiffusionComponents, type DiffusionComponents } from '../../src/zoo/diffusion/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectSameState, stateOf } from '../helpers/modelState.js';
import { residentPeak, Stack, TwoStage } from './models.js';

/**
 * Plans on the zoo's tiny pipeline components and on trees the planner must read differently: weights that
 * start on the host, a root whose own forward never runs, a host budget that only the disk tier meets.
 */
describe.each(BACKENDS)('planMemory on %s: zoo components and other trees', (backend) => {
  let zoo: DiffusionComponents;
  let latents: tf.Tensor;
  let context: tf.Tensor;
  let timestep: tf.Tensor;

  beforeAll(async () => {
    await useBackend(backend);
    zoo = createDiffusionComponents('tiny');
    latents = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3);
    context = tf.randomNormal([1, 8, zoo.textEncoder.dim], 0, 1, 'float32', 4);
    timestep = tf.tensor1d([500]);
  });
  afterAll(() => {
    tf.dispose([latents, context, timestep]);
    for (const m of Object.values(zoo)) m.dispose();
  });

  const subjects = (): Array<[string, Module, () => tf.Tensor]> => [
    ['denoiser', zoo.denoiser, () => zoo.denoiser.forward(latents, context, timestep)],
    ['vae', zoo.vae, () => zoo.vae.forward(latents)],
  ];

  it.each([0.1, 0.25, 0.5, 0.75, 0.9])('at %s of the resident peak: a plan within the budget, bitwise, or a refusal that says why', async (fraction) => {
    for (const [name, model, sample] of subjects()) {
      const budget = Math.floor(residentPeak(model, sample) * fraction);
      const before = stateOf(model);
      const planned = await planMemory(model, { deviceBudget: budget, sample }).catch((e: unknown) => e);
      expectSameState(stateOf(model), before);
      if (planned instanceof PlanInfeasibleError) {
        // The tiny components are activation-bound: below about half their peak nothing can fit.
        expect(fraction, `${name}: refused at ${fraction}`).toBeLessThan(0.5);
        expect(planned.smallestPeakBytes).toBeGreaterThan(budget * 0.9);
        continue;
      }
      if (planned instanceof Error) throw planned;
      const plan = planned as Awaited<ReturnType<typeof planMemory>>;
      const m = await plan.verify();
      expect(m.measured.peakDeviceBytes, `${name} at ${fraction}: ${plan.chosen.name}`).toBeLessThanOrEqual(budget);
      expect(m.bitwise, name).toBe(plan.chosen.lossless ? true : undefined);
      if (fraction >= 0.75) expect(plan.chosen.name, name).toMatch(/^partial: /);
      expectSameState(stateOf(model), before);
    }
  });

  it('plans a model whose weights start on the host, and puts them back there', async () => {
    const model = withParameterInit({ tier: 'host', seed: 5 }, () => new Stack());
    const x = tf.randomNormal([1, 96], 0, 1, 'float32', 9);
    const sample = (): tf.Tensor => model.forward(x);
    const weights = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    const plan = await planMemory(model, { deviceBudget: Math.floor(weights * 0.4), sample });
    expect(model.parameters().every((p) => p.tier === 'host')).toBe(true);
    const m = await plan.verify();
    expect(m.withinBudget).toBe(true);
    expect(m.bitwise).toBe(true); // against the planner's own offloaded run: resident is not how this model lives
    const resident = await planMemory(model, { deviceBudget: weights * 4, sample });
    expect(resident.chosen.name).toBe('resident');
    const handle = resident.apply();
    expect(model.parameters().every((p) => p.tier === 'device')).toBe(true);
    handle.remove();
    expect(model.parameters().every((p) => p.tier === 'host')).toBe(true);
    x.dispose();
    model.dispose();
  });

  it('offloads each stage of a root whose own forward the sample never calls', async () => {
    const root = new TwoStage();
    const x = tf.randomNormal([1, 96], 0, 1, 'float32', 2);
    const sample = (): tf.Tensor => tf.tidy(() => tf.add(root.first.forward(x), root.second.forward(x)));
    const budget = Math.floor(residentPeak(root, sample) * 0.3);
    const before = stateOf(root);
    const plan = await planMemory(root, { deviceBudget: budget, sample });
    const m = await plan.verify();
    expect(m.measured.peakDeviceBytes, plan.chosen.name).toBeLessThanOrEqual(budget);
    expect(m.bitwise).toBe(true);
    const handle = plan.apply();
    expect(stateOf(root).filter((s) => s.strategies.includes('group_offloading')).map((s) => s.path)).toEqual(['first', 'second']);
    handle.remove();
    expectSameState(stateOf(root), before);
    x.dispose();
    root.dispose();
  });

  it('takes the disk tier when the host budget is short, and says so when no folder is given', async () => {
    const model = new Stack();
    const x = tf.randomNormal([1, 96], 0, 1, 'float32', 1);
    const sample = (): tf.Tensor => model.forward(x);
    const budget = Math.floor(residentPeak(model, sample) * 0.3);
    const hostBudget = 100_000; // a tenth of the weights
    const refused = await planMemory(model, { deviceBudget: budget, hostBudget, sample }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PlanInfeasibleError);
    expect((refused as Error).message).toMatch(/host [\d.]+ MB > hostBudget/);
    expect((refused as Error).message).toMatch(/offloadDir: a folder .* → [\d.]+ MB \(.* \+ disk\)/);
    const dir = mkdtempSync(join(tmpdir(), 'memhooks-plan-'));
    try {
      const plan = await planMemory(model, { deviceBudget: budget, hostBudget, offloadDir: dir, sample });
      expect(plan.chosen.name).toMatch(/\+ disk$/);
      expect(plan.chosen.predicted.hostBytes).toBeLessThanOrEqual(hostBudget);
      expect(plan.chosen.predicted.diskBytes).toBeGreaterThan(0);
      const m = await plan.verify();
      expect(m.withinBudget).toBe(true);
      expect(m.bitwise).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      x.dispose();
      model.dispose();
    }
  });

  it('tiles an image module when its activations pass the budget, reading the tile size and scale off the sample', async () => {
    const side = backend === 'cpu' ? 16 : 32; // cpu convolutions are slow: a smaller image, still activation-bound
    const big = tf.randomNormal([1, side, side, 4], 0, 1, 'float32', 8);
    const sample = (): tf.Tensor => zoo.vae.forward(big);
    const budget = Math.floor(residentPeak(zoo.vae, sample) * 0.3);
    const plan = await planMemory(zoo.vae, { deviceBudget: budget, sample });
    expect(plan.chosen.name).toMatch(/^tiling\(\d+\)/);
    expect(plan.chosen.lossless).toBe(false);
    expect(plan.describe()).toMatch(/applyTiling\(<image module>, \{ tileSize: \d+, outputScale: 2 \}\)/);
    const m = await plan.verify();
    expect(m.measured.peakDeviceBytes).toBeLessThanOrEqual(budget);
    expect(m.bitwise).toBeUndefined();
    big.dispose();
  }, 180_000);

  it('slices the batch when the activations, not the weights, pass the budget', async () => {
    const model = new Stack(4, 64);
    const x = tf.randomNormal([64, 64], 0, 1, 'float32', 6); // 64 rows: activations outweigh the 66 KB of weights
    const sample = (): tf.Tensor => model.forward(x);
    const peak = residentPeak(model, sample);
    const plan = await planMemory(model, { deviceBudget: Math.floor(peak * 0.3), sample });
    expect(plan.chosen.name).toMatch(/^batch slicing \+ /);
    expect(plan.chosen.lossless).toBe(true);
    const m = await plan.verify();
    expect(m.withinBudget).toBe(true);
    expect(m.bitwise).toBe(true);
    x.dispose();
    model.dispose();
  });
});
