import { ModuleList } from '../models/ModuleList.js';
import type { Module } from '../models/Module.js';
import type { Parameter } from '../models/Parameter.js';
import { buildGroups } from '../strategies/group-offloading/grouping.js';
import { resolveConfig } from '../strategies/group-offloading/options.js';
import type { ModuleGroup } from '../strategies/group-offloading/ModuleGroup.js';
import { spansOf, type Span, type Timeline } from './timeline.js';

/**
 * How group offloading would cut the model, per unit, with when each group is on the device during the
 * sample. A unit is a module the planner applies group offloading to: the root when the sample runs the
 * root's forward, else the topmost modules below it whose forward runs (a pipeline's components).
 */
export type LayoutKind = { level: 'block'; blocksPerGroup: number } | { level: 'leaf' };

export interface PlannedGroup {
  readonly unit: Module;
  readonly id: string;
  readonly params: readonly Parameter[];
  /** Bytes of its weights as they are now, uncast (what an onloaded group holds on the device). */
  readonly bytes: number;
  readonly spans: readonly Span[];
  /** The unit-relative module paths that keep exactly this group resident (keepResident), if any do. */
  readonly keepPaths: readonly string[] | undefined;
}

export interface Layout {
  readonly kind: LayoutKind;
  readonly units: readonly Module[];
  readonly groups: readonly PlannedGroup[];
}

/** The modules group offloading is applied to: see Layout. */
export function unitsOf(root: Module, timeline: Timeline): Module[] {
  if (timeline.ran.has(root)) return [root];
  return root.children().flatMap((c) => (c.parameters().length === 0 ? [] : unitsOf(c, timeline)));
}

/** The group offloading options of a layout (keepResident, stream and disk are added by the candidate). */
export function groupOptions(kind: LayoutKind): { offloadType: 'block_level'; numBlocksPerGroup: number } | { offloadType: 'leaf_level' } {
  return kind.level === 'block' ? { offloadType: 'block_level', numBlocksPerGroup: kind.blocksPerGroup } : { offloadType: 'leaf_level' };
}

/**
 * Module paths whose weights are exactly the group's: a whole group's modules; for a parameter-only group
 * (a module's own weights, or the block level's "everything else"), its module's non-list children when
 * the module holds no weight of its own and those children hold exactly the group.
 */
function keepPathsOf(group: ModuleGroup, pathOf: Map<Module, string>): string[] | undefined {
  const want = new Set(group.params);
  const exact = (paths: Module[]): boolean => {
    const got = new Set(paths.flatMap((m) => m.parameters()));
    return got.size === want.size && [...got].every((p) => want.has(p));
  };
  if (exact([...group.modules])) return group.modules.map((m) => pathOf.get(m)!);
  if (group.modules.length !== 1) return undefined;
  const owner = group.modules[0]!;
  if (owner.parameters({ recurse: false }).length > 0) return undefined;
  const children = owner.children().filter((c) => !(c instanceof ModuleList) && c.parameters().some((p) => want.has(p)));
  return children.length > 0 && exact(children) ? children.map((c) => pathOf.get(c)!) : undefined;
}

/** The groups of `kind` on every unit, with their spans in the timeline. Units that refuse group offloading are left out. */
export function buildLayout(units: readonly Module[], kind: LayoutKind, timeline: Timeline): Layout {
  const groups: PlannedGroup[] = [];
  const used: Module[] = [];
  for (const unit of units) {
    let cut: ModuleGroup[];
    try {
      cut = buildGroups(unit, resolveConfig(unit, groupOptions(kind))).groups;
    } catch {
      continue; // @module({ supportsGroupOffloading: false }): its weights stay on the device
    }
    used.push(unit);
    const pathOf = new Map(unit.namedModules().map(([p, m]) => [m, p] as [Module, string]));
    for (const g of cut) {
      groups.push({
        unit,
        id: g.id,
        params: g.params,
        bytes: g.params.reduce((n, p) => n + p.byteLength, 0),
        spans: spansOf(timeline, g.modules),
        keepPaths: keepPathsOf(g, pathOf),
      });
    }
  }
  return { kind, units: used, groups };
}

/** The most blocks any ModuleList child of a unit holds: block level with more per group than this is one group. */
export function maxBlocks(units: readonly Module[]): number {
  let most = 0;
  for (const u of units) for (const c of u.children()) if (c instanceof ModuleList) most = Math.max(most, c.children().length);
  return most;
}
