/**
 * The planner benchmark's brute force: every candidate the planner considered, applied with candidate.apply(),
 * measured with the loop plan.verify() runs (one untimed call, then one timed under memory.track), and removed;
 * the candidates take turns round by round (rotating start) so that the machine's drift hits them all alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PlanCandidate, PlanPrediction } from '../src/index.js';
import { trackAbove } from './peaks.js';
import { maxAbsDiffToHost, type HostValues } from './hostReference.js';

/** What the brute force measured of one candidate. */
export interface CandidateTiming {
  readonly name: string;
  readonly lossless: boolean;
  /** The planner's prediction, from the first plan that listed the candidate. */
  readonly predicted: PlanPrediction;
  /** ms of the timed call, one per round. */
  readonly ms: number[];
  /** The largest peak over the rounds (BruteForceOptions.baseline). */
  peakDeviceBytes: number;
  maxAbsDiff: number;
  /** Set when apply() or the call threw: the candidate has no measurement. */
  error?: string;
}

export interface BruteForceOptions {
  rounds: number;
  /**
   * Device bytes a peak is counted above, read right before the timed call: every device byte but the subject's own
   * weights (its input, anything else), as plan.verify() counts them.
   */
  baseline(): number;
  /** The resident output, kept on the host. */
  reference: HostValues;
  step(): void;
  log(line: string): void;
}

/** The candidates of every plan, each once (by name: a name stands for one configuration of the subject). */
export function uniqueCandidates(lists: ReadonlyArray<readonly PlanCandidate[]>): PlanCandidate[] {
  const seen = new Map<string, PlanCandidate>();
  for (const list of lists) for (const c of list) if (!seen.has(c.name)) seen.set(c.name, c);
  return [...seen.values()];
}

function asTensor(out: unknown, what: string): tf.Tensor {
  if (out instanceof tf.Tensor) return out;
  throw new Error(`The planner benchmark needs a sample that returns one tensor synchronously; ${what} returned ${typeof out}.`);
}

/** One candidate, once: apply, an untimed call, a timed call under memory.track, remove. */
function measureOnce(c: PlanCandidate, sample: () => unknown, t: CandidateTiming, o: BruteForceOptions): void {
  const handle = c.apply();
  try {
    tf.dispose(asTensor(sample(), c.name));
    const t0 = performance.now();
    const { result, peakDeviceBytes } = trackAbove(o.baseline(), () => asTensor(sample(), c.name));
    result.dataSync();
    t.ms.push(performance.now() - t0);
    t.peakDeviceBytes = Math.max(t.peakDeviceBytes, peakDeviceBytes);
    t.maxAbsDiff = Math.max(t.maxAbsDiff, maxAbsDiffToHost(result, o.reference));
    result.dispose();
  } finally {
    handle.remove();
  }
}

/** Measures every candidate `rounds` times, interleaved. */
export function bruteForce(candidates: readonly PlanCandidate[], sample: () => unknown, o: BruteForceOptions): Map<string, CandidateTiming> {
  const timings = new Map<string, CandidateTiming>(
    candidates.map((c) => [c.name, { name: c.name, lossless: c.lossless, predicted: c.predicted, ms: [], peakDeviceBytes: 0, maxAbsDiff: 0 }]),
  );
  for (let round = 0; round < o.rounds; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const c = candidates[(round + k) % candidates.length]!;
      const t = timings.get(c.name)!;
      if (t.error === undefined) {
        try {
          measureOnce(c, sample, t, o);
        } catch (error) {
          // Reported in the table, never hidden: a candidate the planner offers must apply and run.
          t.error = error instanceof Error ? error.message : String(error);
          o.log(`candidate "${c.name}" failed: ${t.error}`);
        }
      }
      o.step();
    }
    o.log(`brute force round ${round + 1}/${o.rounds}: ${candidates.length} candidates`);
  }
  return timings;
}
