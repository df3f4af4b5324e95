import * as tf from '@tensorflow/tfjs-core';
import { int32IsExact } from '../../runtime/int32Math.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { isLowPrecisionDtype, LOW_PRECISION_DTYPES, type LowPrecisionDtype } from '../../dtypes/index.js';
import { Module } from '../../models/Module.js';
import { describeValue } from '../../models/paths.js';
import { checkOptionKeys } from '../optionKeys.js';
import { DEFAULT_SKIP_MODULES_PATTERN } from './names.js';

/** Where low-precision weights are decoded to float32 for a forward; see decodeSites.ts. */
export const DECODE_SITES = ['auto', 'host', 'device'] as const;
export type DecodeSite = (typeof DECODE_SITES)[number];

export interface LayerwiseCastingOptions {
  /** The dtype weights are stored in between forwards (default 'float8_e4m3fn'). */
  storageDtype?: LowPrecisionDtype;
  /** The dtype weights are decoded to for compute: tfjs computes in float32 only (default 'float32'). */
  computeDtype?: 'float32';
  /**
   * 'auto' (default): DEFAULT_SKIP_MODULES_PATTERN. An array replaces the defaults; null (or []) skips by no
   * pattern. The @module({ skipLayerwiseCasting, keepInFp32 }) metadata of the classes in the tree is added
   * in every case (as diffusers' enable_layerwise_casting adds a model's own lists).
   */
  skipModulesPattern?: 'auto' | ReadonlyArray<string | RegExp> | null;
  /** Module classes (constructors, or class names such as a wrapped tfjs layer's 'BatchNormalization') whose whole subtree stays float32. */
  skipModulesClasses?: ReadonlyArray<Function | string>;
  /** Accepted for parity with diffusers; decoding is synchronous on the forward's thread either way. */
  nonBlocking?: boolean;
  /** memhooks extension: where to decode ('auto' picks per backend, see docs/layerwise-casting.md). */
  decodeSite?: DecodeSite;
}

export interface LayerwiseCastingConfig {
  readonly storageDtype: LowPrecisionDtype;
  readonly patterns: readonly RegExp[];
  readonly skipClasses: ReadonlyArray<Function | string>;
  readonly nonBlocking: boolean;
  readonly decodeSite: 'host' | 'device';
}

/** The keys of LayerwiseCastingOptions, for the unknown-key check. */
export const LAYERWISE_CASTING_OPTION_KEYS = ['storageDtype', 'computeDtype', 'skipModulesPattern', 'skipModulesClasses', 'nonBlocking', 'decodeSite'] as const;

/** Checks every option (unknown keys too) and returns the frozen config; throws InvalidArgumentError naming the first bad one. */
export function resolveConfig(options: LayerwiseCastingOptions | undefined): LayerwiseCastingConfig {
  const o = checkOptionKeys('applyLayerwiseCasting', options, LAYERWISE_CASTING_OPTION_KEYS) as LayerwiseCastingOptions;
  const storageDtype = o.storageDtype ?? 'float8_e4m3fn';
  if (!isLowPrecisionDtype(storageDtype)) {
    throw new InvalidArgumentError(
      `applyLayerwiseCasting: storageDtype ${show(storageDtype)} is not a storage dtype layerwise casting supports. ` +
        `Valid storage dtypes: ${LOW_PRECISION_DTYPES.join(', ')}.`,
    );
  }
  const computeDtype = o.computeDtype ?? 'float32';
  if (computeDtype !== 'float32') {
    throw new InvalidArgumentError(
      `applyLayerwiseCasting: computeDtype ${show(computeDtype)} is not supported: tfjs kernels compute in float32 ` +
        `(and int32) only, so weights are always decoded to float32. Leave computeDtype out or pass 'float32'.`,
    );
  }
  return Object.freeze({
    storageDtype,
    patterns: Object.freeze(compilePatterns(o.skipModulesPattern === undefined ? 'auto' : o.skipModulesPattern, 'skipModulesPattern')),
    skipClasses: Object.freeze(checkClasses(o.skipModulesClasses)),
    nonBlocking: checkBoolean(o.nonBlocking, 'nonBlocking'),
    decodeSite: resolveSite(o.decodeSite),
  });
}

/** Patterns as regular expressions with search semantics (no global/sticky state between tests). */
export function compilePatterns(patterns: unknown, where: string): RegExp[] {
  if (patterns === null) return [];
  if (patterns === 'auto') return DEFAULT_SKIP_MODULES_PATTERN.map((p) => new RegExp(p));
  if (!Array.isArray(patterns)) {
    throw new InvalidArgumentError(`applyLayerwiseCasting: ${where} must be 'auto', null or an array of strings / RegExps, got ${describeValue(patterns)}.`);
  }
  return patterns.map((p, i) => {
    if (p instanceof RegExp) return new RegExp(p.source, p.flags.replace(/[gy]/g, ''));
    if (typeof p !== 'string') throw new InvalidArgumentError(`applyLayerwiseCasting: ${where}[${i}] must be a string or RegExp, got ${describeValue(p)}.`);
    try {
      return new RegExp(p);
    } catch (cause) {
      throw new InvalidArgumentError(`applyLayerwiseCasting: ${where}[${i}] ${JSON.stringify(p)} is not a valid regular expression.`, { cause });
    }
  });
}

function checkClasses(classes: unknown): Array<Function | string> {
  if (classes === undefined || classes === null) return [];
  if (!Array.isArray(classes)) {
    throw new InvalidArgumentError(`applyLayerwiseCasting: skipModulesClasses must be an array of Module classes or class names, got ${describeValue(classes)}.`);
  }
  classes.forEach((c, i) => {
    const ok = typeof c === 'string' || (typeof c === 'function' && (c === Module || c.prototype instanceof Module));
    if (!ok) throw new InvalidArgumentError(`applyLayerwiseCasting: skipModulesClasses[${i}] must be a Module subclass or a class name, got ${describeValue(c)}.`);
  });
  return [...classes];
}

/** A string as written (the likely typo is then visible); anything else described by its type. */
function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : describeValue(value);
}

function checkBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`applyLayerwiseCasting: ${name} must be a boolean, got ${describeValue(value)}.`);
  return value;
}

function resolveSite(site: unknown): 'host' | 'device' {
  if (site === undefined || site === 'auto') return defaultDecodeSite(tf.getBackend());
  if (site === 'device' && !int32IsExact()) {
    throw new InvalidArgumentError(
      `applyLayerwiseCasting: decodeSite 'device' cannot be exact on the "${tf.getBackend()}" backend: it computes int32 ` +
        `through float32, which rounds the packed codes (exact only below 2^24). Leave decodeSite out (or 'host'): the ` +
        `codes are decoded from the host's copy and only float32 values are uploaded.`,
    );
  }
  if (site === 'host' || site === 'device') return site;
  throw new InvalidArgumentError(`applyLayerwiseCasting: decodeSite must be one of ${DECODE_SITES.join(', ')}, got ${show(site)}.`);
}

/**
 * The decode site per backend. Measured (bench/results/casting.md): on cpu and wasm decoding in JS and
 * uploading float32 is about 50× faster than decoding with tfjs ops, so 'host'. 'tensorflow' (tfjs-node)
 * keeps tensors in CPU memory too: 'host'. On 'webgl' and 'webgpu' the device's int32 arithmetic goes through
 * float32 (runtime/int32Math.ts), so a decode there would round the codes: 'host' too. 'device' stays for
 * backends with exact int32 where uploading a quarter of the bytes and gathering there may win.
 */
export function defaultDecodeSite(_backend: string): 'host' | 'device' {
  return 'host';
}
