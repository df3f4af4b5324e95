import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { formatBytes } from '../base/format.js';
import { parseSize } from '../runtime/size.js';
import { isBackendName } from '../strategies/device-map/devices.js';
import type { MaxMemory } from '../models/deviceTypes.js';

export const HOST = 'host';

/** diffusers refuses a pipeline-level 'auto' too (issue #11555): it is a per-model split. */
export function autoRefused(): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.INVALID_DEVICE_MAP,
    `deviceMap 'auto' splits one model by its modules and does not apply to a whole pipeline. Use 'balanced' to spread whole ` +
      `components, or give one component its own map: fromPretrained(dir, { componentOptions: { denoiser: { deviceMap: 'auto', maxMemory } } }).`,
  );
}

/**
 * Budgets for balanced placement: tfjs backend names ('device' standing for the active one) and 'host'.
 * Compute devices come back sorted by budget, largest first (stable for equal budgets).
 */
export function placementBudgets(maxMemory: MaxMemory | undefined): { devices: Array<[string, number]>; host: number | undefined } {
  if (maxMemory === undefined || maxMemory === null || typeof maxMemory !== 'object') {
    throw new MemhooksError(
      ERROR_CODES.INVALID_DEVICE_MAP,
      `deviceMap 'balanced' needs maxMemory, e.g. { wasm: '2GB', cpu: '4GB', host: '16GB' }: tfjs cannot ask most backends for their free memory.`,
    );
  }
  const devices: Array<[string, number]> = [];
  let host: number | undefined;
  for (const [key, size] of Object.entries(maxMemory)) {
    if (key === HOST) {
      host = parseSize(size, 'maxMemory.host');
      continue;
    }
    const name = backendNamed(key, 'maxMemory');
    if (devices.some(([d]) => d === name)) throw new MemhooksError(ERROR_CODES.INVALID_DEVICE_MAP, `maxMemory gives the "${name}" backend twice.`);
    devices.push([name, parseSize(size, `maxMemory.${key}`)]);
  }
  if (devices.length === 0) {
    throw new MemhooksError(ERROR_CODES.INVALID_DEVICE_MAP, `maxMemory has no compute device to place components on; give at least one backend budget, e.g. { wasm: '2GB' }.`);
  }
  devices.sort((a, b) => b[1] - a[1]);
  return { devices, host };
}

/** The backend a device name stands for ('device' is the active one); throws for anything that is not a registered backend. */
export function backendNamed(key: string, where: string): string {
  const name = key === 'device' ? tf.getBackend() : key;
  if (typeof name !== 'string' || !isBackendName(name)) {
    throw new MemhooksError(
      ERROR_CODES.INVALID_DEVICE_MAP,
      `${where} names "${String(key)}", which is no registered tfjs backend. Use backend names such as 'wasm', 'cpu', 'webgl' or 'tensorflow' (or 'device' for the active one)${where === 'maxMemory' ? ", and 'host'" : ''}.`,
    );
  }
  return name;
}

/**
 * diffusers' balanced assignment of whole components: components by size (largest first), devices by
 * budget (largest first) visited in "snake" order d0 … dn, dn … d0; a component that fits the current
 * device's remaining budget goes there and the cycle moves on, otherwise it goes to 'host' and the cycle
 * stays. Unlike diffusers every component gets an entry (diffusers keeps only the last one sent to the CPU),
 * and the host budget, when given, is enforced: a component that fits nowhere is an error naming it.
 */
export function assignComponentsToDevices(
  sizes: ReadonlyArray<[string, number]>,
  devices: ReadonlyArray<[string, number]>,
  hostBudget: number | undefined,
): Record<string, string> {
  const order = [...sizes].sort((a, b) => b[1] - a[1]);
  const names = devices.map(([d]) => d);
  const cycle = [...names, ...[...names].reverse()];
  const left = new Map(devices);
  let hostLeft = hostBudget ?? Infinity;
  let index = 0;
  const out: Record<string, string> = {};
  for (const [component, bytes] of order) {
    const device = cycle[index % cycle.length]!;
    if (bytes <= left.get(device)!) {
      out[component] = device;
      left.set(device, left.get(device)! - bytes);
      index++;
      continue;
    }
    if (bytes > hostLeft) {
      throw new MemhooksError(
        ERROR_CODES.INVALID_DEVICE_MAP,
        `Pipeline component "${component}" (${formatBytes(bytes)}) fits on no device (budgets left: ${names.map((d) => `${d} ${formatBytes(left.get(d)!)}`).join(', ')}) ` +
          `and not in the host budget either (${formatBytes(hostLeft)} left). Raise maxMemory, or cast the component lower first.`,
      );
    }
    out[component] = HOST;
    hostLeft -= bytes;
  }
  // Declaration order, as the components were given.
  return Object.fromEntries(sizes.map(([c]) => [c, out[c]!]));
}
