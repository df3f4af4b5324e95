import { bytesPerCode, type LowPrecisionDtype } from './formats.js';

/**
 * Low-precision codes packed into 32-bit words, because tfjs tensors are only float32 or int32: the codes
 * of a parameter live in one ArrayBuffer, seen as a Uint16Array / Uint8Array (element i is code i) and as
 * an Int32Array (the int32 tensor's data). On little-endian hosts (every platform Node and browsers run on)
 * word w holds codes 2w..2w+1 (16-bit) or 4w..4w+3 (fp8), the lowest index in the lowest bits; the device
 * decoder relies on that order. The buffer is padded to a whole word: at most 3 bytes per parameter.
 */
export interface PackedCodes {
  readonly dtype: LowPrecisionDtype;
  /** Number of codes (the parameter's element count). */
  readonly length: number;
  readonly codes: Uint16Array | Uint8Array;
  readonly words: Int32Array;
}

/** Int32 words needed for `length` codes of `dtype`. */
export function wordCount(dtype: LowPrecisionDtype, length: number): number {
  return Math.ceil((length * bytesPerCode(dtype)) / 4);
}

/** Zeroed storage for `length` codes. */
export function allocatePacked(dtype: LowPrecisionDtype, length: number): PackedCodes {
  return viewPacked(dtype, new Int32Array(wordCount(dtype, length)), length);
}

/** The codes inside existing words (e.g. an int32 tensor's data, or a SharedArrayBuffer a worker filled). */
export function viewPacked(dtype: LowPrecisionDtype, words: Int32Array, length: number): PackedCodes {
  if (words.length < wordCount(dtype, length)) {
    throw new RangeError(`${length} ${dtype} codes need ${wordCount(dtype, length)} int32 words, got ${words.length}.`);
  }
  const codes =
    bytesPerCode(dtype) === 2
      ? new Uint16Array(words.buffer, words.byteOffset, length)
      : new Uint8Array(words.buffer, words.byteOffset, length);
  return { dtype, length, codes, words };
}
