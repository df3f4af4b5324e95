import { FORMATS, type Format, type LowPrecisionDtype } from './formats.js';

/**
 * float32 → low-precision code, exactly as PyTorch 2.13 casts: round to nearest, ties to even, on the
 * float32 bits (no double rounding through float64), with subnormals, signed zeros, NaN kept NaN, and each
 * format's overflow rule (see formats.ts).
 *
 * `bits` is the float32's bit pattern as an unsigned 32-bit integer.
 */
export function encodeBits(bits: number, f: Format): number {
  const signBit = (bits >>> 31) << (f.bits - 1);
  const abs = bits & 0x7fffffff;
  const drop = 23 - f.mantissaBits;
  if (abs > 0x7f800000) {
    const nan = f.nanPayload ? f.nanCode | ((abs & 0x7fffff) >>> drop) : f.nanCode;
    return f.nanSigned ? nan | signBit : nan;
  }
  if (abs === 0x7f800000) return signBit | f.overflowCode;
  const exp32 = abs >>> 23;
  // float32 biased exponent of the target's smallest normal number.
  const minNormal32 = 128 - f.bias;
  let code: number;
  if (exp32 >= minNormal32) {
    // Normal in the target: re-bias the exponent in place, then round off the extra mantissa bits. A carry
    // out of the mantissa bumps the exponent, which is exactly the next representable value.
    code = roundShift(abs - ((127 - f.bias) << 23), drop);
  } else {
    // Subnormal (or zero) in the target: the full significand, shifted further by the exponent gap. A round
    // up to 2^M lands on the smallest normal's code, which is again the right value.
    const significand = exp32 === 0 ? abs & 0x7fffff : (abs & 0x7fffff) | 0x800000;
    const shift = drop + minNormal32 - Math.max(exp32, 1);
    // Beyond 25 bits even the largest significand is under half of the smallest subnormal: rounds to zero.
    code = shift > 25 ? 0 : roundShift(significand, shift);
  }
  if (code > f.maxFiniteCode) code = f.overflowCode;
  return signBit | code;
}

/** v / 2^s rounded to nearest, ties to even; 0 ≤ v < 2^31, 1 ≤ s ≤ 25. */
function roundShift(v: number, s: number): number {
  const q = v >>> s;
  const rest = v & ((1 << s) - 1);
  const half = 1 << (s - 1);
  return rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q;
}

/** One float32 value → its code. */
export function encodeValue(dtype: LowPrecisionDtype, value: number): number {
  scratch[0] = value;
  return encodeBits(scratchBits[0]!, FORMATS[dtype]);
}
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/**
 * Encodes `values` into `out` (a Uint16Array for 16-bit dtypes, a Uint8Array for fp8, at least as long),
 * element i → out[i]. Returns `out`.
 */
export function encodeInto(dtype: LowPrecisionDtype, values: Float32Array, out: Uint16Array | Uint8Array): Uint16Array | Uint8Array {
  const f = FORMATS[dtype];
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const n = values.length;
  if (dtype === 'bfloat16') {
    // The common case of the generic path, inlined: bf16 keeps float32's exponent, so only the rounding remains.
    for (let i = 0; i < n; i++) {
      const x = bits[i]!;
      const abs = x & 0x7fffffff;
      if (abs > 0x7f800000) out[i] = 0xffff;
      else {
        const q = x >>> 16;
        const rest = x & 0xffff;
        out[i] = rest > 0x8000 || (rest === 0x8000 && (q & 1) === 1) ? q + 1 : q;
      }
    }
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = encodeBits(bits[i]!, f);
  return out;
}
