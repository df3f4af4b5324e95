/**
 * A reference output kept on the host: compared with every measured output, it must not sit on the device
 * while they are measured, or it would count in their peaks.
 */
import type * as tf from '@tensorflow/tfjs-core';

export type HostValues = Float32Array | Int32Array | Uint8Array;

/** Reads the tensor back into host memory and disposes it. */
export function keepOnHost(t: tf.Tensor): HostValues {
  const values = t.dataSync().slice();
  t.dispose();
  return values;
}

/** Max abs difference of a tensor against values kept on the host (NaN propagates; a size mismatch is Infinity). */
export function maxAbsDiffToHost(t: tf.Tensor, expected: HostValues): number {
  const got = t.dataSync();
  if (got.length !== expected.length) return Infinity;
  let max = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (!(d <= max)) max = d;
  }
  return max;
}
