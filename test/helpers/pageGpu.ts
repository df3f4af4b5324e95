import * as tf from '@tensorflow/tfjs-core';

/** What a GPU backend reports about its memory, under names that do not depend on the backend. */
export interface GpuBytes {
  /** Textures or buffers that back live tensors. */
  inUse: number;
  /** What the GPU holds for tfjs: inUse plus the pool of freed ones kept for reuse. */
  held: number;
}

/**
 * The active backend's own numbers (tf.memory(), not memhooks): webgl says numBytesInGPU / numBytesInGPUAllocated,
 * webgpu numBytesInGPU / numBytesAllocatedInGPU. Undefined on a backend that is not a GPU's.
 */
export function gpuBytes(): GpuBytes | undefined {
  const m = tf.memory() as tf.MemoryInfo & Record<string, unknown>;
  const held = m.numBytesInGPUAllocated ?? m.numBytesAllocatedInGPU;
  if (typeof m.numBytesInGPU !== 'number' || typeof held !== 'number') return undefined;
  return { inUse: m.numBytesInGPU, held };
}
