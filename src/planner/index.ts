/**
 * The memory planner (issue #26, docs/planner.md): given a device budget and a sample call, it measures the
 * sample once (time, trace), predicts every candidate's peak device bytes, host bytes and time, picks the
 * fastest that fits, and can verify it on the sample.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../base/errors.js';
import { assertModule } from '../models/assertModule.js';
import { describeModule } from '../models/paths.js';
import type { Module } from '../models/Module.js';
import {
  fillPipelinePlanner,
  type ExtraPlanCandidate,
  type MemoryPlan,
  type PlanCosts,
  type PlanMemoryOptions,
} from '../pipelines/planSlot.js';
import { EARLY_UPLOAD_BACKENDS } from '../strategies/group-offloading/index.js';
import { appliedStrategies } from '../strategies/registry.js';
import { applyArrangement, describeArrangement } from './apply.js';
import { draftsFor, misfitOf, type Draft, type DraftContext } from './candidates.js';
import { diskReadMsPerByte, uploadCosts } from './costs.js';
import { unitsOf } from './layouts.js';
import { onloadOverheadMs } from './onloadOverhead.js';
import { resolvePlanOptions, type PlanConfig } from './options.js';
import { choose, Plan, type Option } from './plan.js';
import { activationPeak, profileSample, type Profile } from './profile.js';
import { diskSuggestion, lossySuggestion, refusal, type Suggestion } from './refusal.js';
import { sameOutputs } from './run.js';
import { tilingVariants } from './tilingVariants.js';
import { activationVariants, castingVariant, castingVariants, PLAIN, type Variant } from './variants.js';

export type { PlanMemoryOptions, PlanPrediction, PlanCandidate, PlanMeasurement, MemoryPlan } from '../pipelines/planSlot.js';
export { PlanInfeasibleError } from './infeasible.js';
export { DEFAULT_MARGIN } from './options.js';

/**
 * Plans how to run `root` within `options.deviceBudget`: the fastest candidate (resident, group offloading
 * at block or leaf level ± stream ± disk, partial residency, casting with allowLossy, activation strategies)
 * whose predicted peak fits the budget less the margin. Throws a PlanInfeasibleError when none does. The
 * root is left as it was: plan.apply() applies the choice.
 *
 * @example
 * const plan = await planMemory(model, { deviceBudget: '300MB', sample: () => model.forward(x) });
 * console.log(plan.describe());
 * const handle = plan.apply();   // handle.remove() takes all of it off
 */
export function planMemory(root: Module, options: PlanMemoryOptions): Promise<MemoryPlan> {
  return planMemoryWith(root, options, []);
}

/** Drafts of a variant, or none when its run fails or (for a lossless variant) changes the outputs. */
async function tryVariant(root: Module, config: PlanConfig, variant: Variant, units: readonly Module[], base: Profile, ctx: DraftContext): Promise<Draft[]> {
  let profile: Profile;
  try {
    profile = await profileSample(root, config.sample, variant, units, ctx.upload);
  } catch {
    return []; // not applicable to this model or this sample (e.g. batch slicing of a call whose inputs do not share a batch)
  }
  if (variant.lossless && !sameOutputs(profile.outputs, base.outputs)) return [];
  return draftsFor(profile, units, ctx);
}

