import * as tf from '@tensorflow/tfjs-core';
import { decodeValues } from '../safetensors/SafetensorsFile.js';
import { readStraightToWasm } from './directUpload.js';
import { checkpointTensors, openCheckpoint, type OpenCheckpointOptions } from './openCheckpoint.js';

export interface LoadCheckpointOptions extends OpenCheckpointOptions {
  /** Called after each tensor is on the backend (progress bars, memory sampling). */
  onTensor?(event: { name: string; bytes: number }): void;
}

/**
 * Loads a checkpoint folder (single file or shards + index) as tensors on the active backend, keyed by
 * name. Shards are read one at a time and each tensor goes from its file span to the backend: on wasm,
 * float32/int32 tensors are read straight into their heap allocation (no host memory at all); other
 * backends keep the array they are given, so each tensor is read into its own array, which becomes the
 * tensor's memory. Host memory never holds a shard or the checkpoint. Low-precision tensors are decoded to float32.
 * To place weights in other tiers as they arrive, use openCheckpoint + checkpointTensors (as fromPretrained).
 *
 * @example
 * const weights = loadShardedCheckpoint('./unet'); // Map<string, tf.Tensor>; dispose them when done
 */
export function loadShardedCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Map<string, tf.Tensor> {
  const checkpoint = openCheckpoint(dir, options);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const { name, info, file } of checkpointTensors(checkpoint)) {
      let tensor = readStraightToWasm(file, name, info);
      if (tensor === undefined) {
        const values = decodeValues(info, file.readBytes(name), name, file.path);
        tensor = tf.tensor(values, info.shape, info.dtype === 'BOOL' ? 'bool' : values instanceof Float32Array ? 'float32' : 'int32');
      }
      out.set(name, tensor);
      options.onTensor?.({ name, bytes: info.byteLength });
    }
  } catch (error) {
    // All or nothing: a failure halfway leaves no tensors behind.
    for (const t of out.values()) t.dispose();
    throw error;
  }
  return out;
}
