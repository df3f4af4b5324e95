import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, type HookHandle } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import type { DiskRef, Parameter } from '../../models/Parameter.js';
import { ParameterLeases } from '../shared/ParameterLeases.js';
import { DEVICE_MAP, offloadingConflicts } from '../shared/offloadingNames.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { wrapDiskWriteFailure } from '../../base/actionable.js';
import { describeValue } from '../../models/paths.js';
import { checkOptionKeys } from '../optionKeys.js';
import { applyStrategy, strategy } from '../registry.js';
import { Strategy, type StrategyHandle, type Undo } from '../Strategy.js';
import { backendOf, moveToBackend, withBackend } from './backends.js';
import { isComputeDevice } from './devices.js';
import { BackendHook, DEVICE_MAP_BACKEND_HOOK, DEVICE_MAP_DISK_HOOK, DEVICE_MAP_ONLOAD_HOOK, DiskOnloadHook, HostOnloadHook } from './hooks.js';
import { removeOffloadFiles, writeOffloadFile } from './disk.js';
import { setMapInForce } from '../../models/keys/mapInForce.js';
import { entryFor, validateDeviceMap } from './placement.js';
import type { Device, DeviceMap } from '../../models/deviceTypes.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    device_map: OptionsOf<DeviceMapStrategy>;
  }
}

export interface DispatchOptions {
  /** Folder for weights the map puts on 'disk'. */
  offloadFolder?: string;
}

interface DeviceMapOptions extends DispatchOptions {
  deviceMap: DeviceMap;
}

/** Where a parameter was before dispatch, so that remove() puts it back exactly. */
interface Snapshot {
  param: Parameter;
  backend: string | undefined;
  diskRef: DiskRef | undefined;
}

/**
 * accelerate's dispatch_model as a strategy: places every weight where the map says and attaches the hooks
 * the map implies. Compute devices ('device' = the backend active at dispatch, or a backend name) hold
 * their weights there and, when the map uses more than one backend, run their forward on it; 'host'
 * weights stay in host memory and 'disk' weights in files (offloadFolder, or the checkpoint they were loaded
 * from), both onloaded for their module's forward only.
 */
@strategy(DEVICE_MAP)
export class DeviceMapStrategy extends Strategy<DeviceMapOptions> {
  override readonly freesDeviceMemory = true;
  override readonly conflictsWith = offloadingConflicts(DEVICE_MAP);

  override validate(module: Module, options: DeviceMapOptions): void {
    validateDeviceMap(module, options?.deviceMap, { offloadFolder: options?.offloadFolder });
  }

  override apply(module: Module, options: DeviceMapOptions): Undo {
    const map = options.deviceMap;
    const home = tf.getBackend();
    const backendFor = (d: Device) => (d === 'device' ? home : d);
    const params = module.namedParameters();
    const snapshots: Snapshot[] = params.map(([, p]) => ({ param: p, backend: p.isResident ? backendOf(p.storedTensor()!) : undefined, diskRef: p.diskRef }));
    const handles: HookHandle[] = [];
    const leases = new ParameterLeases();
    const diskCounts = new Map<Parameter, number>();
    const written: string[] = [];
    const undo = (): void => {
      setMapInForce(module, undefined);
      for (const h of handles.reverse()) h.remove();
      leases.clear();
      diskCounts.clear();
      restore(snapshots);
      removeOffloadFiles(written);
    };
    try {
      const placeOf = new Map<Parameter, Device>(params.map(([name, p]) => [p, map[entryFor(map, name)!]!]));
      for (const [p, device] of placeOf) if (device !== 'disk') place(p, device === 'host' ? undefined : backendFor(device));
      for (const [path, m] of module.namedModules()) {
        const own = m.namedParameters({ recurse: false });
        const host = own.map(([, p]) => p).filter((p) => placeOf.get(p) === 'host');
        if (host.length > 0) handles.push(HookRegistry.checkIfExistsOrInitialize(m).registerHook(new HostOnloadHook(leases, host), DEVICE_MAP_ONLOAD_HOOK));
        const disk = own.filter(([, p]) => placeOf.get(p) === 'disk');
        if (disk.length > 0) handles.push(HookRegistry.checkIfExistsOrInitialize(m).registerHook(new DiskOnloadHook(diskCounts, toDisk(disk, path, options.offloadFolder!, written)), DEVICE_MAP_DISK_HOOK));
      }
      const backends = new Set(Object.values(map).filter(isComputeDevice).map(backendFor));
      if (backends.size > 1 || (backends.size === 1 && !backends.has(home))) {
        for (const [m, backend] of backendModules(module, map, backendFor)) {
          handles.push(HookRegistry.checkIfExistsOrInitialize(m).registerHook(new BackendHook(backend), DEVICE_MAP_BACKEND_HOOK));
        }
      }
      setMapInForce(module, map);
    } catch (error) {
      undo();
      // A full disk or a missing permission under offloadFolder is said first, with the bytes it needed.
      const diskBytes = params.reduce((n, [name, p]) => n + (map[entryFor(map, name)!] === 'disk' && p.diskRef === undefined ? p.byteLength : 0), 0);
      throw wrapDiskWriteFailure({ what: 'The device map', folder: options.offloadFolder ?? 'offloadFolder', bytesNeeded: diskBytes, option: 'offloadFolder' }, error);
    }
    return { remove: undo };
  }
}

