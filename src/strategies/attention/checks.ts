import { InvalidArgumentError } from '../../base/errors.js';

/** Slice and block sizes are row counts: integers ≥ 1 (0 would never advance). */
export function checkRows(value: unknown, name: string, where: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new InvalidArgumentError(`${where}: \`${name}\` must be an integer ≥ 1 (rows per step), got ${String(value)}.`);
  }
  return value as number;
}
