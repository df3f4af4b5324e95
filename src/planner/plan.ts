import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../models/Module.js';
import type { MemoryPlan, PlanCandidate, PlanMeasurement, PlanPrediction } from '../pipelines/planSlot.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { mb } from './candidates.js';
import type { PlanConfig } from './options.js';
import { bytesBesideRoot, runSample, sameOutputs } from './run.js';

/** A candidate as the plan holds it: the public fields, and what ranks it among equals. */
export interface Option {
  readonly name: string;
  readonly lossless: boolean;
  readonly predicted: PlanPrediction;
  /** Bytes uploaded per call (fewer wins among candidates as fast). */
  readonly movedBytes: number;
  /** undefined when it fits; else why not. */
  readonly misfit: string | undefined;
  /** What apply() calls, as code (for describe()). */
  readonly applies: readonly string[];
  apply(): StrategyHandle;
}

const fmtMs = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

/**
 * The fastest option that fits. Options within 2% (or 0.05 ms) of the fastest count as equally fast: among
 * them a lossless one, then the one that moves fewer bytes per call, then the lower peak wins (a measured
 * upload cost near 0, as on cpu, must not make offloading look as good as keeping weights resident).
 */
export function choose(options: readonly Option[]): Option | undefined {
  const fitting = options.filter((o) => o.misfit === undefined);
  if (fitting.length === 0) return undefined;
  const fastest = Math.min(...fitting.map((o) => o.predicted.ms));
  const near = fitting.filter((o) => o.predicted.ms <= fastest * 1.02 + 0.05);
  near.sort(
    (a, b) =>
      Number(b.lossless) - Number(a.lossless) ||
      a.movedBytes - b.movedBytes ||
      a.predicted.peakDeviceBytes - b.predicted.peakDeviceBytes ||
      a.predicted.ms - b.predicted.ms,
  );
  return near[0];
}

function whyOf(o: Option, chosen: Option, usable: number): string {
  if (o === chosen) {
    return `chosen: the fastest that fits (predicted ${fmtMs(o.predicted.ms)}, peak ${mb(o.predicted.peakDeviceBytes)} ≤ ${mb(usable)})${o.lossless ? '' : '; not bitwise the resident outputs'}`;
  }
  if (o.misfit !== undefined) return `does not fit: ${o.misfit}`;
  if (o.predicted.ms > chosen.predicted.ms * 1.02 + 0.05) return `fits, but slower: ${fmtMs(o.predicted.ms)} against ${fmtMs(chosen.predicted.ms)}`;
  if (!o.lossless && chosen.lossless) return 'fits and as fast, but not bitwise the resident outputs';
  return `fits and as fast, but moves ${mb(o.movedBytes)} per call against ${mb(chosen.movedBytes)} (or peaks higher)`;
}

/** The plan planMemory returns. */
export class Plan implements MemoryPlan {
  readonly chosen: PlanCandidate;
  readonly candidates: readonly PlanCandidate[];
  readonly deviceBudget: number;
  /** The handle each candidate's latest apply() returned, for verify(). */
  private readonly applied = new Map<PlanCandidate, StrategyHandle>();

  private readonly chosenApplies: readonly string[];

  constructor(
    private readonly root: Module,
    private readonly config: PlanConfig,
    options: readonly Option[],
    chosen: Option,
    /** The sample's outputs with nothing lossy applied: what lossless candidates must reproduce bit for bit. */
    private readonly reference: readonly ArrayLike<number>[],
  ) {
    this.deviceBudget = config.deviceBudget;
    const made = options.map((o) => this.candidate(o, chosen));
    this.candidates = Object.freeze(made);
    this.chosen = made[options.indexOf(chosen)]!;
    this.chosenApplies = chosen.applies;
  }

  private candidate(o: Option, chosen: Option): PlanCandidate {
    const applied = this.applied;
    const c: PlanCandidate = Object.freeze({
      name: o.name,
      lossless: o.lossless,
      predicted: Object.freeze({ ...o.predicted }),
      fits: o.misfit === undefined,
      why: whyOf(o, chosen, this.config.usableBytes),
      apply: (): StrategyHandle => {
        const handle = o.apply();
        applied.set(c, handle);
        return handle;
      },
    });
    return c;
  }

  apply(): StrategyHandle {
    return this.chosen.apply();
  }

  async verify(candidate: PlanCandidate = this.chosen): Promise<PlanMeasurement> {
    const held = this.applied.get(candidate);
    const handle = held !== undefined && !held.removed ? undefined : candidate.apply();
    try {
      // What is on the device beside the root's weights (inputs, other models) is not the plan's.
      const beside = bytesBesideRoot(this.root);
      await runSample(this.config.sample); // warm-up: kernels compiled, a stream's order recorded
      const run = await runSample(this.config.sample, candidate.lossless);
      const peakDeviceBytes = Math.max(0, run.peakDeviceBytes - beside);
      const result: PlanMeasurement = {
        predicted: { ...candidate.predicted },
        measured: { peakDeviceBytes, ms: run.ms },
        withinBudget: peakDeviceBytes <= this.deviceBudget,
      };
      if (candidate.lossless) result.bitwise = sameOutputs(run.outputs!, this.reference);
      return result;
    } finally {
      handle?.remove();
    }
  }

  describe(): string {
    const c = this.chosen;
    const p = c.predicted;
    const lines = [
      `Memory plan on ${tf.getBackend()}: a device budget of ${mb(this.deviceBudget)}, ${mb(this.config.usableBytes)} usable with a ${Math.round(this.config.margin * 100)}% margin` +
        (this.config.hostBudget === undefined ? '.' : `; a host budget of ${mb(this.config.hostBudget)}.`),
      `Chosen: ${c.name}. Predicted: peak ${mb(p.peakDeviceBytes)} on the device, ${mb(p.hostBytes)} on the host` +
        `${p.diskBytes > 0 ? `, ${mb(p.diskBytes)} on disk` : ''}, ${fmtMs(p.ms)} per call.`,
      `Why: ${c.why}.`,
      `apply() calls: ${this.chosenApplies.join('; ')}.`,
      '',
      '| candidate | lossless | peak device | host | disk | time | fits | why |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...this.candidates.map(
        (o) =>
          `| ${o.name} | ${o.lossless ? 'yes' : 'no'} | ${mb(o.predicted.peakDeviceBytes)} | ${mb(o.predicted.hostBytes)} | ${mb(o.predicted.diskBytes)} | ` +
          `${fmtMs(o.predicted.ms)} | ${o.fits ? 'yes' : 'no'} | ${o.why} |`,
      ),
    ];
    return lines.join('\n');
  }
}
