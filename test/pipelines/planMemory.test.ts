import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedStrategies, InvalidArgumentError, Linear, memory, module, Module, Pipeline } from '../../src/index.js';
import { DiffusionPipeline } from '../../src/zoo.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectBitwise } from '../strategies/cpu-offload/models.js';
import { disposeComponents, tinyComponents, TinyPipeline } from './fixtures.js';

const strategiesOf = (p: Pipeline): string[] => Object.values(p.components).flatMap((root) => root.modules().flatMap((m) => appliedStrategies(m)));
/** Weight bytes on the device, over every component. */
const onDevice = (p: Pipeline): number => Object.values(p.components).reduce((n, m) => n + m.memoryFootprint().device, 0);

@module({ name: 'PlanMemoryTestOne' })
class One extends Module {
  lin = new Linear(2, 2);
  forward(x: tf.Tensor): tf.Tensor {
    return this.lin.forward(x);
  }
}
const tokens = () => tf.randomNormal([2, 4, 8], 0, 1, 'float32', 7);

describe.each(BACKENDS)('pipeline.planMemory on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(() => useBackend('cpu'));

  it('zoo tiny at 75 % of its resident peak: the plan fits when measured, runs bitwise to resident, and comes off', async () => {
    const pipe = DiffusionPipeline.create('tiny', { seed: 0 });
    try {
      tf.dispose(pipe.generate({ steps: 2 }));
      const { result: reference, peakDeviceBytes: residentPeak } = memory.track(() => pipe.generate({ steps: 2 }));
      const budget = Math.floor(0.75 * residentPeak);
      const weights = onDevice(pipe);
      const plan = await pipe.planMemory({ deviceBudget: budget, sample: () => pipe.generate({ steps: 2 }) });
      expect(plan.deviceBudget).toBe(budget);
      expect(plan.chosen.name).not.toBe('resident');
      expect(plan.chosen.fits).toBe(true);
      const measured = await plan.verify();
      expect(measured.measured.peakDeviceBytes).toBeLessThanOrEqual(budget);
      expect(measured.withinBudget).toBe(true);
      // verify() removed what it applied: every weight is back on the device.
      expect(onDevice(pipe)).toBe(weights);
      const handle = plan.apply();
      try {
        // Some weights wait off the device between calls (the plan applies to a root above the components).
        expect(onDevice(pipe)).toBeLessThan(weights);
        const { result: planned, peakDeviceBytes } = memory.track(() => pipe.generate({ steps: 2 }));
        expect(peakDeviceBytes).toBeLessThanOrEqual(budget);
        expectBitwise(planned, reference);
        planned.dispose();
      } finally {
        handle.remove();
      }
      expect(strategiesOf(pipe)).toEqual([]);
      expect(onDevice(pipe)).toBe(weights);
      const after = pipe.generate({ steps: 2 });
      expectBitwise(after, reference);
      tf.dispose([after, reference]);
    } finally {
      pipe.dispose();
    }
  });

  it('offers the model-offload chain as a candidate, which applies enableModelCpuOffload and comes off by its handle', async () => {
    const pipe = DiffusionPipeline.create('tiny', { seed: 0 });
    try {
      const reference = pipe.generate({ steps: 1 });
      // No sample given: the zoo pipeline plans on its own generate().
      const plan = await pipe.planMemory({ deviceBudget: '1GB' });
      const chain = plan.candidates.find((c) => c.name === 'model offload chain');
      expect(chain).toBeDefined();
      expect(chain!.lossless).toBe(true);
      // One component at a time: it predicts less than every weight on the device at once.
      const weights = onDevice(pipe);
      expect(chain!.predicted.hostBytes).toBe(weights);
      const handle = chain!.apply();
      try {
        expect(strategiesOf(pipe)).toEqual(['model_cpu_offload', 'model_cpu_offload', 'model_cpu_offload']);
        const out = pipe.generate({ steps: 1 });
        expectBitwise(out, reference);
        out.dispose();
        // The chain leaves nothing on the device between calls.
        expect(onDevice(pipe)).toBe(0);
      } finally {
        handle.remove();
      }
      expect(handle.removed).toBe(true);
      expect(strategiesOf(pipe)).toEqual([]);
      expect(onDevice(pipe)).toBe(weights);
      const m = await plan.verify(chain);
      expect(m.withinBudget).toBe(true);
      expect(strategiesOf(pipe)).toEqual([]);
      reference.dispose();
    } finally {
      pipe.dispose();
    }
  });

  it('a budget nothing reaches is refused with the smallest achievable peak, and the pipeline computes bitwise as before', async () => {
    const pipe = DiffusionPipeline.create('tiny', { seed: 0 });
    try {
      const before = pipe.generate({ steps: 2 });
      const weights = onDevice(pipe);
      await expect(pipe.planMemory({ deviceBudget: 1000, sample: () => pipe.generate({ steps: 2 }) })).rejects.toThrow(/smallest achievable peak/);
      expect(strategiesOf(pipe)).toEqual([]);
      expect(onDevice(pipe)).toBe(weights);
      // Whatever the planner measured to suggest an alternative (a cast variant) left no trace in the weights.
      const after = pipe.generate({ steps: 2 });
      expectBitwise(after, before);
      tf.dispose([before, after]);
    } finally {
      pipe.dispose();
    }
  });

  it('plans a user pipeline on the sample it is given; without modelCpuOffloadSeq there is no chain candidate', async () => {
    const p = new Pipeline(tinyComponents());
    const x = tokens();
    try {
      const run = (): tf.Tensor => {
        const { textEncoder, denoiser, vae } = p.components as ReturnType<typeof tinyComponents>;
        return tf.tidy(() => {
          const cond = textEncoder.forward(x);
          const latents = denoiser.forward(tf.mul(tf.mean(x, 2, true), tf.ones([1, 1, 16])), cond);
          return vae.forward(tf.reshape(latents, [-1, 2, 2, 16]));
        });
      };
      const plan = await p.planMemory({ deviceBudget: '1GB', sample: run });
      expect(plan.candidates.map((c) => c.name)).not.toContain('model offload chain');
      expect(plan.candidates.map((c) => c.name)).toContain('resident');
      const chained = new TinyPipeline(tinyComponents());
      try {
        const withChain = await chained.planMemory({ deviceBudget: '1GB', sample: () => chained.run(x, 2) });
        expect(withChain.candidates.map((c) => c.name)).toContain('model offload chain');
      } finally {
        disposeComponents(chained);
      }
    } finally {
      x.dispose();
      disposeComponents(p);
    }
  });

  it('refuses, naming the option, a pipeline with no default call and no sample, and changes nothing', async () => {
    const p = new TinyPipeline(tinyComponents());
    try {
      await expect(p.planMemory({ deviceBudget: '1GB' })).rejects.toThrow(InvalidArgumentError);
      await expect(p.planMemory({ deviceBudget: '1GB' })).rejects.toThrow(/TinyPipeline has no default call to plan on, so option `sample` must be a function/);
      await expect(p.planMemory(null as never)).rejects.toThrow(/needs an object such as \{ deviceBudget/);
      expect(strategiesOf(p)).toEqual([]);
    } finally {
      disposeComponents(p);
    }
  });

  it('refuses a component named like a Module member, which the planner could not see as one tree', async () => {
    const p = new Pipeline({ parameters: new One() });
    try {
      await expect(p.planMemory({ deviceBudget: '1GB', sample: () => tf.zeros([1]) })).rejects.toThrow(/component "parameters" has the name of a Module member/);
    } finally {
      disposeComponents(p);
    }
  });
});
