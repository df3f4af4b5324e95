import { ERROR_CODES, MemhooksError } from '../base/errors.js';

/** A size: bytes as a number, or a string with a unit ("5GB", "2GiB", "500MB", "10Gb" for gigabits). */
export type Size = number | string;

const UNITS: ReadonlyArray<readonly [suffix: string, factor: number]> = [
  ['GIB', 2 ** 30],
  ['MIB', 2 ** 20],
  ['KIB', 2 ** 10],
  ['GB', 1e9],
  ['MB', 1e6],
  ['KB', 1e3],
];

const NUMBER = /^\s*[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * Bytes from a size, with accelerate's convert_file_size_to_int semantics: binary units (KiB, MiB, GiB)
 * are powers of 2, decimal units (KB, MB, GB) powers of 10, a decimal unit ending in a lower-case "b"
 * ("5Gb") means bits and is divided by 8, units are case-insensitive otherwise, fractions are truncated.
 * Anything else (no unit, a negative or non-finite number, an unknown unit) throws.
 *
 * @example parseSize('5GB') === 5e9; parseSize('2GiB') === 2 * 2 ** 30; parseSize(1024) === 1024
 */
export function parseSize(size: Size, what = 'size'): number {
  if (typeof size === 'number') {
    if (Number.isSafeInteger(size) && size >= 0) return size;
    throw invalid(size, what, 'a number of bytes must be a non-negative whole number');
  }
  if (typeof size !== 'string') throw invalid(size, what, `expected a number or a string, got ${typeof size}`);
  const upper = size.trim().toUpperCase();
  for (const [suffix, factor] of UNITS) {
    if (!upper.endsWith(suffix)) continue;
    const digits = size.trim().slice(0, -suffix.length);
    if (!NUMBER.test(digits)) throw invalid(size, what, `"${digits}" is not a non-negative number`);
    const bytes = Math.trunc(Number(digits) * factor);
    const bits = !suffix.includes('I') && size.trim().endsWith('b');
    const result = bits ? Math.floor(bytes / 8) : bytes;
    if (!Number.isSafeInteger(result)) throw invalid(size, what, 'it is too large');
    return result;
  }
  throw invalid(size, what, unitProblem(size.trim()));
}

const VALID_UNITS = 'use KB, MB, GB (powers of 10) or KiB, MiB, GiB (powers of 2), or pass a number of bytes';

/** Why a string that ends in no known unit is refused: a bare number, an unknown unit, or no number at all. */
function unitProblem(text: string): string {
  if (NUMBER.test(text)) return `it has no unit; ${VALID_UNITS}`;
  const parts = /^([+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S+)$/.exec(text);
  if (parts !== null) {
    return `"${parts[2]}" is not a unit memhooks knows. Units: KB, MB, GB (powers of 10), KiB, MiB, GiB (powers of 2), any case; a lower-case b (5Gb) means bits. Or pass a number of bytes`;
  }
  return `it is not a size (a non-negative number and a unit, such as "500MB"); ${VALID_UNITS}`;
}

function invalid(size: unknown, what: string, why: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.INVALID_SIZE, `Invalid ${what} ${JSON.stringify(size) ?? String(size)}: ${why}.`);
}
