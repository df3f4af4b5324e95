import { ModuleList } from '../../models/ModuleList.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { Conv2d } from '../../models/layers/Conv2d.js';
import { ConvTranspose2d } from '../../models/layers/ConvTranspose2d.js';
import { Embedding } from '../../models/layers/Embedding.js';
import { GroupNorm } from '../../models/layers/GroupNorm.js';
import { LayerNorm } from '../../models/layers/LayerNorm.js';
import { Linear } from '../../models/layers/Linear.js';
import { RMSNorm } from '../../models/layers/RMSNorm.js';
import { isGraphLeaf } from '../../models/wrapped/GraphScope.js';
import { WrappedLayer } from '../../models/wrapped/WrappedModules.js';
import { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';

/** Leaves that are a group of their own at leaf level (diffusers' list, plus the norms and wrapped tfjs layers). */
const SUPPORTED_LEAVES: ReadonlyArray<abstract new (...args: any[]) => Module> = [
  Linear, Conv2d, ConvTranspose2d, Embedding, GroupNorm, LayerNorm, RMSNorm, WrappedLayer,
];

export function isSupportedLeaf(m: Module): boolean {
  // A wrapped GraphModel's innermost weighted scope is a leaf as a wrapped tfjs layer is.
  return SUPPORTED_LEAVES.some((cls) => m instanceof cls) || isGraphLeaf(m);
}

export interface Grouping {
  groups: ModuleGroup[];
  /** The group each hooked module onloads (a module is hooked for at most one group). */
  groupOf: Map<Module, ModuleGroup>;
  /** Weights that never leave the device: keepResident modules', and weights shared by two groups. */
  resident: Parameter[];
}

const join = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

/** Every parameter under `path` (the module at `path` included), by the root's canonical paths. */
function paramsUnder(all: ReadonlyArray<[string, Parameter]>, path: string): Parameter[] {
  if (path === '') return all.map(([, p]) => p);
  return all.filter(([p]) => p.startsWith(path + '.')).map(([, p]) => p);
}

/** Cuts `root` into groups per the config. */
export function buildGroups(root: Module, config: GroupOffloadingConfig): Grouping {
  const all = root.namedParameters();
  const raw = config.offloadType === 'block_level' ? blockLevel(root, all, config) : leafLevel(root, all);
  return finish(all, raw, config);
}

interface RawGroup {
  id: string;
  modules: Module[];
  params: Parameter[];
  /** Whether the modules read every weight under them (a leaf, a block) or only `params` (an owner, the root's rest). */
  whole: boolean;
}

/**
 * Block level: each direct ModuleList/Sequential child is cut into chunks of numBlocksPerGroup, each
 * blockModules path is a group of its own, and everything else (other children, the root's own weights)
 * forms one group onloaded for the whole root forward.
 */
function blockLevel(root: Module, all: ReadonlyArray<[string, Parameter]>, config: GroupOffloadingConfig): RawGroup[] {
  const groups: RawGroup[] = [];
  const handled = new Set<Parameter>();
  const take = (params: Parameter[]): Parameter[] => params.filter((p) => !handled.has(p) && (handled.add(p), true));
  for (const path of config.blockModules) {
    groups.push({ id: path, modules: [root.getSubmodule(path)], params: take(paramsUnder(all, path)), whole: true });
  }
  for (const [name, child] of root.namedChildren()) {
    if (!(child instanceof ModuleList) || config.blockModules.includes(name)) continue;
    // A block named in blockModules is already a group of its own.
    const blocks = child.namedChildren().filter(([key]) => !config.blockModules.includes(join(name, key)));
    for (let i = 0; i < blocks.length; i += config.numBlocksPerGroup) {
      const chunk = blocks.slice(i, i + config.numBlocksPerGroup);
      const params = take(chunk.flatMap(([key]) => paramsUnder(all, join(name, key))));
      groups.push({ id: `${name}_${chunk[0]![0]}_${chunk[chunk.length - 1]![0]}`, modules: chunk.map(([, m]) => m), params, whole: true });
    }
  }
  const rest = take(all.map(([, p]) => p));
  groups.push({ id: `${root.constructor.name}_unmatched_group`, modules: [root], params: rest, whole: false });
  return groups;
}

/**
 * Leaf level: every supported leaf is a group; every other module that owns weights directly gets a
 * parameter-only group onloaded for its own forward.
 */
function leafLevel(root: Module, all: ReadonlyArray<[string, Parameter]>): RawGroup[] {
  const groups: RawGroup[] = [];
  const handled = new Set<Parameter>();
  const visit = (m: Module, path: string): void => {
    if (isSupportedLeaf(m)) {
      const params = paramsUnder(all, path).filter((p) => !handled.has(p));
      params.forEach((p) => handled.add(p));
      groups.push({ id: path, modules: [m], params, whole: true });
      return;
    }
    const own = m.namedParameters({ recurse: false }).map(([, p]) => p).filter((p) => !handled.has(p));
    own.forEach((p) => handled.add(p));
    if (own.length > 0) groups.push({ id: path, modules: [m], params: own, whole: false });
    for (const [key, child] of m.namedChildren()) visit(child, join(path, key));
  };
  visit(root, '');
  return groups;
}

/** Drops keepResident weights and weights used by two groups from every group; drops empty groups. */
function finish(all: ReadonlyArray<[string, Parameter]>, raw: RawGroup[], config: GroupOffloadingConfig): Grouping {
  const resident = new Set<Parameter>();
  if (Array.isArray(config.keepResident)) for (const path of config.keepResident) paramsUnder(all, path).forEach((p) => resident.add(p));
  // A weight read by modules of two groups (tied weights) would be offloaded under the other group's feet.
  const uses = new Map<Parameter, number>();
  for (const g of raw) {
    const inGroup = new Set(g.whole ? g.modules.flatMap((m) => m.parameters()) : g.params);
    for (const p of inGroup) uses.set(p, (uses.get(p) ?? 0) + 1);
  }
  for (const [p, n] of uses) if (n > 1) resident.add(p);
  const groups: ModuleGroup[] = [];
  const groupOf = new Map<Module, ModuleGroup>();
  for (const g of raw) {
    const params = g.params.filter((p) => !resident.has(p));
    if (params.length === 0) continue;
    const group = new ModuleGroup(g.id, g.modules, params);
    groups.push(group);
    for (const m of g.modules) groupOf.set(m, group);
  }
  return { groups, groupOf, resident: [...resident] };
}
