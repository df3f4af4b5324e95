/**
 * pipeline.planMemory lives on Pipeline (floor "pipelines") but is carried out by the planner floor, which sits
 * above it (it uses memory.trace). So Pipeline never imports the planner: it calls through this slot, which
 * src/planner fills when it loads (the entry file 'memhooks' imports it), as Module.fromPretrained reaches
 * src/loading through models/pretrainedSlot.ts. The planner's public types live here, on the lowest floor that
 * names them; src/planner re-exports them.
 */
import { InvalidArgumentError } from '../base/errors.js';
import type { Module } from '../models/Module.js';
import type { Size } from '../runtime/size.js';
import type { StrategyHandle } from '../strategies/Strategy.js';

export interface PlanMemoryOptions {
  /** The device budget the plan must fit, e.g. '300MB'. */
  deviceBudget: Size;
  /** Host memory the plan may use; when short, disk candidates (which need offloadDir) come in. */
  hostBudget?: Size;
  /** Folder for the disk candidates. */
  offloadDir?: string;
  /** Casting candidates, which change the outputs, only when given. */
  allowLossy?: 'bf16' | 'fp8';
  /** One representative call (sync or returning a Promise); the planner disposes the tensors it returns. */
  sample: () => unknown;
  /** Fraction of the budget kept free as a safety margin (default: docs/planner.md). */
  margin?: number;
}

/** What the planner predicts for a candidate. */
export interface PlanPrediction {
  peakDeviceBytes: number;
  hostBytes: number;
  diskBytes: number;
  ms: number;
}

export interface PlanCandidate {
  /** e.g. 'resident', 'group block(2) + stream', 'partial: 7 of 12 blocks resident', 'fp8 + group leaf'. */
  readonly name: string;
  readonly lossless: boolean;
  readonly predicted: PlanPrediction;
  /** Predicted peak ≤ budget × (1 − margin), and host/disk within their budgets. */
  readonly fits: boolean;
  /** One line: what it does and why it was (not) chosen. */
  readonly why: string;
  /** Applies this candidate; remove() takes all of it off. */
  apply(): StrategyHandle;
}

export interface PlanMeasurement {
  predicted: PlanPrediction;
  measured: { peakDeviceBytes: number; ms: number };
  withinBudget: boolean;
  bitwise?: boolean;
}

export interface MemoryPlan {
  readonly chosen: PlanCandidate;
  readonly candidates: readonly PlanCandidate[];
  readonly deviceBudget: number;
  /** The chosen strategies, predicted peak device/host bytes and time, why; and a table of the candidates. */
  describe(): string;
  /** chosen.apply(). */
  apply(): StrategyHandle;
  /** Applies (if not applied), runs the sample once after a warm-up, measures, removes what it applied. */
  verify(candidate?: PlanCandidate): Promise<PlanMeasurement>;
}

/** What the planner measured of the sample, from which a candidate it does not know predicts itself. */
export interface PlanCosts {
  /** The sample's time with every weight on the device (or the offloaded run the planner measured instead). */
  readonly residentMs: number;
  /** The upload cost measured on this backend in this process, in ms per byte. */
  readonly msPerByte: number;
  /** The traced activation peak (device bytes above the weights) of the module at `path` of the root ('' = all). */
  activationPeakBytes(path: string): number;
}

/**
 * A candidate the planner cannot build itself, supplied by the caller (a pipeline's model-offload chain): the
 * planner predicts it through `predict`, decides `fits` with its own margin, and ranks, describes and verifies
 * it as any other.
 */
export interface ExtraPlanCandidate {
  readonly name: string;
  readonly lossless: boolean;
  /** What it does (the planner appends why it was or was not chosen). */
  readonly why: string;
  predict(costs: PlanCosts): PlanPrediction;
  apply(): StrategyHandle;
}

/** planMemory, with the candidates the caller adds. */
export type PipelinePlanner = (root: Module, options: PlanMemoryOptions, extra: readonly ExtraPlanCandidate[]) => Promise<MemoryPlan>;

// One slot per build, as models/pretrainedSlot.ts: each build's Pipeline reaches its own build's planner.
let planner: PipelinePlanner | undefined;

/** Called by src/planner when it loads. */
export function fillPipelinePlanner(fn: PipelinePlanner): void {
  planner = fn;
}

export function pipelinePlannerSlot(): PipelinePlanner {
  if (planner === undefined) {
    throw new InvalidArgumentError(
      "pipeline.planMemory is carried out by memhooks' planner, which was not loaded: import Pipeline from 'memhooks' (the package entry), not from an internal file.",
    );
  }
  return planner;
}
