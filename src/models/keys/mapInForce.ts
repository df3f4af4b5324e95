import type { DeviceMap } from '../deviceTypes.js';

// Process-global, like the device budget: a module dispatched by one build of memhooks answers
// hfDeviceMap through the other build too. Weak keys: a dropped model takes its map with it.
const KEY = Symbol.for('memhooks.deviceMapInForce');
const maps = ((globalThis as Record<symbol, unknown>)[KEY] ??= new WeakMap<object, DeviceMap>()) as WeakMap<object, DeviceMap>;

/**
 * Records the map now in force on `module` (accelerate's `model.hf_device_map`): a frozen copy, so that a
 * caller changing its own object later does not change what the model reports. undefined forgets it.
 */
export function setMapInForce(module: object, map: DeviceMap | undefined): void {
  if (map === undefined) maps.delete(module);
  else maps.set(module, Object.freeze({ ...map }));
}

/** A fresh plain copy of the map in force on `module` (callers may edit it and dispatch it again), or undefined. */
export function mapInForce(module: object): DeviceMap | undefined {
  const map = maps.get(module);
  return map === undefined ? undefined : { ...map };
}
