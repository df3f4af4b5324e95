import { join } from '../base/platform/path.js';
import type { Module } from '../models/Module.js';
import type { DiskRef, Parameter } from '../models/Parameter.js';
import { applyGroupOffloading, type GroupOffloadingOptions } from '../strategies/group-offloading/index.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { codeOf } from './code.js';
import { groupOptions } from './layouts.js';
import type { Arrangement } from './predict.js';

/** The name of the handle a plan's apply() returns. */
export const MEMORY_PLAN = 'memory_plan';

/** One handle over several: remove() takes them off newest first; removed once all are. */
export function compositeHandle(module: Module, handles: readonly StrategyHandle[]): StrategyHandle {
  const all = [...handles];
  const handle: StrategyHandle = {
    name: MEMORY_PLAN,
    module,
    get removed() {
      return all.every((h) => h.removed);
    },
    remove() {
      for (const h of [...all].reverse()) h.remove();
    },
    [Symbol.dispose]() {
      handle.remove();
    },
  };
  return handle;
}

/** Brings weights on the host or disk tier to the device; remove() sends each back where it was. */
function residentHandle(root: Module): StrategyHandle {
  const moved: Array<[Parameter, DiskRef | undefined]> = [];
  for (const p of root.parameters()) {
    if (p.isResident) continue;
    moved.push([p, p.tier === 'disk' ? p.diskRef : undefined]);
    p.toDevice();
  }
  let removed = false;
  const handle: StrategyHandle = {
    name: MEMORY_PLAN,
    module: root,
    get removed() {
      return removed;
    },
    remove() {
      if (removed) return;
      removed = true;
      for (const [p, ref] of moved) {
        if (p.isDisposed) continue;
        if (ref !== undefined) p.toDisk(ref);
        else p.toHost();
      }
    },
    [Symbol.dispose]() {
      handle.remove();
    },
  };
  return handle;
}

/** The group offloading calls of an arrangement: one per unit, with the kept groups' paths and its folder. */
function offloadCalls(root: Module, a: Arrangement, offloadDir: string | undefined): Array<{ unit: Module; path: string; options: GroupOffloadingOptions }> {
  if (a.layout === undefined) return [];
  const layout = a.layout;
  const pathOf = new Map(root.namedModules().map(([p, m]) => [m, p] as [Module, string]));
  return layout.units.map((unit) => {
    const path = pathOf.get(unit) ?? '';
    const keepResident = layout.groups.filter((g) => g.unit === unit && a.kept.has(g)).flatMap((g) => g.keepPaths ?? []);
    const folder = a.disk ? { offloadToDiskPath: join(offloadDir!, path || 'root') } : {};
    return { unit, path, options: { ...groupOptions(layout.kind), useStream: a.stream, keepResident, ...folder } };
  });
}

/**
 * Applies an arrangement: its variant, then group offloading on each unit (keepResident: the kept groups'
 * paths; a folder per unit under offloadDir for disk), or, when nothing is offloaded, every weight on the
 * device. Anything applied before a failure comes off again.
 */
export function applyArrangement(root: Module, a: Arrangement, units: readonly Module[], offloadDir: string | undefined): StrategyHandle {
  const handles: StrategyHandle[] = [];
  try {
    handles.push(...a.profile.variant.apply(root, units));
    if (a.layout === undefined) handles.push(residentHandle(root));
    for (const call of offloadCalls(root, a, offloadDir)) handles.push(applyGroupOffloading(call.unit, call.options));
  } catch (error) {
    for (const h of handles.reverse()) h.remove();
    throw error;
  }
  return compositeHandle(root, handles);
}

/** What applyArrangement calls, as code a user could write: `applyGroupOffloading(denoiser, { … })`. */
export function describeArrangement(root: Module, a: Arrangement, offloadDir: string | undefined): string[] {
  const name = (path: string): string => (path === '' ? 'root' : `root.getSubmodule('${path}')`);
  const calls = a.profile.variant.calls === '' ? [] : [a.profile.variant.calls];
  if (a.layout === undefined) calls.push('every weight on the device');
  for (const { path, options } of offloadCalls(root, a, offloadDir)) {
    const keep = options.keepResident as readonly string[];
    const shown = keep.length <= 4 ? keep : [...keep.slice(0, 4), `… ${keep.length - 4} more`];
    calls.push(`applyGroupOffloading(${name(path)}, ${codeOf({ ...options, keepResident: keep.length === 0 ? undefined : shown })})`);
  }
  return calls;
}
