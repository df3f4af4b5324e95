/**
 * The `planner` benchmark (issue #26): for zoo `small` and `base` and two real models, at budgets of 10, 25, 50, 75
 * and 90 % of the resident peak, the plan planMemory chooses, its predicted and measured peak and time
 * (plan.verify()), and a brute force in the same run over every candidate the plans considered, which gives the
 * fastest candidate that really fits each budget and the ratio of the planned time to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadPlanSubject, type PlanSubject } from '../src/cli/planSubjects.js';
import type { MemoryPlan, PlanMeasurement } from '../src/index.js';
import { countOf, skippedForMissingPeer, type BenchContext, type Benchmark, type SectionResult } from './framework.js';
import { memory, PlanInfeasibleError } from '../src/index.js';
import { trackAbove } from './peaks.js';
import { keepOnHost, maxAbsDiffToHost } from './hostReference.js';
import { bruteForce, uniqueCandidates } from './plannerBruteForce.js';
import { bruteForceSection, plansSection, type BudgetOutcome, type SubjectRun } from './plannerSections.js';

/** Budgets as fractions of the resident peak (the issue's). */
export const BUDGET_FRACTIONS = [0.1, 0.25, 0.5, 0.75, 0.9] as const;

interface SubjectSpec {
  model: string;
  /** Image side for a catalog model whose input size is free. */
  side?: number;
  /** What the section title says the subject is. */
  title: string;
}

/**
 * The zoo sizes, and the two real models: the ESRGAN upscaler (a tfjs LayersModel, 0.85 MiB of weights, its peak
 * is activations) and the catalog's GraphModel that runs quickly on wasm, nsfwjs' MobileNetV2 "mid" (16.4 MiB of
 * weights, one 224² execute), so that both adapters (wrapLayersModel, wrapGraphModel) are planned.
 */
const SUBJECTS: readonly SubjectSpec[] = [
  { model: 'zoo:small', title: 'zoo pipeline "small" (pipeline.planMemory over its three components)' },
  { model: 'zoo:base', title: 'zoo pipeline "base" (pipeline.planMemory over its three components)' },
  { model: 'upscaler-esrgan-2x', side: 128, title: 'the real 2× ESRGAN upscaler (LayersModel), one 128² image' },
  { model: 'mobilenet-v2-mid-nsfw', title: 'the real MobileNetV2 "mid" classifier (GraphModel), one 224² image' },
];

const SMOKE: readonly SubjectSpec[] = [{ model: 'zoo:tiny', title: 'zoo pipeline "tiny" (smoke)' }];

/** The sample as the brute force and the resident reference run it: one tensor, synchronously. */
function runSample(subject: PlanSubject): tf.Tensor {
  const out = subject.sample();
  if (!(out instanceof tf.Tensor)) throw new Error(`The planner benchmark needs ${subject.label}'s sample to return one tensor synchronously.`);
  return out;
}

/** Plans and verifies one budget; a refusal (PLAN_INFEASIBLE) is an outcome, any other error is not. */
async function planBudget(subject: PlanSubject, fraction: number, budget: number): Promise<{ outcome: BudgetOutcome; plan?: MemoryPlan }> {
  let plan: MemoryPlan;
  try {
    plan = await subject.plan({ deviceBudget: budget });
  } catch (error) {
    if (error instanceof PlanInfeasibleError) return { outcome: { fraction, budget, refused: `smallest achievable peak ${(error.smallestPeakBytes / 1e6).toFixed(2)} MB`, message: error.message } };
    throw error;
  }
  const verified: PlanMeasurement = await plan.verify();
  return { outcome: { fraction, budget, chosen: plan.chosen.name, lossless: plan.chosen.lossless, verified }, plan };
}

async function runSubject(spec: SubjectSpec, ctx: BenchContext, fractions: readonly number[], rounds: number): Promise<SectionResult[]> {
  let subject: PlanSubject;
  try {
    subject = await loadPlanSubject(spec.model, { steps: 2, ...(spec.side === undefined ? {} : { side: spec.side }) });
  } catch (error) {
    const skipped = skippedForMissingPeer(spec.model, spec.title, error);
    if (skipped !== undefined) return [skipped];
    throw error;
  }
  try {
    // Resident first: the reference output (kept on the host) and the peak the budgets are fractions of.
    // Peaks as plan.verify() counts them: the subject's weights on the device and the call's activations, above
    // every other device byte when the call starts (its input, what an earlier subject left).
    const baseline = (): number => memory.stats().deviceBytes - subject.deviceWeightBytes();
    tf.dispose(runSample(subject));
    const resident = trackAbove(baseline(), () => runSample(subject));
    const reference = keepOnHost(resident.result);
    const residentPeak = resident.peakDeviceBytes;
    ctx.log(`${spec.model}: resident peak ${residentPeak} bytes; planning ${fractions.length} budgets`);
    const outcomes: BudgetOutcome[] = [];
    const plans: MemoryPlan[] = [];
    for (const fraction of fractions) {
      const { outcome, plan } = await planBudget(subject, fraction, Math.floor(fraction * residentPeak));
      outcomes.push(outcome);
      if (plan !== undefined) plans.push(plan);
      ctx.log(`${spec.model} at ${fraction * 100}%: ${outcome.chosen ?? 'refused'}`);
    }
    const candidates = uniqueCandidates(plans.map((p) => p.candidates));
    const before = tf.memory().numTensors;
    const timings = bruteForce(candidates, () => runSample(subject), { rounds, baseline, reference, step: () => {}, log: (l) => ctx.log(`${spec.model}: ${l}`) });
    const leaked = tf.memory().numTensors - before;
    // Every candidate removed: the subject must compute exactly what it computed before any was applied.
    const after = runSample(subject);
    const restoredDiff = maxAbsDiffToHost(after, reference);
    after.dispose();
    const run: SubjectRun = { model: spec.model, title: spec.title, call: subject.call, weightBytes: subject.weightBytes, residentPeak, rounds, outcomes, timings, leaked, restoredDiff };
    return [plansSection(run), bruteForceSection(run)];
  } finally {
    subject.dispose();
  }
}

export const plannerBenchmark: Benchmark = {
  name: 'planner',
  description:
    'planMemory (#26) on zoo small and base and two real models at 10–90 % of the resident peak: plan, predicted vs measured peak and time, and a brute force over every candidate (best that fits, planned / best)',
  async run(ctx: BenchContext) {
    const subjects = ctx.smoke ? SMOKE : SUBJECTS;
    const fractions = ctx.smoke ? [0.5] : BUDGET_FRACTIONS;
    const rounds = ctx.smoke ? 1 : Math.min(ctx.runs, 5);
    ctx.log(`${countOf(subjects.length, 'subject')}, ${countOf(fractions.length, 'budget')} each, brute force ${countOf(rounds, 'round')}`);
    const sections: SectionResult[] = [];
    for (const spec of subjects) sections.push(...(await runSubject(spec, ctx, fractions, rounds)));
    return { name: 'planner', title: 'planner: planMemory against a brute force over its candidates', sections };
  },
};
