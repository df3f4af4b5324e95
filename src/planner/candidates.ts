import type { Module } from '../models/Module.js';
import type { PlanPrediction } from '../pipelines/planSlot.js';
import { buildLayout, maxBlocks, type Layout, type PlannedGroup } from './layouts.js';
import type { PlanConfig } from './options.js';
import { predict, type Arrangement, type PredictionContext } from './predict.js';
import type { Profile } from './profile.js';

/** A candidate before the choice: what it is, what it is predicted to cost, whether it fits. */
export interface Draft {
  readonly name: string;
  readonly lossless: boolean;
  readonly arrangement: Arrangement;
  readonly predicted: PlanPrediction & { movedBytes: number };
  /** undefined when it fits; else why not (one clause). */
  readonly misfit: string | undefined;
}

export interface DraftContext extends PredictionContext {
  readonly config: PlanConfig;
  /** Whether disk candidates are made (offloadDir given). */
  readonly diskCandidates: boolean;
}

/** Why a prediction does not fit the budgets, or undefined when it fits. */
export function misfitOf(p: PlanPrediction, config: PlanConfig): string | undefined {
  if (p.peakDeviceBytes > config.usableBytes) return `peak ${mb(p.peakDeviceBytes)} > ${mb(config.usableBytes)} (budget less the margin)`;
  if (config.hostBudget !== undefined && p.hostBytes > config.hostBudget) return `host ${mb(p.hostBytes)} > hostBudget ${mb(config.hostBudget)}`;
  return undefined;
}

export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;

function draft(name: string, arrangement: Arrangement, ctx: DraftContext): Draft {
  const predicted = predict(arrangement, ctx);
  const lossless = arrangement.profile.variant.lossless;
  const label = arrangement.profile.variant.label;
  const full = label === '' ? name : name === 'resident' ? label : `${label} + ${name}`;
  return { name: full, lossless, arrangement, predicted, misfit: misfitOf(predicted, ctx.config) };
}

function layoutName(layout: Layout): string {
  return layout.kind.level === 'leaf' ? 'group leaf' : `group block(${layout.kind.blocksPerGroup})`;
}

/** Every way of offloading the profile's model the planner considers (docs/planner.md, "The candidates"). */
export function draftsFor(profile: Profile, units: readonly Module[], ctx: DraftContext): Draft[] {
  const none = new Set<PlannedGroup>();
  const drafts: Draft[] = [draft('resident', { profile, layout: undefined, kept: none, stream: false, disk: false }, ctx)];
  const layouts: Layout[] = [];
  const most = maxBlocks(units);
  for (let n = 1; n === 1 || n < most; n *= 2) layouts.push(buildLayout(units, { level: 'block', blocksPerGroup: n }, profile.timeline));
  layouts.push(buildLayout(units, { level: 'leaf' }, profile.timeline));
  const tiers = ctx.diskCandidates ? [false, true] : [false];
  for (const layout of layouts) {
    // One group on a single unit is the whole model moved per call: never better than leaf level or partial.
    if (layout.groups.length === 0 || (layout.groups.length === 1 && layout.units.length === 1)) continue;
    for (const disk of tiers) {
      for (const stream of [false, true]) {
        const name = `${layoutName(layout)}${stream ? ' + stream' : ''}${disk ? ' + disk' : ''}`;
        drafts.push(draft(name, { profile, layout, kept: none, stream, disk }, ctx));
      }
    }
  }
  // Partial residency over every cut: coarse groups move fewer times per call, fine ones fill the budget closer.
  for (const layout of layouts) {
    if (layout.groups.length === 0) continue;
    for (const disk of tiers) {
      const partial = partialResidency(profile, layout, disk, ctx);
      if (partial !== undefined) drafts.push(partial);
    }
  }
  return drafts;
}

/**
 * ComfyUI's partial loading: keep resident as many of the layout's groups as fit, largest first (every byte
 * kept resident saves the same upload per call, so the most bytes kept is the most time saved; a group used
 * more than once per call saves more and goes first among equals), offload the rest. Undefined when offloading
 * every group does not fit either, or when every group fits (that is 'resident').
 */
function partialResidency(profile: Profile, layout: Layout, disk: boolean, ctx: DraftContext): Draft | undefined {
  const kept = new Set<PlannedGroup>();
  const arrange = (): Arrangement => ({ profile, layout, kept: new Set(kept), stream: false, disk });
  if (misfitOf(predict(arrange(), ctx), ctx.config) !== undefined) return undefined;
  const order = layout.groups.filter((g) => g.keepPaths !== undefined && g.spans.length > 0);
  order.sort((a, b) => b.bytes * b.spans.length - a.bytes * a.spans.length);
  for (const g of order) {
    kept.add(g);
    if (misfitOf(predict(arrange(), ctx), ctx.config) !== undefined) kept.delete(g);
  }
  if (kept.size === 0 || kept.size === layout.groups.length) return undefined;
  const what = layout.kind.level === 'leaf' ? 'leaf groups' : `block(${layout.kind.blocksPerGroup}) groups`;
  return draft(`partial: ${kept.size} of ${layout.groups.length} ${what} resident${disk ? ' + disk' : ''}`, arrange(), ctx);
}
