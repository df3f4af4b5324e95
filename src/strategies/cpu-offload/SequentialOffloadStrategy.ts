import { HookRegistry, type HookHandle } from '../../hooks/HookRegistry.js';
import { checkHookGuard } from '../../hooks/hookGuard.js';
import { InvalidArgumentError } from '../../base/errors.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { ModuleFiles } from './ModuleFiles.js';
import { describeModule, describeValue } from '../../models/paths.js';
import { SEQUENTIAL_OFFLOAD, offloadingConflicts } from '../shared/offloadingNames.js';
import { strategy } from '../registry.js';
import { Strategy, type Undo } from '../Strategy.js';
import { checkOptionKeys } from '../optionKeys.js';
import { resolveExecutionDevice } from './options.js';
import { ParameterLeases } from '../shared/ParameterLeases.js';
import { SequentialOffloadHook } from './SequentialOffloadHook.js';
import { TierSnapshot } from './TierSnapshot.js';

/** The options of applySequentialOffload (accelerate's cpu_offload in camelCase). */
export interface SequentialOffloadOptions {
  /** Where the weights compute: 'device' (the active backend, the default) or its name. */
  executionDevice?: string;
  /**
   * A folder: each module's own weights wait in one safetensors file there instead of host memory
   * (accelerate's disk_offload). Weights shared by several modules stay in host memory.
   */
  offloadToDiskPath?: string;
}

const FN = 'applySequentialOffload';
const KNOWN = ['executionDevice', 'offloadToDiskPath'] as const;

function resolve(module: Module, options: SequentialOffloadOptions | undefined): void {
  const o = checkOptionKeys(FN, options, KNOWN);
  const disk = o.offloadToDiskPath;
  if (disk !== undefined && (typeof disk !== 'string' || disk.trim() === '')) {
    throw new InvalidArgumentError(`${FN}: \`offloadToDiskPath\` must be a folder path (a non-empty string), got ${describeValue(disk)}.`);
  }
  resolveExecutionDevice(FN, o.executionDevice);
  if (module.parameters().length === 0) {
    throw new InvalidArgumentError(`${FN}: module ${describeModule(module)} has no parameters, so there is nothing to offload.`);
  }
}

/** A module that owns weights directly: those only it owns, and those another module owns too (tied). */
interface Owner {
  module: Module;
  path: string;
  exclusive: Parameter[];
  shared: Parameter[];
}

function ownersOf(root: Module): Owner[] {
  const owned = root.namedModules().map(([path, module]) => ({ path: path === '' ? module.constructor.name : path, module, own: module.parameters({ recurse: false }) }));
  const count = new Map<Parameter, number>();
  for (const o of owned) for (const p of o.own) count.set(p, (count.get(p) ?? 0) + 1);
  return owned
    .filter((o) => o.own.length > 0)
    .map((o) => ({ module: o.module, path: o.path, exclusive: o.own.filter((p) => count.get(p) === 1), shared: o.own.filter((p) => count.get(p)! > 1) }));
}

/** Sequential offload as a strategy: see applySequentialOffload. */
@strategy(SEQUENTIAL_OFFLOAD)
export class SequentialOffloadStrategy extends Strategy<SequentialOffloadOptions | undefined> {
  override readonly freesDeviceMemory = true;
  override readonly conflictsWith = offloadingConflicts(SEQUENTIAL_OFFLOAD);

  override validate(module: Module, options: SequentialOffloadOptions | undefined): void {
    resolve(module, options);
  }

  override apply(root: Module, options: SequentialOffloadOptions | undefined): Undo {
    resolve(root, options);
    const snapshot = new TierSnapshot(root.parameters());
    const leases = new ParameterLeases();
    const owners = ownersOf(root);
    // A module that refuses hooks (a scope of a graph run as a whole) refuses here, before any weight moves.
    for (const o of owners) checkHookGuard(o.module, SEQUENTIAL_OFFLOAD);
    const files = options?.offloadToDiskPath === undefined ? undefined : new ModuleFiles(options.offloadToDiskPath);
    const handles: HookHandle[] = [];
    const unhook = (): void => {
      for (const h of handles.splice(0).reverse()) h.remove();
    };
    try {
      snapshot.offloadAll();
      // Files are written before any hook exists: a failure leaves the model as it was.
      files?.write(owners.filter((o) => o.exclusive.length > 0).map((o) => ({ path: o.path, params: o.exclusive })));
      for (const o of owners) {
        const entry = files?.entryOf(o.exclusive);
        if (entry !== undefined) files!.offload(entry);
        const viaLeases = entry === undefined ? [...o.shared, ...o.exclusive] : o.shared;
        const hook = new SequentialOffloadHook(leases, viaLeases, entry === undefined ? undefined : { files: files!, entry });
        handles.push(HookRegistry.checkIfExistsOrInitialize(o.module).registerHook(hook, SEQUENTIAL_OFFLOAD));
      }
    } catch (error) {
      unhook();
      snapshot.restore();
      files?.close();
      throw error;
    }
    return {
      remove: () => {
        snapshot.assertRestorable(`every weight of ${describeModule(root)} (removing sequential offload)`);
        const fromDisk = files?.readAll();
        unhook();
        leases.clear();
        snapshot.restore(fromDisk);
        files?.close();
      },
    };
  }
}