/** planMemory with candidates the caller adds (a pipeline's model-offload chain, through the pipelines' slot). */
export async function planMemoryWith(root: Module, options: PlanMemoryOptions, extra: readonly ExtraPlanCandidate[]): Promise<MemoryPlan> {
  assertModule(root, 'planMemory(root, options)');
  const config = resolvePlanOptions(options);
  assertNothingApplied(root);
  const upload = uploadCosts();
  const base = await profileSample(root, config.sample, PLAIN, [root], upload);
  const units = unitsOf(root, base.timeline);
  const ctx: DraftContext = {
    config,
    upload,
    diskMsPerByte: config.offloadDir === undefined ? 0 : diskReadMsPerByte(config.offloadDir),
    earlyUploads: EARLY_UPLOAD_BACKENDS.has(tf.getBackend()),
    msPerOnload: await onloadOverheadMs(root, config.sample, units, base, upload),
    diskCandidates: config.offloadDir !== undefined,
  };
  const drafts = draftsFor(base, units, ctx);
  for (const v of castingVariants(config.allowLossy)) drafts.push(...(await tryVariant(root, config, v, units, base, ctx)));
  // Activation strategies only when the activations are what does not fit.
  if (drafts.every((d) => d.misfit !== undefined)) {
    const variants = [...activationVariants(root), ...(await tilingVariants(units, config.sample))];
    for (const v of variants) drafts.push(...(await tryVariant(root, config, v, units, base, ctx)));
  }
  const options_: Option[] = drafts.map((d) => ({
    name: d.name,
    lossless: d.lossless,
    predicted: { peakDeviceBytes: d.predicted.peakDeviceBytes, hostBytes: d.predicted.hostBytes, diskBytes: d.predicted.diskBytes, ms: d.predicted.ms },
    movedBytes: d.predicted.movedBytes,
    misfit: d.misfit,
    applies: describeArrangement(root, d.arrangement, config.offloadDir),
    apply: () => applyArrangement(root, d.arrangement, units, config.offloadDir),
  }));
  options_.push(...extra.map((e) => extraOption(root, e, base, config, upload.msPerByte)));
  const chosen = choose(options_);
  if (chosen === undefined) throw refusal(root, options_, config, await suggestions(root, config, units, base, ctx, options_));
  return new Plan(root, config, options_, chosen, base.outputs);
}

/** The planner measures the model as it is and applies its own strategies: strategies already applied would skew both. */
function assertNothingApplied(root: Module): void {
  const found = root.namedModules().flatMap(([path, m]) => appliedStrategies(m).map((name) => `${name} on ${path === '' ? 'the root' : `"${path}"`}`));
  if (found.length === 0) return;
  throw new InvalidArgumentError(
    `planMemory plans a model with no memhooks strategy applied, but ${describeModule(root)} has ${found.join(', ')}. ` +
      'Remove them first (their handles\' remove()); the plan applies what it chooses with plan.apply().',
  );
}

/** A caller's candidate, predicted from the planner's measurements. */
function extraOption(root: Module, e: ExtraPlanCandidate, base: Profile, config: PlanConfig, msPerByte: number): Option {
  const costs: PlanCosts = {
    residentMs: base.computeMs,
    msPerByte,
    activationPeakBytes: (path) => activationPeak(base, path === '' ? undefined : root.getSubmodule(path)),
  };
  const predicted = e.predict(costs);
  // Its moves are not known, only its time: estimated from it where uploads cost time, else it ranks last among equals.
  const movedBytes = msPerByte > 0 ? Math.max(0, Math.round((predicted.ms - base.computeMs) / msPerByte)) : Number.MAX_SAFE_INTEGER;
  return { name: e.name, lossless: e.lossless, predicted, movedBytes, misfit: misfitOf(predicted, config), applies: [e.why], apply: () => e.apply() };
}

/** What would fit instead: casting not allowed yet (measured now), the disk tier when host bytes are short. */
async function suggestions(root: Module, config: PlanConfig, units: readonly Module[], base: Profile, ctx: DraftContext, options: readonly Option[]): Promise<Suggestion[]> {
  const found: Suggestion[] = [];
  if (config.allowLossy !== 'fp8') {
    const fp8 = lossySuggestion(await tryVariant(root, config, castingVariant('fp8'), units, base, ctx), 'fp8');
    if (fp8 !== undefined) found.push(fp8);
  }
  const disk = diskSuggestion(options, config);
  if (disk !== undefined) found.push(disk);
  return found;
}

// pipeline.planMemory (floor "pipelines") reaches the planner through this slot.
fillPipelinePlanner(planMemoryWith);
