import { describe, expect, it } from 'vitest';
import { decodeInto, decodePacked, decodeValue, encodePacked, LOW_PRECISION_DTYPES, viewPacked, wordCount } from '../../src/dtypes/index.js';
import { DEFINITIONS, valueOf } from './definitions.js';

describe('decode', () => {
  for (const dtype of LOW_PRECISION_DTYPES) {
    const d = DEFINITIONS[dtype]!;
    const count = 2 ** d.bits;

    it(`${dtype}: every one of the ${count} codes decodes to the value its definition gives`, () => {
      const codes = d.bits === 16 ? new Uint16Array(count) : new Uint8Array(count);
      for (let c = 0; c < count; c++) codes[c] = c;
      const bulk = decodeInto(dtype, codes, new Float32Array(count));
      let checked = 0;
      for (let c = 0; c < count; c++) {
        const expected = valueOf(c, d);
        const got = bulk[c]!;
        if (Number.isNaN(expected)) expect(Number.isNaN(got), `code ${c}`).toBe(true);
        // Object.is tells −0 from +0.
        else if (!Object.is(got, expected)) expect.fail(`${dtype} code 0x${c.toString(16)}: got ${got}, expected ${expected}`);
        expect(Object.is(decodeValue(dtype, c), got) || (Number.isNaN(got) && Number.isNaN(decodeValue(dtype, c)))).toBe(true);
        checked++;
      }
      expect(checked).toBe(count);
    });
  }

  it('reads the largest finite values and the special codes as the formats define them', () => {
    expect(decodeValue('float8_e4m3fn', 0x7e)).toBe(448);
    expect(decodeValue('float8_e4m3fn', 0xfe)).toBe(-448);
    expect(decodeValue('float8_e4m3fn', 0x7f)).toBeNaN();
    expect(decodeValue('float8_e4m3fn', 0x78)).toBe(256); // e4m3fn uses the top exponent for finite values
    expect(decodeValue('float8_e5m2', 0x7b)).toBe(57344);
    expect(decodeValue('float8_e5m2', 0x7c)).toBe(Infinity);
    expect(decodeValue('float16', 0x7bff)).toBe(65504);
    expect(decodeValue('float16', 0x0001)).toBe(2 ** -24);
    expect(decodeValue('bfloat16', 0x0001)).toBe(2 ** -133);
    expect(Object.is(decodeValue('bfloat16', 0x8000), -0)).toBe(true);
  });

  it('decodes a sub-range only, for workers that split the work', () => {
    const codes = new Uint8Array([0x38, 0x40, 0x48, 0x50]);
    const out = new Float32Array(4).fill(7);
    decodeInto('float8_e4m3fn', codes, out, 1, 3);
    expect(Array.from(out)).toEqual([7, 2, 4, 7]);
  });
});

describe('packing', () => {
  it('pads to whole int32 words and puts code i of a word in its low bits first', () => {
    expect(wordCount('float8_e5m2', 5)).toBe(2);
    expect(wordCount('bfloat16', 3)).toBe(2);
    const packed = encodePacked('float8_e4m3fn', new Float32Array([1, 2, 4, -1, 0.5]));
    expect(packed.words.length).toBe(2);
    // 1 → 0x38, 2 → 0x40, 4 → 0x48, −1 → 0xB8: little-endian word 0xB8484038.
    expect(packed.words[0]! >>> 0).toBe(0xb8484038);
    const view = viewPacked('float8_e4m3fn', packed.words, 5);
    expect(Array.from(decodePacked(view))).toEqual([1, 2, 4, -1, 0.5]);
  });

  it('refuses too few words and too short an output', () => {
    expect(() => viewPacked('float16', new Int32Array(1), 3)).toThrow(/need 2 int32 words/);
    expect(() => decodePacked(encodePacked('float16', new Float32Array(3)), new Float32Array(2))).toThrow(/output of 3/);
  });
});
