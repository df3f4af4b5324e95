/**
 * The formats written out from their definitions, independently of src/dtypes: the value of a code is
 * (−1)^s · 2^(e − bias) · (1 + m/2^M) for normal codes and (−1)^s · 2^(1 − bias) · m/2^M for subnormal ones,
 * computed in float64 arithmetic (exact for these small formats).
 */
export interface Definition {
  bits: number;
  e: number;
  m: number;
  bias: number;
  /** 'ieee': all-ones exponent = inf/NaN; 'fn': only the all-ones magnitude is NaN, no infinities. */
  special: 'ieee' | 'fn';
}

export const DEFINITIONS: Record<string, Definition> = {
  float16: { bits: 16, e: 5, m: 10, bias: 15, special: 'ieee' },
  bfloat16: { bits: 16, e: 8, m: 7, bias: 127, special: 'ieee' },
  float8_e4m3fn: { bits: 8, e: 4, m: 3, bias: 7, special: 'fn' },
  float8_e5m2: { bits: 8, e: 5, m: 2, bias: 15, special: 'ieee' },
};

export function valueOf(code: number, d: Definition): number {
  const s = Math.floor(code / 2 ** (d.bits - 1)) % 2 === 1 ? -1 : 1;
  const e = Math.floor(code / 2 ** d.m) % 2 ** d.e;
  const m = code % 2 ** d.m;
  const magnitude = code % 2 ** (d.bits - 1);
  if (d.special === 'ieee' && e === 2 ** d.e - 1) return m === 0 ? s * Infinity : NaN;
  if (d.special === 'fn' && magnitude === 2 ** (d.bits - 1) - 1) return NaN;
  if (e === 0) return s * 2 ** (1 - d.bias) * (m / 2 ** d.m);
  return s * 2 ** (e - d.bias) * (1 + m / 2 ** d.m);
}

/** Every finite non-negative value of the format, ascending, with its code (the positive zero included). */
export function finiteLadder(d: Definition): Array<{ code: number; value: number }> {
  const out: Array<{ code: number; value: number }> = [];
  for (let c = 0; c < 2 ** (d.bits - 1); c++) {
    const v = valueOf(c, d);
    if (Number.isFinite(v)) out.push({ code: c, value: v });
  }
  return out;
}
