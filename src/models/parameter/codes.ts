import type * as tf from '@tensorflow/tfjs-core';
import { encodePacked, isLowPrecisionDtype, viewPacked, wordCount, type LowPrecisionDtype, type PackedCodes } from '../../dtypes/index.js';
import { BYTES_PER_ELEMENT, type StorageDtype } from '../dtypes.js';
import { currentKeptCopy, onDevice, onHost, type DeviceStorage, type DiskStorage, type HostStorage, type Storage } from './kinds.js';
import { valuesOf } from './shipped.js';
import { wordsTensor } from './variable.js';
import { int32IsExact } from '../../runtime/int32Math.js';

// Low-precision storage (layerwise casting, docs/layerwise-casting.md). While storageDtype is float16,
// bfloat16 or an fp8, every kind holds the codes packed into int32 words (src/dtypes/packing.ts): an int32
// [words] tensor on the device, an Int32Array on the host, the words in the file on disk. Tier moves then move
// those words unchanged, so offloading a cast weight moves a half or a quarter of the bytes. The functions
// here only compute the storage that follows; Parameter hands it to the transition.

/**
 * The float32 values of `s` re-stored as `dtype` codes, rounded as PyTorch casts. A weight on disk (generated
 * there) is read once and its codes kept on the host; the file keeps the float32 values.
 */
export function encodedStorage(s: DeviceStorage | HostStorage | DiskStorage, dtype: LowPrecisionDtype): DeviceStorage | HostStorage {
  // Shipped codes (wrapGraphModel's hostWeights: 'shipped') are cast from their decoded float32 values.
  if (s.kind === 'host') return onHost(encodePacked(dtype, valuesOf(s.data) as Float32Array).words);
  if (s.kind === 'disk') return onHost(encodePacked(dtype, s.ref.read() as Float32Array).words);
  const kept = currentKeptCopy(s);
  const current = kept === undefined ? s.tensor.dataSync() : valuesOf(kept);
  const words = encodePacked(dtype, current as Float32Array).words;
  // Where the device rounds int32 words (webgl, webgpu), the host keeps them: they are what is read back.
  return onDevice(wordsTensor(words), int32IsExact() ? undefined : words);
}

/**
 * New values for a cast weight, cast to its storage dtype on the kind the codes are on. As for float32
 * values, new values of a weight on disk land on the host: the file keeps the old codes. A kept host copy
 * is replaced by one of the new words, so that it stays equal to the device.
 */
export function assignedCodes(s: Exclude<Storage, { kind: 'disposed' }>, dtype: LowPrecisionDtype, value: tf.Tensor): DeviceStorage | HostStorage {
  const words = encodePacked(dtype, value.dataSync() as Float32Array).words;
  if (s.kind !== 'device') return onHost(words);
  return onDevice(wordsTensor(words), s.kept === undefined && int32IsExact() ? undefined : words.slice());
}

/**
 * The stored codes: the host words, the current kept host copy, or the device tensor's data (on the cpu
 * backend its very array, on others a copy); undefined on the other kinds. Read-only by contract.
 */
export function storedCodes(s: Storage, dtype: LowPrecisionDtype, size: number): PackedCodes | undefined {
  if (s.kind === 'host') return viewPacked(dtype, s.data as Int32Array, size);
  if (s.kind !== 'device') return undefined;
  // A current kept host copy (group offloading onloads with one) saves reading the words back.
  return viewPacked(dtype, (currentKeptCopy(s) ?? s.tensor.dataSync()) as Int32Array, size);
}

/** Bytes of `size` values stored as `dtype`. Codes are packed into whole int32 words: up to 3 bytes of padding. */
export function storedByteLength(dtype: StorageDtype, size: number): number {
  return isLowPrecisionDtype(dtype) ? wordCount(dtype, size) * 4 : size * BYTES_PER_ELEMENT[dtype];
}
