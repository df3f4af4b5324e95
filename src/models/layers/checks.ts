import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { describeModule } from '../paths.js';

/**
 * Argument and input checks shared by the built-in layers. Each one throws an InvalidArgumentError that
 * says what was wrong, where (layer class and argument, or module path) and what to pass instead, so a bad
 * call never surfaces as an assertion deep inside a tfjs kernel.
 */

/** Throws unless `value` is an integer ≥ `min` (1 by default). */
export function checkInt(value: unknown, where: string, arg: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const wanted = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`;
    throw new InvalidArgumentError(`${where}: \`${arg}\` must be ${wanted}, got ${String(value)}. Pass ${wanted}.`);
  }
  return value;
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositive(value: unknown, where: string, arg: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${where}: \`${arg}\` must be a finite number > 0, got ${String(value)}.`);
  }
  return value;
}

export function checkBoolean(value: unknown, where: string, arg: string): boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(`${where}: \`${arg}\` must be true or false, got ${String(value)}.`);
  }
  return value;
}

/** A number or an [h, w] pair of integers ≥ `min`, as PyTorch's _pair. */
export function checkPair(value: unknown, where: string, arg: string, min = 1): [number, number] {
  if (typeof value === 'number') {
    checkInt(value, where, arg, min);
    return [value, value];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [checkInt(value[0], where, `${arg}[0]`, min), checkInt(value[1], where, `${arg}[1]`, min)];
  }
  throw new InvalidArgumentError(
    `${where}: \`${arg}\` must be a number or an [height, width] pair, got ${JSON.stringify(value)}.`,
  );
}

/** One of `allowed`, or an InvalidArgumentError listing them. */
export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], where: string, arg: string): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new InvalidArgumentError(
      `${where}: \`${arg}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}.`,
    );
  }
  return value as T;
}

/** `Module "blocks.3" (Linear)` or `Module Linear`: the subject of an error sentence. */
export function moduleSubject(module: object): string {
  return `Module ${describeModule(module)}`;
}

export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
}

export interface InputSpec {
  /** Exact rank, or the minimum rank when `minRank` is used instead. */
  rank?: number;
  minRank?: number;
  /** Required size of the last dimension. */
  lastDim?: number;
  dtype?: 'float32' | 'int32';
  /** How the expected shape reads in messages, e.g. "[batch, height, width, 3]". */
  expected: string;
}

/** Checks a forward input and names the module, the expected and the actual shape when it does not fit. */
export function checkInput(module: object, x: unknown, spec: InputSpec, arg = 'input'): tf.Tensor {
  // The subject (a path lookup) is built only when a message needs it: this runs on every forward.
  const where = (): string => moduleSubject(module);
  if (!(x instanceof tf.Tensor)) {
    throw new InvalidArgumentError(`${where()} expects its ${arg} to be a tf.Tensor of shape ${spec.expected}, got ${describe(x)}.`);
  }
  if (x.isDisposed) throw new InvalidArgumentError(`${where()} was given a disposed tensor as its ${arg}.`);
  const badRank = (spec.rank !== undefined && x.rank !== spec.rank) || (spec.minRank !== undefined && x.rank < spec.minRank);
  const badLast = spec.lastDim !== undefined && x.shape[x.rank - 1] !== spec.lastDim;
  if (badRank || badLast) {
    throw new InvalidArgumentError(
      `${where()} expects its ${arg} to have shape ${spec.expected}, got ${formatShape(x.shape)}. Reshape the ${arg} ` +
        `or construct the layer with matching sizes.`,
    );
  }
  if (spec.dtype !== undefined && x.dtype !== spec.dtype) {
    throw new InvalidArgumentError(
      `${where()} expects its ${arg} to be ${spec.dtype}, got ${x.dtype}. Cast it first (tf.cast(x, '${spec.dtype}')).`,
    );
  }
  return x;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
