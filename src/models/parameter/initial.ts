import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { assertComputeDtype, type ComputeDtype, type HostArray } from '../dtypes.js';
import { describeValue } from '../paths.js';
import { onDevice, onHost, type DeviceStorage, type HostStorage } from './kinds.js';
import type { ShippedCodes } from './shipped.js';
import { VariableIdentity } from './variable.js';

export interface ParameterOptions {
  /** Shown in errors until the parameter is discovered in a module tree (which names it by its path). */
  label?: string;
  /**
   * For a float32 tensor: the shipped codes it was decoded from, kept on the host as its host copy (so that
   * offloading it is a dispose and the host holds the codes). The caller guarantees that they decode bitwise to
   * the tensor's values (wrapGraphModel checks it).
   * @internal
   */
  shipped?: ShippedCodes;
}

/** Host bytes with their shape; the dtype follows the array type. */
export interface HostValue {
  data: HostArray;
  shape: readonly number[];
}

/** What a new Parameter starts as. */
export interface InitialState {
  shape: readonly number[];
  dtype: ComputeDtype;
  identity: VariableIdentity | undefined;
  storage: DeviceStorage | HostStorage;
}

/**
 * Reads the value given to new Parameter(): a tf.Tensor starts on the device, `{ data, shape }` on the host
 * (the array is adopted, not copied). Throws before anything is kept when the value cannot be held.
 */
export function initialState(value: tf.Tensor | HostValue, options: ParameterOptions): InitialState {
  // Read inside, not destructured in the signature: the declaration file would name `shipped`, which is @internal.
  const { label, shipped } = options;
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) throw new InvalidArgumentError(`new Parameter(value) was given a disposed tensor.`);
    assertComputeDtype(value.dtype, label ?? 'The tensor given to new Parameter()');
    if (shipped !== undefined && (value.dtype !== 'float32' || shipped.length !== value.size)) {
      throw new InvalidArgumentError(
        `new Parameter(tensor, { shipped }) for ${label ?? 'a tensor'}: ${shipped.length} shipped codes cannot hold a ${value.dtype} tensor of ` +
          `${value.size} values. Shipped codes stand for float32 weights of the same size.`,
      );
    }
    // Kept tensors survive every tf.tidy scope, so a Parameter created inside a forward outlives it.
    const identity = VariableIdentity.of(value);
    return { shape: Object.freeze([...value.shape]), dtype: value.dtype, identity, storage: onDevice(tf.keep(value), shipped) };
  }
  if (shipped !== undefined) {
    throw new InvalidArgumentError(`new Parameter(value, { shipped }) for ${label ?? 'a value'} needs the decoded float32 tensor as its value, not host data.`);
  }
  if (!isHostValue(value)) {
    throw new InvalidArgumentError(
      `new Parameter(value) needs a tf.Tensor or { data: Float32Array | Int32Array, shape }, got ${describeValue(value)}.`,
    );
  }
  const shape = Object.freeze([...value.shape]);
  const size = shape.reduce((a, b) => a * b, 1);
  if (value.data.length !== size) {
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `new Parameter({ data, shape }) got ${value.data.length} values for shape [${shape.join(', ')}] ` +
        `(${size} values). Pass matching data.`,
    );
  }
  const dtype = value.data instanceof Int32Array ? 'int32' : 'float32';
  return { shape, dtype, identity: undefined, storage: onHost(value.data) };
}

function isHostValue(value: unknown): value is HostValue {
  const v = value as HostValue | null;
  return (
    typeof v === 'object' && v !== null && (v.data instanceof Float32Array || v.data instanceof Int32Array) &&
    Array.isArray(v.shape) && v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  );
}
