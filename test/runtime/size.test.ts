import { describe, expect, it } from 'vitest';
import { MemhooksError, parseSize } from '../../src/index.js';

describe('parseSize (accelerate convert_file_size_to_int semantics)', () => {
  it.each([
    ['5GB', 5e9],
    ['2GiB', 2 * 2 ** 30],
    ['500MB', 5e8],
    ['1.5MiB', 1.5 * 2 ** 20],
    ['10KB', 10_000],
    ['3KiB', 3072],
    ['5gb', 625_000_000],
    ['8Mb', 1_000_000],
    ['1.5gib', Math.trunc(1.5 * 2 ** 30)],
    ['0.3KB', 300],
    [' 7GB ', 7e9],
    ['0MB', 0],
  ])('parses %j as %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it('accepts whole non-negative numbers of bytes', () => {
    expect(parseSize(0)).toBe(0);
    expect(parseSize(123456789)).toBe(123456789);
  });

  it.each([['5'], ['5TB'], ['GB'], ['-1GB'], ['abcMB'], ['1e400GB'], ['five GB'], [''], ['NaNGB']])('refuses %j', (input) => {
    expect(() => parseSize(input)).toThrow(MemhooksError);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses the number %d', (input) => {
    expect(() => parseSize(input)).toThrow(/non-negative whole number/);
  });

  it('says what was wrong and what to use', () => {
    expect(() => parseSize('12', 'maxMemory.device')).toThrow(
      'Invalid maxMemory.device "12": it has no unit; use KB, MB, GB (powers of 10) or KiB, MiB, GiB (powers of 2), or pass a number of bytes.',
    );
    expect(() => parseSize(null as unknown as string)).toThrow(/expected a number or a string, got object/);
  });
});
