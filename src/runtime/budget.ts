import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { brand } from '../base/brand.js';
import { formatBytes } from '../base/format.js';
import { parseSize, type Size } from './size.js';

/** The wasm backend's heap can never pass 4 GiB (65536 pages of 64 KiB). */
export const WASM_HEAP_CAP = 4 * 2 ** 30;

/**
 * The budget in force on wasm when none was set. A failed wasm allocation does not throw: malloc returns 0
 * and the backend writes the tensor over the start of the heap (tfjs-notes §2). The tracked bytes do not
 * include XNNPACK's packed copy of each resident matmul weight (up to 1× those weights again) nor kernel
 * temporaries, so the default leaves 1 GiB of the cap for them.
 */
export const DEFAULT_WASM_DEVICE_BUDGET = 3 * 2 ** 30;

// Process-global so that both builds of memhooks in one process enforce one budget.
const KEY = Symbol.for('memhooks.deviceBudget');
const state = ((globalThis as Record<symbol, unknown>)[KEY] ??= { bytes: undefined }) as { bytes: number | undefined };

/** Sets the device budget (bytes or a size string); undefined clears it (the wasm default applies again). */
export function setDeviceBudget(size: Size | undefined): void {
  state.bytes = size === undefined ? undefined : parseSize(size, 'device budget');
}

/** The budget in force on the active backend, or undefined when there is none. */
export function deviceBudget(): number | undefined {
  if (state.bytes !== undefined) return state.bytes;
  return tf.getBackend() === 'wasm' ? DEFAULT_WASM_DEVICE_BUDGET : undefined;
}

export class DeviceBudgetExceededError extends MemhooksError {
  constructor(message: string, readonly bytesNeeded: number, readonly budget: number) {
    super(ERROR_CODES.DEVICE_BUDGET_EXCEEDED, message);
  }
}

// Errors thrown by the other build of memhooks in one process pass instanceof checks too.
brand(DeviceBudgetExceededError, 'error.DeviceBudgetExceededError');

/**
 * Throws before anything is allocated when putting `bytes` more on the device (which holds `deviceBytes`
 * now: on webgl and webgpu what the GPU holds, tfjs' free pool included, see gpuMemory.ts) would pass
 * the budget. `what` names the module or group; `advice` says what to do, as one or two
 * sentences ending in a period. The message ends with how to raise the budget, unless `advice` already
 * names memory.setDeviceBudget.
 */
export function assertDeviceBudget(bytes: number, deviceBytes: number, what: string, advice: string): void {
  const budget = deviceBudget();
  // Putting nothing more on the device cannot pass the budget, even when what is there already does
  // (a budget below the resident model is the reason to apply offloading).
  if (budget === undefined || bytes <= 0 || deviceBytes + bytes <= budget) return;
  const source = state.bytes === undefined ? `the default wasm budget (${formatBytes(budget)}, below the 4 GiB heap cap)` : `the device budget of ${formatBytes(budget)}`;
  throw new DeviceBudgetExceededError(
    `Onloading ${what} needs ${formatBytes(bytes)} (${bytes} bytes) on the device, which already holds ${formatBytes(deviceBytes)}: ` +
      `that would pass ${source}. Nothing was allocated. ${withBudgetAdvice(advice)}`,
    bytes,
    budget,
  );
}

/** The caller's advice, then how to raise the budget, said once: callers' advice may name it already. */
function withBudgetAdvice(advice: string): string {
  const own = advice.trim();
  const raise = 'raise the budget with memory.setDeviceBudget(size).';
  if (own === '') return raise[0]!.toUpperCase() + raise.slice(1);
  if (own.includes('setDeviceBudget')) return own;
  return `${own} Or ${raise}`;
}
