import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, checkInt, checkPositive } from './checks.js';
import { onesParameter, zerosParameter } from './init.js';

export interface GroupNormOptions {
  eps?: number;
  /** Learn a per-channel scale (`weight`, ones) and shift (`bias`, zeros). Default true. */
  affine?: boolean;
}

/**
 * Group normalization, as torch.nn.GroupNorm, on channels-last tensors: the channels are split into
 * `numGroups` consecutive groups and each (sample, group) is normalized over all its spatial positions and
 * channels with the biased variance. `weight` and `bias` are [numChannels].
 *
 * forward(x: [batch, ..., numChannels]) (NHWC for images) → same shape.
 */
@module()
export class GroupNorm extends Module {
  readonly weight: Parameter | undefined;
  readonly bias: Parameter | undefined;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    const { eps = 1e-5, affine = true } = options;
    this.numGroups = checkInt(numGroups, 'GroupNorm', 'numGroups');
    this.numChannels = checkInt(numChannels, 'GroupNorm', 'numChannels');
    this.eps = checkPositive(eps, 'GroupNorm', 'eps');
    checkBoolean(affine, 'GroupNorm', 'affine');
    if (numChannels % numGroups !== 0) {
      throw new InvalidArgumentError(
        `GroupNorm: \`numChannels\` (${numChannels}) must be divisible by \`numGroups\` (${numGroups}). ` +
          `Pick a number of groups that divides the channels.`,
      );
    }
    this.weight = affine ? onesParameter([numChannels]) : undefined;
    this.bias = affine ? zerosParameter([numChannels]) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, {
      minRank: 2, lastDim: this.numChannels, dtype: 'float32', expected: `[batch, ..., ${this.numChannels}]`,
    });
    const batch = x.shape[0];
    const perGroup = this.numChannels / this.numGroups;
    const grouped = tf.reshape(x, [batch, x.size / (batch * this.numChannels) || 0, this.numGroups, perGroup]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    // Normalization and affine folded into one scale and one shift per (sample, channel), computed on the
    // small statistics: y = x·a + (b − μ·a) with a = w·rsqrt(σ² + ε). Two passes over the activations
    // instead of four (sub, mul, mul, add); same value up to float32 rounding.
    const perChannel = [1, 1, this.numGroups, perGroup];
    let scale = tf.rsqrt(tf.add(variance, this.eps));
    if (this.weight !== undefined) scale = tf.mul(scale, tf.reshape(this.weight.read(), perChannel));
    let shift = tf.neg(tf.mul(mean, scale));
    if (this.bias !== undefined) shift = tf.add(shift, tf.reshape(this.bias.read(), perChannel));
    return tf.reshape(tf.add(tf.mul(grouped, scale), shift), x.shape);
  }
}
