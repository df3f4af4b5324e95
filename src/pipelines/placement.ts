import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, type HookHandle } from '../hooks/HookRegistry.js';
import type { Module } from '../models/Module.js';
import { cpuOffloadWithHook } from '../strategies/cpu-offload/cpuOffloadWithHook.js';
import { backendOf, moveToBackend } from '../strategies/device-map/backends.js';
import { dispatchModel } from '../strategies/device-map/DeviceMapStrategy.js';
import { assertBackendReady } from '../strategies/device-map/devices.js';
import { BackendHook, DEVICE_MAP_BACKEND_HOOK } from '../strategies/device-map/hooks.js';
import type { Components } from './components.js';
import { HOST } from './balanced.js';

/** A placed pipeline: where each component went, and how to undo it. */
export interface Placement {
  map: Record<string, string>;
  undo(): void;
}

/**
 * Puts each component on its device. A device component is dispatched whole to its backend (its forward
 * runs there; outputs pass on bit for bit). A 'host' component gets model offload and runs on the first
 * device: its weights wait on the host and move there whole for its forward.
 */
export function placeComponents(components: Components, map: Record<string, string>, firstDevice: string): Placement {
  for (const d of new Set([...Object.values(map), firstDevice])) if (d !== HOST) assertBackendReady(d, 'Balanced placement');
  const undos: Array<() => void> = [];
  const undo = () => {
    for (const u of undos.splice(0).reverse()) u();
  };
  try {
    for (const [name, device] of Object.entries(map)) {
      const m = components[name]!;
      if (device !== HOST) {
        const h = dispatchModel(m, { '': device });
        undos.push(() => h.remove());
        continue;
      }
      const offload = cpuOffloadWithHook(m);
      undos.push(() => offload.remove());
      if (firstDevice !== tf.getBackend()) {
        const hook: HookHandle = HookRegistry.checkIfExistsOrInitialize(m).registerHook(new BackendHook(firstDevice), DEVICE_MAP_BACKEND_HOOK);
        undos.push(() => hook.remove());
      }
    }
  } catch (error) {
    undo();
    throw error;
  }
  return { map, undo };
}

/** Every weight of `m` onto the active backend (from the host or from another backend), bit for bit. */
export function gatherOnActiveBackend(m: Module): void {
  const active = tf.getBackend();
  for (const p of m.parameters()) {
    if (!p.isResident) p.toDevice();
    else if (backendOf(p.read()) !== active) moveToBackend(p.read(), active);
  }
}
