import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../errors.js';
import { describeValue } from '../../models/paths.js';

/** Checks that `options` is an options object (or nothing) holding only `known` keys; names `fn` in errors. */
export function checkOptionKeys(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${fn}(module, options) needs an options object or nothing, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`${fn}: \`${key}\` is not one of its options. Options: ${known.join(', ')}.`);
    }
  }
  return options as Record<string, unknown>;
}

/**
 * The execution device: 'device' (the active backend) or the active backend's own name. Weights upload to
 * whichever backend is active when a hook runs, so naming another backend would be a promise we cannot keep.
 */
export function resolveExecutionDevice(fn: string, value: unknown): string {
  const backend = tf.getBackend();
  if (value === undefined || value === 'device' || value === backend) return backend;
  throw new InvalidArgumentError(
    `${fn}: \`executionDevice\` is ${typeof value === 'string' ? `"${value}"` : describeValue(value)}, but weights compute on the ` +
      `active backend "${backend}". Pass 'device' (or "${backend}"), or switch backends with tf.setBackend first.`,
  );
}
