import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../models/Module.js';
import { memory } from '../runtime/memory.js';

/**
 * Running the user's sample: once for a time, once for a peak, once for its outputs. The sample may be
 * synchronous or return a promise; either way the tensors it returns are the planner's to dispose.
 */

/** The tensors in what a sample returned (a tensor, or arrays / plain objects of them), in a fixed order. */
export function tensorsIn(value: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value).sort()) tensorsIn((value as Record<string, unknown>)[key], out);
  }
  return out;
}

/** Awaits the sample's result when it is a promise. */
async function settle(value: unknown): Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function' ? await (value as Promise<unknown>) : value;
}

export interface SampleRun {
  ms: number;
  /** Absolute device bytes at the peak of the call (memory.stats after resetPeak: async samples too). */
  peakDeviceBytes: number;
  /** Host copies of the outputs, when asked for. */
  outputs?: ArrayLike<number>[];
}

/** Runs the sample once, times it (its outputs read back, so queued GPU work is in the time), disposes the outputs. */
export async function runSample(sample: () => unknown, keepOutputs = false): Promise<SampleRun> {
  memory.resetPeak();
  const t0 = performance.now();
  const value = await settle(sample());
  const tensors = tensorsIn(value);
  // Reading back ends the call on the asynchronous backends; the host copies are what bitwise checks compare.
  const outputs = await Promise.all(tensors.map((t) => t.data()));
  const ms = performance.now() - t0;
  const peakDeviceBytes = memory.stats().peakDeviceBytes;
  tf.dispose(tensors);
  return keepOutputs ? { ms, peakDeviceBytes, outputs } : { ms, peakDeviceBytes };
}

/**
 * The median time of the sample after one warm-up: about `budgetMs` of runs, from 15 for a fast sample (whose
 * times scatter most) down to 3 for a call of `budgetMs` or more (planning must stay cheap).
 */
export async function timeSample(sample: () => unknown, budgetMs: number): Promise<{ ms: number; outputs: ArrayLike<number>[] }> {
  const warm = await runSample(sample, true);
  const times: number[] = [];
  let rounds = 1;
  for (let r = 0; r < rounds; r++) {
    times.push((await runSample(sample)).ms);
    // At least 3: the median of 1 or 2 times is one run's noise (of 2, the slower), which on a busy machine put a
    // variant's predicted time 50-100% above its measured one (bench/results/planner.md before this).
    if (r === 0) rounds = Math.min(15, Math.max(3, Math.ceil(budgetMs / Math.max(times[0]!, 0.1))));
  }
  times.sort((a, b) => a - b);
  return { ms: times[times.length >> 1]!, outputs: warm.outputs! };
}

/** Whether two lists of outputs are equal bit for bit (Object.is: NaN equals NaN, 0 differs from −0). */
export function sameOutputs(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (!Object.is(x[j], y[j])) return false;
    return true;
  });
}

/**
 * Device bytes that are not the root's weights: the sample's inputs, other models. A peak is counted above
 * them, so that the budget is what the root's weights and its call hold (docs/planner.md).
 */
export function bytesBesideRoot(root: Module): number {
  const own = root.parameters().reduce((n, p) => n + (p.isResident ? p.byteLength : 0), 0);
  return Math.max(0, memory.stats().deviceBytes - own);
}
