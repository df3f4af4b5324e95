import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { isLowPrecisionDtype, type LowPrecisionDtype } from '../../dtypes/index.js';
import type { ComputeDtype, StorageDtype } from '../dtypes.js';
import { describeParameter, describeValue } from '../paths.js';

// The argument checks of Parameter's methods and the errors they throw, each naming the parameter (by its
// path once discovered, else its label) and saying what to do. They run before anything changes.

/** What the checks read of a parameter. */
export interface Checked {
  readonly label?: string;
  readonly shape: readonly number[];
  readonly dtype: ComputeDtype;
  readonly storageDtype: StorageDtype;
}

export function assertAssignable(p: Checked, value: tf.Tensor): void {
  if (!(value instanceof tf.Tensor) || value.isDisposed) {
    throw new InvalidArgumentError(`Parameter ${describeParameter(p)}.assign() needs a live tf.Tensor.`);
  }
  if (!tf.util.arraysEqual(value.shape, p.shape as number[]) || value.dtype !== p.dtype) {
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Cannot assign a ${value.dtype} tensor of shape [${value.shape.join(', ')}] to parameter ` +
        `${describeParameter(p)} (${p.dtype} [${p.shape.join(', ')}]). Pass a tensor of the same shape and dtype.`,
    );
  }
}

/** castStorage(dtype): a low-precision dtype, from float32 storage. */
export function assertCastable(p: Checked, dtype: unknown): asserts dtype is LowPrecisionDtype {
  if (!isLowPrecisionDtype(dtype)) throw new InvalidArgumentError(`Parameter ${describeParameter(p)}.castStorage() needs a low-precision dtype, got ${describeValue(dtype)}.`);
  if (p.dtype !== 'float32' || isLowPrecisionDtype(p.storageDtype)) {
    throw new InvalidArgumentError(`Parameter ${describeParameter(p)} is stored as ${p.storageDtype}; only float32 storage can be cast to ${dtype}.`);
  }
}

export function notCastableThere(p: Checked, tier: string): InvalidArgumentError {
  return new InvalidArgumentError(`Parameter ${describeParameter(p)} is on the "${tier}" tier; cast it while it is on the device, the host or disk.`);
}

/** The storage dtype as a low-precision one, for the methods that only make sense on codes. */
export function lowPrecisionOf(p: Checked): LowPrecisionDtype {
  if (isLowPrecisionDtype(p.storageDtype)) return p.storageDtype;
  throw new InvalidArgumentError(`Parameter ${describeParameter(p)} is stored as ${p.storageDtype}, not in low precision.`);
}

export function assertDecodedFits(p: Checked, tensor: tf.Tensor): void {
  if (!isLowPrecisionDtype(p.storageDtype)) throw new InvalidArgumentError(`Parameter ${describeParameter(p)} is stored as ${p.storageDtype}; only low-precision storage takes a decoded tensor.`);
  if (tensor.dtype !== 'float32' || !tf.util.arraysEqual(tensor.shape, p.shape as number[])) {
    throw new MemhooksError(ERROR_CODES.SHAPE_MISMATCH, `Parameter ${describeParameter(p)} (float32 [${p.shape.join(', ')}]) cannot take a decoded ${tensor.dtype} tensor of shape [${tensor.shape.join(', ')}].`);
  }
}

export function noDecodedValues(p: Checked): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.PARAMETER_LOW_PRECISION,
    `Parameter ${describeParameter(p)} is stored as ${p.storageDtype} (layerwise casting) and has float32 values only ` +
      `inside the forward of its module. Call that module's forward (or the wrapped model's predict/apply/execute), or ` +
      `remove layerwise casting (handle.remove()) to get float32 storage back.`,
  );
}

export function notOnHost(p: Checked, tier: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.PARAMETER_NOT_RESIDENT, `Parameter ${describeParameter(p)} is on the "${tier}" tier, not on the host. Call toHost() first.`);
}

export function noShippedCodes(p: Checked, tier: string): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.PARAMETER_NOT_RESIDENT,
    `Parameter ${describeParameter(p)} holds no shipped codes on the host (it is on the "${tier}" tier, or holds float32 values); ` +
      'shippedToDevice() onloads only shipped codes. Call toDevice() instead.',
  );
}

/** Decoded values given for an upload must be float32 and exactly the parameter's size. */
export function assertValuesFit(p: Checked & { readonly size: number }, values: Float32Array): void {
  if (!(values instanceof Float32Array) || values.length !== p.size) {
    throw new InvalidArgumentError(
      `Parameter ${describeParameter(p)} needs ${p.size} float32 values for shape [${p.shape.join(', ')}], got ${describeValue(values)}.`,
    );
  }
}

export function notOnDisk(p: Checked, tier: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.PARAMETER_NOT_RESIDENT, `Parameter ${describeParameter(p)} is on the "${tier}" tier, not on disk; diskToDevice() loads only from disk.`);
}

export function notAVariable(p: Checked): InvalidArgumentError {
  return new InvalidArgumentError(`Parameter ${describeParameter(p)} was not created from a tf.Variable, so it has no trainable flag.`);
}
