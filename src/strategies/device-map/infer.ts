import { assertModule } from '../../models/assertModule.js';
import { type Module } from '../../models/Module.js';
import { getModuleOptions } from '../../models/reflection.js';
import { normalizeMaxMemory } from './devices.js';
import { computeModuleSizes, type ModuleSizeOptions } from './sizes.js';
import type { DeviceMap, MaxMemory } from '../../models/deviceTypes.js';

export interface InferDeviceMapOptions extends ModuleSizeOptions {
  /** Budgets per device; see normalizeMaxMemory for the defaults. */
  maxMemory?: MaxMemory;
  /** Classes (or class names) never split across devices; classes declared @module({ noSplit: true }) are added. */
  noSplitModuleClasses?: ReadonlyArray<string | Function>;
}

/** One item of the work list: a module, or a parameter owned directly by a module that was split. */
interface Entry {
  name: string;
  module: Module | undefined;
  size: number;
}

/**
 * accelerate's infer_auto_device_map (diffusers-semantics §6.3): walks the root's direct parameters and
 * children in order, filling each device in turn. On the first compute device and on 'host' (the devices
 * offloaded layers are brought to) room is kept for the largest layer still to place. A module that does
 * not fit is split into its parameters and children, unless it is a leaf or a no-split class: then the
 * walk moves on to the next device ('host', then 'disk', which is unlimited). The result is cleaned:
 * entries whose siblings all share a device are merged under their parent.
 *
 * @example inferAutoDeviceMap(model, { maxMemory: { device: '1GB', host: '4GB' } }) // { 'blocks.0': 'device', … }
 */
export function inferAutoDeviceMap(module: Module, options: InferDeviceMapOptions = {}): DeviceMap {
  assertModule(module, 'inferAutoDeviceMap');
  const budgets = normalizeMaxMemory(options.maxMemory, 'inferAutoDeviceMap');
  const sizes = computeModuleSizes(module, options);
  const noSplit = noSplitTest(options.noSplitModuleClasses);
  const devices = [...budgets.keys()];
  const main = new Set([devices[0]!, 'host']);
  const layerMax = new Map<Entry, number>();
  const layerSize = (e: Entry): number => {
    let v = layerMax.get(e);
    if (v === undefined) layerMax.set(e, (v = maxLayer(e, sizes, noSplit)));
    return v;
  };

  const map: DeviceMap = {};
  const used = new Map(devices.map((d) => [d, 0]));
  const queue = split({ name: '', module, size: sizes.get('')! }, sizes);
  let current = 0;
  while (queue.length > 0) {
    const entry = queue.shift()!;
    const device = devices[current]!;
    // Room for the largest layer still waiting (modules only, as accelerate), so it can always be onloaded.
    const reserve = main.has(device) ? Math.max(0, ...queue.filter((e) => e.module !== undefined).map(layerSize)) : 0;
    const budget = budgets.get(device)! - reserve;
    if (used.get(device)! + entry.size <= budget) {
      map[entry.name] = device;
      used.set(device, used.get(device)! + entry.size);
      continue;
    }
    const m = entry.module;
    if (m === undefined || m.namedChildren().length === 0 || noSplit(m)) {
      current++;
      queue.unshift(entry);
    } else {
      queue.unshift(...split(entry, sizes));
    }
  }
  return cleanDeviceMap(map);
}

/** A module's direct parameters, then its children, as work-list entries (accelerate's order). */
function split(entry: Entry, sizes: Map<string, number>): Entry[] {
  const m = entry.module!;
  const prefix = entry.name === '' ? '' : `${entry.name}.`;
  return [
    ...m.namedParameters({ recurse: false }).map(([k]) => ({ name: prefix + k, module: undefined, size: sizes.get(prefix + k)! })),
    ...m.namedChildren().map(([k, child]) => ({ name: prefix + k, module: child, size: sizes.get(prefix + k)! })),
  ];
}

/** Size of the largest layer (a leaf or a no-split module) inside an entry. */
function maxLayer(entry: Entry, sizes: Map<string, number>, noSplit: (m: Module) => boolean): number {
  const m = entry.module;
  if (m === undefined) return 0;
  if (m.namedChildren().length === 0 || noSplit(m)) return entry.size;
  return Math.max(0, ...split(entry, sizes).map((e) => maxLayer(e, sizes, noSplit)));
}

export function noSplitTest(classes: ReadonlyArray<string | Function> | undefined): (m: Module) => boolean {
  const names = new Set((classes ?? []).map((c) => (typeof c === 'function' ? c.name : c)));
  return (m) => getModuleOptions(m).noSplit === true || names.has(m.constructor.name) || (getModuleOptions(m).name !== undefined && names.has(getModuleOptions(m).name!));
}

/**
 * accelerate's clean_device_map: when every entry under a prefix has the same device (and there is more
 * than one), they become one entry for the prefix; then the same for each child prefix. Prefixes end at a
 * dot, so 'blocks.1' never gathers 'blocks.10'.
 */
export function cleanDeviceMap(map: DeviceMap, moduleName = ''): DeviceMap {
  const prefix = moduleName === '' ? '' : `${moduleName}.`;
  const under = Object.keys(map).filter((k) => k === moduleName || k.startsWith(prefix));
  const values = new Set(under.map((k) => map[k]));
  if (values.size === 1 && under.length > 1) {
    const device = map[under[0]!]!;
    for (const k of under) delete map[k];
    map[moduleName] = device;
  }
  const depth = moduleName === '' ? 1 : moduleName.split('.').length + 1;
  const children = new Set(
    Object.keys(map)
      .filter((k) => k.startsWith(prefix) && k.length > moduleName.length)
      .map((k) => k.split('.').slice(0, depth).join('.')),
  );
  for (const child of children) if (child !== moduleName) cleanDeviceMap(map, child);
  return map;
}
