import * as tf from '@tensorflow/tfjs-core';

/**
 * An upload to tfjs' `wasm` backend that reads the file straight into the tensor's memory in the wasm heap, a piece
 * at a time: no host copy, and no second copy in the heap (a tensor per piece joined by tf.concat would hold the
 * weight twice there, and the wasm heap never shrinks). The tensor is made by the backend's own makeOutput, as its
 * kernels make theirs.
 *
 * Read from tfjs-backend-wasm 4.22 and checked by shape: where the backend is not shaped as read here, the caller
 * uses the generic upload instead.
 */

/** The parts of tfjs-backend-wasm 4.22 used here. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): { dataId: object; shape: number[]; dtype: string };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

function wasmBackend(): WasmBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as Partial<WasmBackend>;
  if (typeof b.makeOutput !== 'function' || typeof b.dataIdMap?.get !== 'function' || !(b.wasm?.HEAPU8 instanceof Uint8Array)) return undefined;
  return b as WasmBackend;
}

/**
 * The weight as a wasm tensor, its `size` values read by `readAt` straight into the heap, at most `bytes` per read,
 * or undefined (nothing read) where this path does not apply.
 */
export function wasmHeapUpload(size: number, shape: number[], dtype: 'float32' | 'int32', readAt: (target: Uint8Array, byteOffset: number) => void, bytes: number): tf.Tensor | undefined {
  const backend = wasmBackend();
  const engine = tf.engine() as unknown as { makeTensorFromTensorInfo?: (info: object) => tf.Tensor };
  if (backend === undefined || typeof engine.makeTensorFromTensorInfo !== 'function') return undefined;
  const info = backend.makeOutput(shape, dtype);
  const tensor = engine.makeTensorFromTensorInfo(info);
  try {
    const offset = backend.dataIdMap.get(info.dataId)!.memoryOffset;
    const total = size * 4;
    const step = Math.max(4, Math.floor(bytes / 4) * 4);
    // The heap's view is taken for each piece: a read never grows the wasm memory, but nothing here relies on it.
    for (let at = 0; at < total; at += step) readAt(backend.wasm.HEAPU8.subarray(offset + at, offset + Math.min(total, at + step)), at);
    return tensor;
  } catch (error) {
    tensor.dispose();
    throw error;
  }
}
