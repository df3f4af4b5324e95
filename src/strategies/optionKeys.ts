import { InvalidArgumentError } from '../base/errors.js';
import { describeValue } from '../models/paths.js';

/**
 * Checks that `options` is an options object (or nothing) whose keys are all in `known`, and returns it as a
 * record. Every apply* / enable* entry point calls it before anything else, so that a misspelt option
 * (`tileOverlapp`) is refused instead of silently falling back to the default. The error names the function,
 * each unknown key with the closest valid one when there is a close one, and every valid key.
 *
 * @param fn How the caller is named in the message, e.g. 'applyTiling' or 'enableVaeTiling: `encoder`'.
 */
export function checkOptionKeys(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${fn} needs an options object (or nothing), got ${describeValue(options)}. Valid options: ${known.join(', ')}.`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const named = unknown.map((k) => {
      const guess = closestKey(k, known);
      return guess === undefined ? `\`${k}\`` : `\`${k}\` (did you mean \`${guess}\`?)`;
    });
    const verb = unknown.length === 1 ? 'is not one of its options' : 'are not among its options';
    throw new InvalidArgumentError(`${fn}: ${named.join(', ')} ${verb}; nothing was changed. Valid options: ${known.join(', ')}.`);
  }
  return options as Record<string, unknown>;
}

/**
 * The valid key a typo most likely meant: the same letters in another case, else the nearest by edit
 * distance (insertions, deletions, substitutions and swaps of neighbours) within about a third of its length.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameLetters = known.find((k) => k.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: Levenshtein plus transposition of two neighbouring letters. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
