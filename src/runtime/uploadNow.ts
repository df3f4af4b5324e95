import * as tf from '@tensorflow/tfjs-core';

/**
 * How the active backend is made to take a new tensor's bytes now, or undefined where it keeps the host array
 * itself. wasm copies the values into its heap when the tensor is made. webgl and webgpu keep the array until the
 * tensor's first use, then upload it: told to upload now (their uploadToGPU), they let go of it at once. cpu adopts
 * the array as the tensor's storage, and tfjs-node reads it at the first kernel: there the array stays the
 * tensor's.
 */
export function uploadNowFn(): ((t: tf.Tensor) => void) | undefined {
  const name = tf.getBackend();
  if (name === 'wasm') return () => undefined;
  const backend = tf.backend() as { uploadToGPU?: (dataId: object) => void };
  if ((name === 'webgl' || name === 'webgpu') && typeof backend.uploadToGPU === 'function') return (t) => backend.uploadToGPU!.call(backend, t.dataId);
  return undefined;
}

/**
 * Whether the backend still reads `buffer` for `t`'s values after `t` is made: it adopted the array (cpu) or reads
 * it at first use (tfjs-node). webgl and webgpu are first made to upload now, so they never do: memory that is
 * reused (a staging slot) is then free as soon as this returns false.
 */
export function backendHoldsBuffer(t: tf.Tensor, buffer: ArrayBufferLike): boolean {
  uploadNowFn()?.(t);
  type Store = { get(id: object): { values?: ArrayBufferView | null } | undefined } | undefined;
  const b = tf.backend() as unknown as { data?: Store; texData?: Store; tensorMap?: Store };
  return [b.data, b.texData, b.tensorMap].some((store) => typeof store?.get === 'function' && store.get(t.dataId)?.values?.buffer === buffer);
}
