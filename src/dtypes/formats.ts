/**
 * The low-precision storage formats memhooks can keep weights in. Each is a sign bit, `exponentBits` of
 * biased exponent and `mantissaBits` of fraction, as IEEE 754 binary formats are; they differ in what the
 * top exponent means and in what an overflow becomes. The behaviour follows PyTorch 2.13's casts from
 * float32 (measured; the fixture test/fixtures/dtypes/ pins it):
 *
 * - float16, bfloat16, float8_e5m2: IEEE-like, the all-ones exponent is ±inf / NaN; overflow rounds to ±inf.
 * - float8_e4m3fn ("fn": finite, no inf): only S.1111.111 is NaN, S.1111.110 = ±448 is the largest finite
 *   value; overflow and ±inf saturate to ±448.
 *
 * Pure data and pure functions: no tfjs, so a worker thread can use them too.
 */
export const LOW_PRECISION_DTYPES = ['float16', 'bfloat16', 'float8_e4m3fn', 'float8_e5m2'] as const;
export type LowPrecisionDtype = (typeof LOW_PRECISION_DTYPES)[number];

export interface Format {
  readonly name: LowPrecisionDtype;
  /** 16 or 8. */
  readonly bits: 16 | 8;
  readonly exponentBits: number;
  readonly mantissaBits: number;
  /** Exponent bias: value = 2^(e − bias) · 1.m for normal codes. */
  readonly bias: number;
  /** Whether the all-ones exponent encodes ±inf (mantissa 0) and NaN (mantissa ≠ 0). */
  readonly hasInfinity: boolean;
  /** Largest finite magnitude's code (without sign). */
  readonly maxFiniteCode: number;
  /** What ±inf and finite overflow encode to (without sign): the inf code, or maxFiniteCode when saturating. */
  readonly overflowCode: number;
  /**
   * The code PyTorch 2.13 (CPU) writes for a NaN input; `signed` ORs in the input's sign bit. bfloat16's
   * vectorised CPU conversion writes 0xFFFF for every NaN (the scalar c10 path would write 0x7FC0).
   */
  readonly nanCode: number;
  readonly nanSigned: boolean;
  /** float16 (F16C's conversion) also keeps the top mantissa bits of the NaN's payload. */
  readonly nanPayload: boolean;
}

export const FORMATS: Readonly<Record<LowPrecisionDtype, Format>> = Object.freeze({
  float16: fmt('float16', 16, 5, 10, 15, true, 0x7bff, 0x7c00, 0x7e00, true, true),
  bfloat16: fmt('bfloat16', 16, 8, 7, 127, true, 0x7f7f, 0x7f80, 0xffff, false, false),
  float8_e4m3fn: fmt('float8_e4m3fn', 8, 4, 3, 7, false, 0x7e, 0x7e, 0x7f, true, false),
  float8_e5m2: fmt('float8_e5m2', 8, 5, 2, 15, true, 0x7b, 0x7c, 0x7f, true, false),
});

function fmt(
  name: LowPrecisionDtype,
  bits: 16 | 8,
  exponentBits: number,
  mantissaBits: number,
  bias: number,
  hasInfinity: boolean,
  maxFiniteCode: number,
  overflowCode: number,
  nanCode: number,
  nanSigned: boolean,
  nanPayload: boolean,
): Format {
  return Object.freeze({ name, bits, exponentBits, mantissaBits, bias, hasInfinity, maxFiniteCode, overflowCode, nanCode, nanSigned, nanPayload });
}

export function isLowPrecisionDtype(dtype: unknown): dtype is LowPrecisionDtype {
  return typeof dtype === 'string' && (LOW_PRECISION_DTYPES as readonly string[]).includes(dtype);
}

/** Bytes per stored element: 2 or 1. */
export function bytesPerCode(dtype: LowPrecisionDtype): 2 | 1 {
  return FORMATS[dtype].bits === 16 ? 2 : 1;
}
