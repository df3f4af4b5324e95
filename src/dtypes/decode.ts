import { FORMATS, type Format, type LowPrecisionDtype } from './formats.js';

/**
 * Low-precision code → float32 bit pattern. Every code of these formats is exactly representable in
 * float32, so decoding is exact. NaN codes decode to a quiet float32 NaN (the payload is not kept).
 * Closed (it reads only its arguments and Math): workers run it from its source, as createDecoder.
 */
export function decodeBits(code: number, f: Format): number {
  const M = f.mantissaBits;
  const sign = ((code >>> (f.bits - 1)) & 1) << 31;
  const expMax = (1 << f.exponentBits) - 1;
  const exp = (code >>> M) & expMax;
  const mant = code & ((1 << M) - 1);
  if (f.hasInfinity && exp === expMax) return (mant === 0 ? sign | 0x7f800000 : sign | 0x7fc00000) >>> 0;
  if (!f.hasInfinity && (code & ~(1 << (f.bits - 1))) === (1 << (f.bits - 1)) - 1) return (sign | 0x7fc00000) >>> 0;
  if (exp !== 0) return (sign | ((exp - f.bias + 127) << 23) | (mant << (23 - M))) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: mant · 2^(1 − bias − M). Normalise it: the top set bit becomes the implicit one.
  const top = 31 - Math.clz32(mant);
  const exp32 = top + 1 - f.bias - M + 127;
  if (exp32 <= 0) {
    // Still subnormal in float32 (bfloat16 shares float32's exponent range): scale onto float32's grid.
    return (sign | (mant << (1 - f.bias - M + 149))) >>> 0;
  }
  return (sign | (exp32 << 23) | (((mant ^ (1 << top)) << (23 - top)) & 0x7fffff)) >>> 0;
}

/** A table-driven decoder: what both the main thread and the workers run. */
export interface Decoder {
  /** The format of `dtype`; throws for a dtype it does not know (a worker receives dtypes as plain strings). */
  format(dtype: string): Format;
  /** float32 bit patterns of every code (256 or 65,536 entries), built once per dtype. */
  table(dtype: string): Uint32Array;
  /** Decodes `codes[start..end)` into `out[start..end)` (float32); returns `out`. */
  into(dtype: string, codes: Uint16Array | Uint8Array, out: Float32Array, start?: number, end?: number): Float32Array;
  /**
   * Dequantizes a converter manifest's shipped codes (tf.io `quantization`: uint8 / uint16 affine with `min`
   * and `scale`, or float16) into `out`, bit for bit as tfjs does at load (see dequantizeInto).
   */
  dequantize(dtype: string, codes: Uint16Array | Uint8Array, out: Float32Array, min: number, scale: number): Float32Array;
}

/**
 * Builds a decoder over `formats`, with its own table cache. It is closed: its body reads only its
 * arguments and JavaScript built-ins, never a module binding, so a worker runs this very function from its
 * source text (Function.prototype.toString, see workerSource.ts) with the formats serialised and
 * `bitsOf` = decodeBits' own source: one decoder for every thread, not a copy per thread. Keep it closed.
 *
 * `into` is pure and allocation-free after the first call per dtype, so a worker can run it over
 * SharedArrayBuffer views. bfloat16 is a shift; the others read a lookup table (256 entries for fp8,
 * 65,536 = 256 KiB for float16).
 */
export function createDecoder(formats: Readonly<Record<string, Format>>, bitsOf: (code: number, f: Format) => number): Decoder {
  const tables = new Map<string, Uint32Array>();
  function format(dtype: string): Format {
    const f = Object.hasOwn(formats, dtype) ? formats[dtype] : undefined;
    if (f === undefined) throw new Error('unknown storage dtype ' + dtype);
    return f;
  }
  function table(dtype: string): Uint32Array {
    let codes = tables.get(dtype);
    if (codes === undefined) {
      const f = format(dtype);
      codes = new Uint32Array(1 << f.bits);
      for (let c = 0; c < codes.length; c++) codes[c] = bitsOf(c, f);
      tables.set(dtype, codes);
    }
    return codes;
  }
  function into(dtype: string, codes: Uint16Array | Uint8Array, out: Float32Array, start = 0, end = codes.length): Float32Array {
    const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
    if (dtype === 'bfloat16') {
      for (let i = start; i < end; i++) bits[i] = codes[i]! << 16;
      return out;
    }
    const lookup = table(dtype);
    for (let i = start; i < end; i++) bits[i] = lookup[codes[i]!]!;
    return out;
  }
  function dequantize(dtype: string, codes: Uint16Array | Uint8Array, out: Float32Array, min: number, scale: number): Float32Array {
    if (dtype === 'uint8' || dtype === 'uint16') {
      // tfjs computes code * scale + min in double precision, rounded once when stored as float32: the same here.
      for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale + min;
      return out;
    }
    if (dtype !== 'float16') throw new Error('unknown shipped quantization dtype ' + dtype);
    const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
    const lookup = table('float16');
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      // The table gives every NaN code one quiet NaN; tfjs' float16 tables add exponent and mantissa, so a NaN
      // keeps its payload (and its sign). Only NaN codes differ: they take tfjs' bits.
      bits[i] = (c & 0x7c00) === 0x7c00 && (c & 0x3ff) !== 0 ? (((c & 0x8000) << 16) | 0x7f800000 | ((c & 0x3ff) << 13)) >>> 0 : lookup[c]!;
    }
    return out;
  }
  return { format, table, into, dequantize };
}

const decoder = createDecoder(FORMATS, decodeBits);

/** float32 bit patterns of every code (256 or 65,536 entries), built once per dtype. */
export function decodeTable(dtype: LowPrecisionDtype): Uint32Array {
  return decoder.table(dtype);
}

/** One code → its float32 value. */
export function decodeValue(dtype: LowPrecisionDtype, code: number): number {
  scratchBits[0] = decodeTable(dtype)[code]!;
  return scratch[0]!;
}
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/**
 * Decodes `codes[start..end)` into `out[start..end)` (float32). Pure and allocation-free after the first
 * call per dtype; the transfer worker runs the same decoder (createDecoder) over SharedArrayBuffer views.
 */
export function decodeInto(
  dtype: LowPrecisionDtype,
  codes: Uint16Array | Uint8Array,
  out: Float32Array,
  start = 0,
  end = codes.length,
): Float32Array {
  return decoder.into(dtype, codes, out, start, end);
}

/** The dtypes a converter manifest ships float32 weights as (tf.io's `quantization.dtype`). */
export type ShippedDtype = 'uint8' | 'uint16' | 'float16';

/**
 * Dequantizes shipped codes into `out` (float32) exactly as tfjs-core 4.22 does when it loads a model
 * (io_utils decodeWeight): uint8 / uint16 as `code * scale + min` computed in double precision, float16 through
 * its tables, NaN payloads included. The decoded values are then bitwise the loaded model's. `min` and `scale`
 * are ignored for float16. The transfer worker runs the same function (createDecoder's `dequantize`).
 */
export function dequantizeInto(dtype: ShippedDtype, codes: Uint16Array | Uint8Array, out: Float32Array, min = 0, scale = 1): Float32Array {
  return decoder.dequantize(dtype, codes, out, min, scale);
}
