import * as tf from '@tensorflow/tfjs-core';

/**
 * An upload to tfjs' `webgpu` backend that makes no host copy and no join on the device: the values go a piece at a
 * time from one reused buffer into a GPU buffer (queue.writeBuffer copies each piece at the call), which tfjs copies
 * into the tensor's own (tf.tensor of WebGPU data, its public way in). The GPU buffer comes from tfjs' buffer
 * manager, so memory.track and the pool hold see it, and goes back to it once tfjs' copy is submitted.
 *
 * Read from tfjs-backend-webgpu 4.22 and checked by shape: where the backend is not shaped as read here, the caller
 * uses the generic upload instead.
 */

/** The parts of tfjs-backend-webgpu 4.22 used here (the WebGPU types are not in this project's lib). */
interface WebgpuBackend {
  device: { queue: { writeBuffer(buffer: object, bufferOffset: number, data: ArrayBuffer, dataOffset: number, size: number): void } };
  bufferManager: {
    acquireBuffer(size: number, usage: number): object;
    releaseBuffer(buffer: object): void;
  };
}

/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: what tfjs asks of a buffer it is given, and what writeBuffer needs. */
const USAGE = 0x80 | 0x04 | 0x08;

function webgpuBackend(): WebgpuBackend | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as Partial<WebgpuBackend>;
  if (typeof b.device?.queue?.writeBuffer !== 'function' || typeof b.bufferManager?.acquireBuffer !== 'function' || typeof b.bufferManager.releaseBuffer !== 'function') return undefined;
  return b as WebgpuBackend;
}

/**
 * The weight as a webgpu tensor, its `size` values read by `readAt` a piece at a time into `buffer` (at most `bytes`
 * of it per piece), or undefined (nothing read) where this path does not apply.
 */
export function webgpuBufferUpload(
  size: number,
  shape: number[],
  dtype: 'float32' | 'int32',
  readAt: (target: Uint8Array, byteOffset: number) => void,
  buffer: ArrayBuffer,
  bytes: number,
): tf.Tensor | undefined {
  const backend = webgpuBackend();
  const step = Math.floor(bytes / 4) * 4;
  if (backend === undefined || size === 0 || step === 0) return undefined;
  const total = size * 4;
  const gpu = backend.bufferManager.acquireBuffer(total, USAGE);
  try {
    for (let at = 0; at < total; at += step) {
      const n = Math.min(step, total - at);
      readAt(new Uint8Array(buffer, 0, n), at);
      backend.device.queue.writeBuffer(gpu, at, buffer, 0, n);
    }
    // tfjs copies it into a buffer of its own (a command it submits before this returns).
    return tf.tensor({ buffer: gpu as Parameters<typeof tf.tensor>[0] extends infer V ? (V extends { buffer: infer B } ? B : never) : never }, shape, dtype);
  } finally {
    backend.bufferManager.releaseBuffer(gpu);
  }
}
