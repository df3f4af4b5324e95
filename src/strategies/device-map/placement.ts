import { assertModule } from '../../models/assertModule.js';
import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import type { Module } from '../../models/Module.js';
import { assertBackendReady, isBackendName } from './devices.js';
import type { DeviceMap } from '../../models/deviceTypes.js';

/** The entry of `map` that covers `path`: the longest key equal to it or a dotted prefix of it. */
export function entryFor(map: DeviceMap, path: string): string | undefined {
  let best: string | undefined;
  for (const key of Object.keys(map)) {
    const covers = key === '' || path === key || path.startsWith(`${key}.`);
    if (covers && (best === undefined || key.length > best.length)) best = key;
  }
  return best;
}

export interface ValidateOptions {
  offloadFolder?: string;
  where?: string;
}

/**
 * Checks a device map against a model, as accelerate's check_device_map and more strictly: every key must
 * name a module or parameter of the model, every device must be known (a backend must be initialized),
 * every parameter must be covered, and 'disk' needs an offloadFolder. All offending keys are listed in one
 * error, and nothing has been changed when it throws.
 */
export function validateDeviceMap(module: Module, map: DeviceMap, options: ValidateOptions = {}): void {
  assertModule(module, options?.where ?? 'validateDeviceMap');
  const where = options.where ?? 'dispatchModel';
  if (map === null || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0) {
    throw invalidMap(`${where} needs a device map: an object of module paths to devices, e.g. { '': 'device' } or { 'blocks.0': 'device', 'blocks.1': 'host' }.`);
  }
  const modules = new Set(module.namedModules().map(([p]) => p));
  const params = module.namedParameters().map(([p]) => p);
  const paramSet = new Set(params);
  const unknown = Object.keys(map).filter((k) => !modules.has(k) && !paramSet.has(k));
  if (unknown.length > 0) {
    throw invalidMap(`${where}: the device map names ${list(unknown)}, which ${unknown.length === 1 ? 'is not a module or parameter' : 'are not modules or parameters'} of the model. Check the paths with model.namedModules().`);
  }
  const badDevice = Object.entries(map).filter(([, d]) => typeof d !== 'string' || (d !== 'device' && d !== 'host' && d !== 'disk' && !isBackendName(d)));
  if (badDevice.length > 0) {
    throw invalidMap(
      `${where}: the device map gives unknown devices to ${badDevice.map(([k, d]) => `${JSON.stringify(k)} (${JSON.stringify(d)})`).join(', ')}. Use 'device', 'host', 'disk' or a registered tfjs backend name (${Object.keys((tf.engine() as unknown as { registryFactory: object }).registryFactory).join(', ')}).`,
    );
  }
  const uncovered = params.filter((p) => entryFor(map, p) === undefined);
  if (uncovered.length > 0) {
    throw invalidMap(`${where}: the device map gives no device for the parameters ${list(uncovered)}. Add entries for them (or an entry for '' as a default).`);
  }
  const disk = Object.keys(map).filter((k) => map[k] === 'disk');
  if (disk.length > 0 && (typeof options.offloadFolder !== 'string' || options.offloadFolder === '')) {
    throw invalidMap(`${where}: the device map puts ${list(disk)} on 'disk', which needs an offloadFolder. Pass { offloadFolder: './offload' }.`);
  }
  for (const d of new Set(Object.values(map))) if (isBackendName(d)) assertBackendReady(d, where);
}

function list(keys: string[]): string {
  const shown = keys.slice(0, 20).map((k) => JSON.stringify(k)).join(', ');
  return keys.length > 20 ? `${shown} and ${keys.length - 20} more` : shown;
}

function invalidMap(message: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.INVALID_DEVICE_MAP, message);
}
