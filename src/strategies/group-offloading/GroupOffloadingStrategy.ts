import { HookRegistry, type HookHandle } from '../../hooks/HookRegistry.js';
import { checkHookGuard } from '../../hooks/hookGuard.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import type { Tier } from '../../models/dtypes.js';
import { memory } from '../../runtime/memory.js';
import { strategy } from '../registry.js';
import { Strategy, type Undo } from '../Strategy.js';
import { createStore } from './createStore.js';
import { GroupOffloadingHook } from './GroupOffloadingHook.js';
import { GroupRuntime } from './GroupRuntime.js';
import { DiskHomes } from './homes.js';
import type { HostStore } from './stores.js';
import type { ModuleGroup } from './ModuleGroup.js';
import { buildGroups } from './grouping.js';
import { GROUP_OFFLOADING, GROUP_OFFLOADING_HOOK, offloadingConflicts } from '../shared/offloadingNames.js';
import { resolveConfig, type GroupOffloadingOptions } from './options.js';

/**
 * Group offloading as a strategy plugin: cuts the tree into groups (block or leaf level), moves each
 * group's weights off the device, and hooks the modules that onload them. See docs/group-offloading.md.
 */
@strategy(GROUP_OFFLOADING)
export class GroupOffloadingStrategy extends Strategy<GroupOffloadingOptions | undefined> {
  override readonly freesDeviceMemory = true;
  override readonly conflictsWith = offloadingConflicts(GROUP_OFFLOADING);

  override validate(module: Module, options: GroupOffloadingOptions | undefined): void {
    resolveConfig(module, options);
  }

  override apply(root: Module, options: GroupOffloadingOptions | undefined): Undo {
    const config = resolveConfig(root, options);
    const { groups, groupOf, resident } = buildGroups(root, config);
    // A module that refuses hooks (a scope of a graph run as a whole) refuses here, before any weight moves.
    for (const m of groupOf.keys()) checkHookGuard(m, GROUP_OFFLOADING_HOOK);
    // Where each weight starts: remove() puts it back there. Weights on the disk tier keep their file as home.
    const tiers = new Map<Parameter, Tier>(root.parameters().map((p) => [p, p.tier]));
    const homes = new DiskHomes(root.parameters());
    // keepResident weights that start on the host (or disk) come to the device (within the budget) and stay there.
    const toResident = resident.filter((p) => !p.isResident);
    const store = createStore(root, config, groups);
    if (store.tier === 'host') (store as HostStore).homes = homes;
    const runtime = new GroupRuntime(root, config, groups, store, resident, homes);
    const putBack = (p: Parameter): void => {
      if (tiers.get(p) === 'host') p.toHost();
      else homes.sendHome(p);
    };
    const handles: HookHandle[] = [];
    let undone = false;
    const undo = (): void => {
      if (undone) return;
      runtime.restoreAll();
      for (const h of handles.reverse()) h.remove();
      for (const p of toResident) putBack(p);
      for (const g of groups) for (const p of g.params) if (tiers.get(p) === 'host') p.toHost();
      undone = true;
    };
    try {
      // Offloading at apply writes files (disk) before any hook exists: a failure leaves the model as it was.
      store.prepare?.();
      for (const g of groups) store.offloadInitial(g);
      // Checked once the groups are off the device: a budget the resident model exceeds is the reason to offload.
      memory.assertDeviceBudget(toResident.reduce((n, p) => n + p.byteLength, 0), 'the keepResident weights', 'Keep fewer modules resident.');
      for (const p of toResident) p.toDevice();
      const register = (m: Module, group: ModuleGroup | undefined, isRoot: boolean): void => {
        handles.push(HookRegistry.checkIfExistsOrInitialize(m).registerHook(new GroupOffloadingHook(runtime, group, isRoot), GROUP_OFFLOADING_HOOK));
      };
      for (const [m, g] of groupOf) if (m !== root) register(m, g, false);
      // The root's hook registers last so that it is outermost on the root.
      register(root, groupOf.get(root), true);
    } catch (error) {
      // Put back what apply changed (hooks registered so far are removed by applyStrategy's roll-back too).
      for (const h of handles.reverse()) h.remove();
      for (const g of groups) if (g.state !== 'device') runtime.restoreGroup(g);
      for (const p of toResident) putBack(p);
      for (const g of groups) for (const p of g.params) if (tiers.get(p) === 'host') p.toHost();
      runtime.close();
      throw error;
    }
    return { remove: undo };
  }
}
