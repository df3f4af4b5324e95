import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { describeValue } from '../../models/paths.js';

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
