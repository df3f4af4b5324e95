import * as tf from '@tensorflow/tfjs-core';
import { memory } from '../diagnostics/memory.js';
import type { TraceDocument } from '../diagnostics/trace.js';
import type { Module } from '../models/Module.js';
import type { Parameter } from '../models/Parameter.js';
import { applyGroupOffloading } from '../strategies/group-offloading/index.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import type { TransferCosts } from './costs.js';
import { buildLayout } from './layouts.js';
import { timeSample } from './run.js';
import { addSpans, readTrace, settle, spansOf, type Timeline } from './timeline.js';
import type { Variant } from './variants.js';

/**
 * One measured run of the sample under a variant: its time, its outputs, and its trace, from which the
 * activation bytes at every step are known. When the weights are not all on the device, the run is made
 * under leaf-level group offloading (lossless), and the weights it onloaded are taken back out of the
 * trace's bytes and its moves out of the time.
 */
export interface Profile {
  readonly variant: Variant;
  readonly timeline: Timeline;
  /** Per step: device bytes above the start, less the weights the profile's offloading onloaded (activations). */
  readonly act: Float64Array;
  /** The sample's time with every weight on the device (measured, or the offloaded time less its moves). */
  readonly computeMs: number;
  /** Host copies of the sample's outputs under this variant. */
  readonly outputs: ArrayLike<number>[];
  /** Each weight's bytes on the device under this variant (a cast weight's stored bytes). */
  readonly deviceBytes: ReadonlyMap<Parameter, number>;
  /** Whether every weight was on the device during the run (else leaf-level offloading was applied). */
  readonly measuredResident: boolean;
}

async function traced(sample: () => unknown, root: Module): Promise<TraceDocument> {
  const doc = memory.trace(sample, { modules: root }) as TraceDocument | Promise<TraceDocument>;
  return await doc;
}

/**
 * Casting's remove() leaves the rounded values (applyLayerwiseCasting's docs), but planning must leave the root as it
 * found it: a lossy variant's run keeps the float32 weights (device or host tier) on the host and assigns them back.
 */
function keepExactWeights(root: Module, variant: Variant): () => void {
  if (!variant.lossy) return () => {};
  const saved = root
    .parameters()
    .filter((p) => !p.isLowPrecision && (p.isResident || p.tier === 'host'))
    .map((p) => [p, (p.isResident ? p.read().dataSync() : p.hostData()).slice()] as const);
  return () => {
    for (const [p, values] of saved) {
      const t = tf.tensor(values, [...p.shape], p.dtype);
      try {
        p.assign(t);
      } finally {
        t.dispose();
      }
    }
  };
}

export async function profileSample(root: Module, sample: () => unknown, variant: Variant, units: readonly Module[], costs: TransferCosts): Promise<Profile> {
  const handles: StrategyHandle[] = [];
  const restoreWeights = keepExactWeights(root, variant);
  try {
    handles.push(...variant.apply(root, units));
    const deviceBytes = new Map(root.parameters().map((p) => [p, p.byteLength] as [Parameter, number]));
    const measuredResident = root.parameters().every((p) => p.isResident);
    if (!measuredResident) handles.push(applyGroupOffloading(root, { offloadType: 'leaf_level' }));
    // The plain model's time is what every prediction starts from; a variant's is compared with it.
    const { ms, outputs } = await timeSample(sample, variant.label === '' ? 1500 : 500);
    const timeline = readTrace(await traced(sample, root), root);
    const diff = new Float64Array(timeline.steps.length + 1);
    let movesMs = 0;
    if (!measuredResident) {
      // While still applied: the groups hold the weights as this run moved them.
      for (const g of buildLayout([root], { level: 'leaf' }, timeline).groups) {
        const bytes = g.params.reduce((n, p) => n + p.byteLength, 0);
        addSpans(diff, g.spans, bytes);
        movesMs += g.spans.length * (g.params.length * costs.msPerUpload + bytes * costs.msPerByte);
      }
    }
    const onloaded = settle(diff);
    // A module step carries the bytes of the step before it: nothing was made or freed in between.
    const act = new Float64Array(timeline.steps.length);
    let last = 0;
    timeline.steps.forEach((s, i) => {
      if (s.kind === 'bytes') last = s.bytes - timeline.startBytes - onloaded[i]!;
      act[i] = last;
    });
    return { variant, timeline, act, computeMs: Math.max(ms - movesMs, ms * 0.05), outputs, deviceBytes, measuredResident };
  } finally {
    for (const h of handles.reverse()) h.remove();
    restoreWeights();
  }
}

/** The highest activation bytes of the profile while `module` (undefined: anything) runs; never below 0. */
export function activationPeak(profile: Profile, module?: Module): number {
  let peak = 0;
  if (module === undefined) {
    for (const a of profile.act) peak = Math.max(peak, a);
    return peak;
  }
  for (const { start, end } of spansOf(profile.timeline, [module])) {
    for (let i = start; i <= end; i++) peak = Math.max(peak, profile.act[i]!);
  }
  return peak;
}
