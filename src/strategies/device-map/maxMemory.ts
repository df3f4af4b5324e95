import * as tf from '@tensorflow/tfjs-core';
import { freeMemory } from '../../base/platform/system.js';
import { DEFAULT_WASM_DEVICE_BUDGET } from '../../runtime/budget.js';
import { memory } from '../../runtime/memory.js';

/** Where a default budget came from, so that the docs and `memhooks inspect` can say which number was used. */
export type BudgetSource = 'device budget' | 'wasm default budget' | 'free host memory';

export interface BudgetUsed {
  bytes: number;
  source: BudgetSource;
}

/** The budgets inferAutoDeviceMap and getBalancedMemory use when they are given no maxMemory. */
export interface DefaultMaxMemory {
  device: BudgetUsed;
  host: BudgetUsed;
}

/**
 * accelerate's get_max_memory without max_memory: fill each tier up to what it has. 'device' gets the
 * device budget in force (memory.setDeviceBudget, else the wasm backend's default of 3 GiB); a backend
 * with no budget (cpu) keeps its tensors in host memory, so it gets the host's free memory (os.freemem()).
 * 'host' gets the host's free memory. Read when called: free memory changes as the process runs. Where the
 * host's free memory cannot be known (in a page: the browser build), it counts as unlimited: pass maxMemory
 * to bound the host tier there.
 *
 * Porting note: on the cpu backend both tiers are the same RAM, and each is given all of the free memory,
 * as accelerate gives its cpu tier; pass maxMemory to split it between them.
 *
 * @example defaultMaxMemory() // { device: { bytes: 3221225472, source: 'wasm default budget' }, host: { bytes: …, source: 'free host memory' } }
 */
export function defaultMaxMemory(): DefaultMaxMemory {
  const free = freeMemory() ?? Number.POSITIVE_INFINITY;
  const host: BudgetUsed = { bytes: free, source: 'free host memory' };
  const budget = memory.deviceBudget;
  if (budget === undefined) return { device: { bytes: free, source: 'free host memory' }, host };
  // deviceBudget() answers the wasm default when no budget was set; a set budget of the same size reads the same.
  const isDefault = tf.getBackend() === 'wasm' && budget === DEFAULT_WASM_DEVICE_BUDGET;
  return { device: { bytes: budget, source: isDefault ? 'wasm default budget' : 'device budget' }, host };
}
