import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export interface LeakOptions {
  /**
   * How many more live tensors there must be after `fn` than before: the ones it hands back or keeps on purpose
   * (a returned output, a new variable). Exactly this many, so a test notices a fix that frees too much as well.
   */
  newTensors?: number;
  /** Names the checked block in the failure message, where one test checks several. */
  label?: string;
}

/**
 * Runs `fn` and fails the test when the number of live tfjs tensors changed by anything other than
 * `options.newTensors` (0 by default). When `fn` returns a promise, the count is taken once it settles, and the
 * returned promise must be awaited (the linter's no-floating-promises rule insists on it). When `fn` throws or
 * rejects, that error propagates unchanged and no count is checked: the failure says what went wrong first.
 * Returns what `fn` returns.
 */
export function expectNoLeaks<T>(fn: () => Promise<T>, options?: LeakOptions): Promise<T>;
export function expectNoLeaks<T>(fn: () => T, options?: LeakOptions): T;
export function expectNoLeaks<T>(fn: () => T | Promise<T>, options: LeakOptions = {}): T | Promise<T> {
  const before = tf.memory();
  const result = fn();
  if (result instanceof Promise) {
    return result.then((value) => {
      checkCount(before, options);
      return value;
    });
  }
  checkCount(before, options);
  return result;
}

function checkCount(before: tf.MemoryInfo, { newTensors = 0, label }: LeakOptions): void {
  const after = tf.memory();
  const added = after.numTensors - before.numTensors;
  if (added === newTensors) return;
  // Which tensors they are is not cheap to know from outside tfjs (its registry is a WeakMap); their count and
  // bytes are, and a tf.tidy or a dispose around the block is the usual fix.
  const bytes = after.numBytes - before.numBytes;
  const what =
    added > newTensors
      ? `${added - newTensors} tensor(s) leaked (${bytes} bytes more in total): dispose them or wrap the block in tf.tidy`
      : `${newTensors - added} tensor(s) fewer than expected: something disposed a tensor it did not own, or the expected count is stale`;
  const where = label === undefined ? '' : `${label}: `;
  expect(added, `${where}${what}; expected ${newTensors} new tensor(s), found ${added}`).toBe(newTensors);
}
