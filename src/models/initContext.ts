import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { mulberry32 } from '../runtime/random.js';
import { Parameter } from './Parameter.js';

/** Where new weights are created and how their values are drawn while `withParameterInit` runs. */
export interface ParameterInitOptions {
  /** 'device' uploads each weight as it is made; 'host' keeps it in host memory, never on the device. */
  tier?: 'device' | 'host';
  /** Seed of the deterministic generator: the same seed gives the same weights on every backend and tier. */
  seed: number;
}

interface InitState {
  tier: 'device' | 'host';
  next: () => number;
}

let active: InitState | undefined;

/**
 * Builds modules whose layers draw their initial weights from a seeded JS generator, straight into the
 * given tier. A model larger than the device can then be built on the host (and offloaded) without ever
 * being resident, and its weights are identical whatever the backend: tf.randomUniform's values differ
 * between backends and always land on the device.
 *
 * @example
 * const big = withParameterInit({ tier: 'host', seed: 0 }, () => new Denoiser(config));
 */
export function withParameterInit<T>(options: ParameterInitOptions, build: () => T): T {
  const { tier = 'device', seed } = options;
  if (tier !== 'device' && tier !== 'host') {
    throw new InvalidArgumentError(`withParameterInit: \`tier\` must be 'device' or 'host', got ${JSON.stringify(tier)}.`);
  }
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`withParameterInit: \`seed\` must be an integer, got ${String(seed)}.`);
  const saved = active;
  active = { tier, next: mulberry32(seed) };
  try {
    return build();
  } finally {
    active = saved;
  }
}

/** @internal The active init context, if any (the layers' init functions consult it). */
export function parameterInit(): { random: () => number; place(data: Float32Array, shape: number[]): Parameter } | undefined {
  const state = active;
  if (state === undefined) return undefined;
  return {
    random: state.next,
    place(data, shape) {
      return state.tier === 'host' ? new Parameter({ data, shape }) : new Parameter(tf.tensor(data, shape, 'float32'));
    },
  };
}
