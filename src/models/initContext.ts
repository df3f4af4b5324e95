import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../base/errors.js';
import { mulberry32 } from '../runtime/random.js';
import { parseSize, type Size } from '../runtime/size.js';
import { InitShardWriter, prepareInitDir } from './initDisk.js';
import { Parameter } from './Parameter.js';

/** Where new weights are created and how their values are drawn while `withParameterInit` runs. */
export interface ParameterInitOptions {
  /**
   * 'device' uploads each weight as it is made; 'host' keeps it in host memory, never on the device;
   * 'disk' writes it to a file under `dir` as it is made and leaves it only there (host memory holds one
   * shard buffer at a time, never the model).
   */
  tier?: 'device' | 'host' | 'disk';
  /** Seed of the deterministic generator: the same seed gives the same weights on every backend and tier. */
  seed: number;
  /**
   * Tier 'disk' only (and required there): the folder for the weight files, created if missing. The files
   * are the caller's: disposing the model leaves them (delete the folder when done). Building again into
   * the same folder replaces them atomically; a model still alive from the earlier build then refuses to
   * read the replaced files (OFFLOAD_FILE_CHANGED) rather than read other values: give each live model its own folder.
   */
  dir?: string;
  /** Tier 'disk' only: the largest shard file, which is also the most host memory held while building (default '64MiB'). */
  maxShardSize?: Size;
}

interface InitState {
  tier: 'device' | 'host' | 'disk' | 'placeholder';
  next: () => number;
  writer?: InitShardWriter;
}

const DEFAULT_MAX_SHARD_BYTES = 64 * 2 ** 20;

let active: InitState | undefined;

/**
 * Builds modules whose layers draw their initial weights from a seeded JS generator, straight into the
 * given tier. A model larger than the device can then be built on the host (and offloaded) without ever
 * being resident, or on disk without ever being whole in host memory either; its weights are identical
 * whatever the backend and the tier: tf.randomUniform's values differ between backends and always land on
 * the device.
 *
 * With tier 'disk', weights are written to `dir` as shard files (`weights-00001.safetensors`, …, each
 * written atomically) and an index `memhooks-init.json` last; a build that throws releases its weights and
 * removes the shards it wrote.
 *
 * @example
 * const big = withParameterInit({ tier: 'host', seed: 0 }, () => new Denoiser(config));
 * const huge = withParameterInit({ tier: 'disk', dir: '/data/denoiser', seed: 0 }, () => new Denoiser(config));
 */
export function withParameterInit<T>(options: ParameterInitOptions, build: () => T): T {
  const { tier = 'device', seed, dir, maxShardSize } = options ?? ({} as ParameterInitOptions);
  if (tier !== 'device' && tier !== 'host' && tier !== 'disk') {
    throw new InvalidArgumentError(`withParameterInit: \`tier\` must be 'device', 'host' or 'disk', got ${JSON.stringify(tier)}.`);
  }
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`withParameterInit: \`seed\` must be an integer, got ${String(seed)}.`);
  if (tier !== 'disk' && (dir !== undefined || maxShardSize !== undefined)) {
    throw new InvalidArgumentError(`withParameterInit: \`${dir !== undefined ? 'dir' : 'maxShardSize'}\` applies only to tier 'disk', but tier is '${tier}'. Pass tier: 'disk', or drop it.`);
  }
  let writer: InitShardWriter | undefined;
  if (tier === 'disk') {
    const maxBytes = maxShardSize === undefined ? DEFAULT_MAX_SHARD_BYTES : parseSize(maxShardSize, 'withParameterInit `maxShardSize`');
    if (maxBytes === 0) throw new InvalidArgumentError(`withParameterInit: \`maxShardSize\` must be more than 0 bytes.`);
    writer = new InitShardWriter(prepareInitDir(dir), maxBytes, seed);
  }
  const saved = active;
  active = { tier, next: mulberry32(seed), writer };
  let built: T;
  try {
    built = build();
    writer?.finish(built);
  } catch (error) {
    writer?.abort();
    throw error;
  } finally {
    active = saved;
  }
  return built;
}

/** Where a placeholder's bytes would be: nowhere. Reading one means a loader forgot to replace it. */
const PLACEHOLDER = Object.freeze({
  path: '(placeholder, not loaded)',
  read(): never {
    throw new InvalidArgumentError('A placeholder weight of a model being loaded was read before its checkpoint value replaced it.');
  },
});

/**
 * @internal Builds a model whose init-helper weights hold no memory: each is drawn (transiently, one at a time)
 * and left on the "disk" tier behind a reference that refuses to be read. fromPretrained replaces every one
 * before the model is returned, so host memory never holds the placeholders of the whole model at once.
 */
export function withPlaceholderInit<T>(build: () => T): T {
  const saved = active;
  active = { tier: 'placeholder', next: mulberry32(0) };
  try {
    return build();
  } finally {
    active = saved;
  }
}

/** @internal The active init context, if any (the layers' init functions consult it). */
export function parameterInit(): { random: () => number; alloc(length: number): Float32Array; place(data: Float32Array, shape: number[]): Parameter } | undefined {
  const state = active;
  if (state === undefined) return undefined;
  return {
    random: state.next,
    // A zeroed array for the values: from the shard writer's arena when generating on disk (initArena.ts).
    alloc: (length) => state.writer?.alloc(length) ?? new Float32Array(length),
    place(data, shape) {
      if (state.writer !== undefined) return state.writer.place(data, shape);
      if (state.tier === 'placeholder') return new Parameter({ data, shape }).toDisk(PLACEHOLDER);
      return state.tier === 'host' ? new Parameter({ data, shape }) : new Parameter(tf.tensor(data, shape, 'float32'));
    },
  };
}
