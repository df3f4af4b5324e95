import * as tf from '@tensorflow/tfjs-core';
import type { ComputeDtype, HostArray } from '../dtypes.js';

/**
 * How the device copy is re-created: a Parameter made from a tf.Variable stays a tf.Variable on the device,
 * with the same name and trainability across tier moves, so optimizers and tfjs-layers keep seeing it.
 */
export class VariableIdentity {
  constructor(
    readonly name: string,
    public trainable: boolean,
  ) {}

  static of(tensor: tf.Tensor): VariableIdentity | undefined {
    return tensor instanceof tf.Variable ? new VariableIdentity(tensor.name, tensor.trainable) : undefined;
  }

  /** Takes the live Variable's flag (tfjs code may set it there directly) before the Variable goes away. */
  remember(live: tf.Tensor | undefined): void {
    if (live instanceof tf.Variable) this.trainable = live.trainable;
  }

  /** The live Variable's flag while there is one (tfjs code may set it there directly), the remembered one elsewhere. */
  trainableNow(live: tf.Tensor | undefined): boolean {
    this.remember(live);
    return this.trainable;
  }

  /** Sets the flag on the live Variable, if any, and remembers it for the next upload. */
  setTrainable(value: boolean, live: tf.Tensor | undefined): void {
    this.trainable = value;
    if (live instanceof tf.Variable) live.trainable = value;
  }
}

/** What an upload needs to know about the weight. */
export interface UploadShape {
  readonly shape: readonly number[];
  readonly dtype: ComputeDtype;
  /** Low-precision codes travel as their packed int32 words: a quarter or half of the float32 bytes. */
  readonly isLowPrecision: boolean;
}

/** A kept device tensor of `data` (adopted, not copied, on the cpu backend). */
export function upload(data: HostArray, weight: UploadShape, identity: VariableIdentity | undefined): tf.Tensor {
  if (weight.isLowPrecision) return wordsTensor(data);
  return asVariable(tf.keep(tf.tensor(data, weight.shape as number[], weight.dtype)), identity);
}

/** The kept upload `handle`, or a Variable with the weight's identity made of it (the handle is then let go). */
export function asVariable(handle: tf.Tensor, identity: VariableIdentity | undefined): tf.Tensor {
  if (identity === undefined) return handle;
  // The old variable was disposed when the bytes left the device, so its name is free again. The variable
  // shares the upload's buffer; disposing the upload handle only drops a reference.
  const variable = tf.variable(handle, identity.trainable, identity.name);
  handle.dispose();
  return variable;
}

/** Packed low-precision words as a kept int32 [words] device tensor. */
export function wordsTensor(words: HostArray): tf.Tensor {
  return tf.keep(tf.tensor(words, [words.length], 'int32'));
}
