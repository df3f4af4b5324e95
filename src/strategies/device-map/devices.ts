import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { parseSize } from '../../runtime/size.js';
import { defaultMaxMemory } from './maxMemory.js';
import type { MaxMemory } from '../../models/deviceTypes.js';

/** 'device' or a registered tfjs backend name: tiers where kernels run. */
export function isComputeDevice(device: string): boolean {
  return device === 'device' || isBackendName(device);
}

export function isBackendName(name: string): boolean {
  return name !== 'host' && name !== 'disk' && name !== 'device' && name in (tf.engine() as unknown as { registryFactory: object }).registryFactory;
}

/** A backend a module may be placed on must be initialized already, so that switching to it is synchronous. */
export function assertBackendReady(name: string, where: string): void {
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  if (registry[name] == null) {
    throw new MemhooksError(
      ERROR_CODES.BACKEND_UNAVAILABLE,
      `${where} places modules on the "${name}" backend, which is not initialized. Call await useBackend('${name}') once ` +
        `(then switch back to your main backend) before dispatching, so that forwards can switch to it synchronously.`,
    );
  }
}

/**
 * Budgets in walk order, as accelerate's get_max_memory: compute devices in the order given, then 'host',
 * then 'disk' (always last, unlimited). Without `maxMemory`: defaultMaxMemory() (the device budget in force,
 * else the host's free memory, for 'device'; the host's free memory for 'host'). With it, only the tiers it
 * names (and 'disk').
 */
export function normalizeMaxMemory(maxMemory: MaxMemory | undefined, where: string): Map<string, number> {
  const out = new Map<string, number>();
  if (maxMemory === undefined) {
    const defaults = defaultMaxMemory();
    out.set('device', defaults.device.bytes);
    out.set('host', defaults.host.bytes);
  } else {
    if (maxMemory === null || typeof maxMemory !== 'object') throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${where}: maxMemory must be an object such as { device: '2GB', host: '8GB' }.`);
    const keys = Object.keys(maxMemory);
    const unknown = keys.filter((k) => !isComputeDevice(k) && k !== 'host' && k !== 'disk');
    if (unknown.length > 0) {
      throw new MemhooksError(
        ERROR_CODES.INVALID_DEVICE_MAP,
        `${where}: maxMemory names unknown devices ${unknown.map((k) => JSON.stringify(k)).join(', ')}. Use 'device', a registered backend name, 'host' or 'disk'.`,
      );
    }
    for (const k of keys.filter(isComputeDevice)) out.set(k, parseSize(maxMemory[k]!, `maxMemory.${k}`));
    if ('host' in maxMemory) out.set('host', parseSize(maxMemory['host']!, 'maxMemory.host'));
  }
  out.set('disk', Infinity);
  return out;
}