/**
 * Puts a module's disk-mapped weights on the disk tier: weights already there (loaded by fromPretrained
 * with a reference into the checkpoint) keep their file; the others are written to the offload folder.
 */
function toDisk(own: Array<[string, Parameter]>, modulePath: string, folder: string, written: string[]): Array<[Parameter, DiskRef]> {
  const fresh = own.filter(([, p]) => p.diskRef === undefined);
  const refs = new Map<Parameter, DiskRef>();
  if (fresh.length > 0) {
    const file = writeOffloadFile(folder, modulePath, fresh);
    written.push(file.path);
    for (const [p, ref] of file.refs) refs.set(p, ref);
  }
  return own.map(([, p]) => {
    const ref = p.diskRef ?? refs.get(p)!;
    p.toDisk(ref);
    return [p, ref];
  });
}

/**
 * Every module whose entry names a compute device, with that entry's backend: the entry's own module and
 * every module below it that no more specific entry covers. Not just the entry's module: a container such as a
 * ModuleList is never called (its parent calls each block), so a hook on it alone would never run, and its
 * blocks would run on whatever backend their caller runs on. A module whose forward is called inside an
 * ancestor that already switched finds the backend active, and its hook does nothing.
 */
function backendModules(root: Module, map: DeviceMap, backendFor: (d: Device) => string): Array<[Module, string]> {
  const out: Array<[Module, string]> = [];
  for (const [path, m] of root.namedModules()) {
    const key = entryFor(map, path);
    if (key === undefined) continue;
    const device = map[key]!;
    if (isComputeDevice(device)) out.push([m, backendFor(device)]);
  }
  return out;
}

/** Puts a weight on a backend (uploading from the host, or moving between backends) or on the host. */
function place(p: Parameter, backend: string | undefined): void {
  if (backend === undefined) {
    p.toHost();
  } else if (p.isResident) {
    // The stored tensor (a cast weight's codes): read() has values only inside a forward.
    moveToBackend(p.storedTensor()!, backend);
  } else {
    withBackend(backend, () => p.toDevice());
  }
}

function restore(snapshots: Snapshot[]): void {
  for (const { param, backend, diskRef } of snapshots) {
    if (param.isDisposed) continue;
    param.dropHostCopy();
    if (diskRef !== undefined) param.toDisk(diskRef);
    else place(param, backend);
  }
}

/**
 * Places a model's weights as `deviceMap` says and attaches the hooks it implies (accelerate's
 * dispatch_model). The map is checked completely first: unknown modules, uncovered parameters, unknown or
 * uninitialized backends and 'disk' without an offloadFolder are refused with the offending keys listed,
 * and nothing changes. remove() puts every weight back where it was.
 *
 * @example
 * await useBackend('wasm'); await useBackend('cpu'); // both initialized; cpu active
 * const handle = dispatchModel(model, { 'blocks.0': 'cpu', 'blocks.1': 'wasm', head: 'host' });
 */
export function dispatchModel(module: Module, deviceMap: DeviceMap, options: DispatchOptions = {}): StrategyHandle {
  // Checked here, where the user's keys are still apart from the map: a misspelt offloadFolder would be ignored.
  const { offloadFolder } = checkOptionKeys('dispatchModel', options, ['offloadFolder']) as DispatchOptions;
  if (offloadFolder !== undefined && (typeof offloadFolder !== 'string' || offloadFolder.trim() === '')) {
    throw new InvalidArgumentError(`dispatchModel: \`offloadFolder\` must be a folder path (a non-empty string), got ${describeValue(offloadFolder)}.`);
  }
  return applyStrategy(module, DEVICE_MAP, { ...options, deviceMap });
}
