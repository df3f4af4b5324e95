import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '../safetensors/header.js';
import type { SafetensorsFile } from '../safetensors/SafetensorsFile.js';

/** The parts of the wasm backend used here (tfjs-backend-wasm 4.x). */
interface WasmBackendInternals {
  write(values: null, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

function wasmBackend(): WasmBackendInternals | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as Partial<WasmBackendInternals>;
  return typeof b.write === 'function' && b.dataIdMap !== undefined && b.wasm?.HEAPU8 !== undefined ? (b as WasmBackendInternals) : undefined;
}

/**
 * On wasm, reads a float32/int32 tensor from its file span straight into a fresh allocation in the wasm heap:
 * one copy (page cache → heap) instead of two (→ host buffer → heap), and no host memory at all. Returns
 * undefined where that does not apply (another backend or dtype), and the caller reads through the host.
 * The backend's write(null) allocates without copying, as tfjs' own kernels do for their outputs.
 */
export function readStraightToWasm(file: SafetensorsFile, name: string, info: TensorInfo): tf.Tensor | undefined {
  if (info.dtype !== 'F32' && info.dtype !== 'I32') return undefined;
  const backend = wasmBackend();
  if (backend === undefined) return undefined;
  const dtype = info.dtype === 'F32' ? 'float32' : 'int32';
  const dataId = backend.write(null, info.shape, dtype);
  try {
    const offset = backend.dataIdMap.get(dataId)!.memoryOffset;
    // The heap view is taken after the allocation, which may have grown (replaced) the heap.
    file.readInto(name, new Uint8Array(backend.wasm.HEAPU8.buffer, offset, info.byteLength));
  } catch (error) {
    backend.disposeData(dataId, true);
    throw error;
  }
  return tf.engine().makeTensorFromDataId(dataId, info.shape, dtype, tf.backend());
}
