import { decodeInto } from './decode.js';
import { encodeInto } from './encode.js';
import type { LowPrecisionDtype } from './formats.js';
import { allocatePacked, type PackedCodes } from './packing.js';

/** float32 values → packed codes in a fresh buffer. */
export function encodePacked(dtype: LowPrecisionDtype, values: Float32Array): PackedCodes {
  const packed = allocatePacked(dtype, values.length);
  encodeInto(dtype, values, packed.codes);
  return packed;
}

/**
 * Packed codes → float32 values, into `out` when given (e.g. a Float32Array over SharedArrayBuffer staging
 * memory a worker fills, or the array a cpu-backend tensor will adopt), else into a fresh array.
 */
export function decodePacked(packed: PackedCodes, out: Float32Array = new Float32Array(packed.length)): Float32Array {
  if (out.length < packed.length) throw new RangeError(`decodePacked needs an output of ${packed.length} floats, got ${out.length}.`);
  return decodeInto(packed.dtype, packed.codes, out, 0, packed.length);
}
