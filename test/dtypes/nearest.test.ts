import { describe, expect, it } from 'vitest';
import { decodeInto, encodeInto, LOW_PRECISION_DTYPES } from '../../src/dtypes/index.js';
import { mulberry32 } from '../../src/runtime/random.js';
import { DEFINITIONS, finiteLadder, type Definition } from './definitions.js';

/** Random float32s: half with uniformly random bits, half spread over the format's own exponent range. */
function randomInputs(d: Definition, n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  const lo = 1 - d.bias - d.m - 2;
  const hi = 2 ** d.e - d.bias + 1;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) bits[i] = Math.floor(next() * 2 ** 32);
    else out[i] = (next() < 0.5 ? -1 : 1) * 2 ** (lo + next() * (hi - lo));
  }
  return out;
}

/** The value round-to-nearest-even gives among the format's finite values, plus its overflow rule. */
function nearest(x: number, d: Definition, ladder: Array<{ code: number; value: number }>): number {
  const sign = x < 0 || Object.is(x, -0) ? -1 : 1;
  const ax = Math.abs(x);
  const top = ladder[ladder.length - 1]!;
  if (ax >= top.value) {
    if (d.special === 'fn') return sign * top.value; // saturates
    const threshold = top.value + (top.value - ladder[ladder.length - 2]!.value) / 2;
    // At the threshold the tie goes to the even code: the largest finite code is odd, so to infinity.
    return ax < threshold ? sign * top.value : sign * Infinity;
  }
  let lo = 0;
  let hi = ladder.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ladder[mid]!.value <= ax) lo = mid;
    else hi = mid;
  }
  const below = ladder[lo]!;
  const above = ladder[hi]!;
  const dBelow = ax - below.value;
  const dAbove = above.value - ax;
  const pick = dBelow < dAbove ? below : dAbove < dBelow ? above : below.code % 2 === 0 ? below : above;
  return sign * pick.value;
}

describe('encode rounds to the nearest representable value', () => {
  for (const dtype of LOW_PRECISION_DTYPES) {
    it(`${dtype}: 200,000 random float32 values land on their nearest neighbour (ties to even)`, () => {
      const d = DEFINITIONS[dtype]!;
      const ladder = finiteLadder(d);
      const xs = randomInputs(d, 200_000, 1234 + d.bits + d.e);
      const codes = encodeInto(dtype, xs, d.bits === 16 ? new Uint16Array(xs.length) : new Uint8Array(xs.length));
      const back = decodeInto(dtype, codes, new Float32Array(xs.length));
      let compared = 0;
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i]!;
        if (Number.isNaN(x)) {
          expect(back[i]).toBeNaN();
          continue;
        }
        const expected = Number.isFinite(x) || d.special === 'ieee' ? nearest(x, d, ladder) : Math.sign(x) * ladder[ladder.length - 1]!.value;
        if (!Object.is(back[i], expected)) expect.fail(`${dtype}: ${x} encoded to ${back[i]}, nearest is ${expected}`);
        compared++;
      }
      expect(compared).toBeGreaterThan(190_000);
    });
  }
});
