import type { Module } from '../models/Module.js';
import { mb, type Draft } from './candidates.js';
import { PlanInfeasibleError } from './infeasible.js';
import type { PlanConfig } from './options.js';
import type { Option } from './plan.js';

/** What the caller could change, with the peak it would reach: "allowLossy: 'fp8' → 70.0 MB (fp8 + group leaf)". */
export interface Suggestion {
  readonly change: string;
  readonly peakDeviceBytes: number;
  readonly via: string;
}

/** The lowest-peak option among `options`, if any. */
export function lowest<T extends { predicted: { peakDeviceBytes: number } }>(options: readonly T[]): T | undefined {
  return options.reduce<T | undefined>((best, o) => (best === undefined || o.predicted.peakDeviceBytes < best.predicted.peakDeviceBytes ? o : best), undefined);
}

/** Options that fail on host bytes alone: the disk tier would take them (given offloadDir). */
export function diskSuggestion(options: readonly Option[], config: PlanConfig): Suggestion | undefined {
  if (config.offloadDir !== undefined || config.hostBudget === undefined) return undefined;
  const hostOnly = options.filter((o) => o.predicted.peakDeviceBytes <= config.usableBytes && o.predicted.hostBytes > config.hostBudget!);
  const best = lowest(hostOnly);
  return best === undefined ? undefined : { change: 'offloadDir: a folder (the disk tier, for host memory)', peakDeviceBytes: best.predicted.peakDeviceBytes, via: `${best.name} + disk` };
}

/** The lossy drafts' best, as a suggestion of the allowLossy value that reaches it. */
export function lossySuggestion(drafts: readonly Draft[], name: 'bf16' | 'fp8'): Suggestion | undefined {
  const best = lowest(drafts);
  return best === undefined ? undefined : { change: `allowLossy: '${name}'`, peakDeviceBytes: best.predicted.peakDeviceBytes, via: best.name };
}

/** A size string of at least `bytes` (rounded up, so that passing it fits). */
function sizeAtLeast(bytes: number): string {
  return bytes < 1e7 ? `${Math.ceil(bytes / 1e3)}KB` : `${Math.ceil(bytes / 1e6)}MB`;
}

/** The refusal: the budget, the smallest peak and what reaches it, then each change that would help. */
export function refusal(root: Module, options: readonly Option[], config: PlanConfig, suggestions: readonly Suggestion[]): PlanInfeasibleError {
  const best = lowest(options)!;
  const peak = best.predicted.peakDeviceBytes;
  const needed = Math.ceil(peak / (1 - config.margin));
  const say = (s: Suggestion): string => `${s.change} → ${mb(s.peakDeviceBytes)} (${s.via})`;
  const fitting = suggestions.filter((s) => s.peakDeviceBytes <= config.usableBytes);
  const short = suggestions.filter((s) => s.peakDeviceBytes > config.usableBytes);
  const helps = [...fitting.map(say), `deviceBudget: '${sizeAtLeast(needed)}' or more → ${mb(peak)} (${best.name})`];
  return new PlanInfeasibleError(
    `planMemory on ${root.constructor.name}: no candidate fits a device budget of ${mb(config.deviceBudget)} ` +
      `(${mb(config.usableBytes)} with the ${Math.round(config.margin * 100)}% margin)` +
      `${config.hostBudget === undefined ? '' : ` and a host budget of ${mb(config.hostBudget)}`}. ` +
      `The smallest achievable peak is ${mb(peak)}, with ${best.name}${best.misfit === undefined ? '' : ` (${best.misfit})`}. ` +
      `What would fit: ${helps.join('; ')}.` +
      `${short.length === 0 ? '' : ` Not enough either: ${short.map(say).join('; ')}.`} Nothing was applied.`,
    peak,
    config.deviceBudget,
  );
}
