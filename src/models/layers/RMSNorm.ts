import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, checkInt, checkPositive } from './checks.js';
import { onesParameter } from './init.js';

export interface RMSNormOptions {
  eps?: number;
  /** Learn a scale (`weight`, ones). Default true. */
  elementwiseAffine?: boolean;
}

/**
 * Root-mean-square normalization over the last dimension, as diffusers' RMSNorm:
 * y = x · rsqrt(mean(x²) + eps) · weight. `weight` is [dim].
 *
 * forward(x: [..., dim]) → same shape.
 */
@module()
export class RMSNorm extends Module {
  readonly weight: Parameter | undefined;
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, options: RMSNormOptions = {}) {
    super();
    const { eps = 1e-6, elementwiseAffine = true } = options;
    this.dim = checkInt(dim, 'RMSNorm', 'dim');
    this.eps = checkPositive(eps, 'RMSNorm', 'eps');
    checkBoolean(elementwiseAffine, 'RMSNorm', 'elementwiseAffine');
    this.weight = elementwiseAffine ? onesParameter([dim]) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.dim, dtype: 'float32', expected: `[..., ${this.dim}]` });
    const meanSquare = tf.mean(tf.square(x), -1, true);
    let y = tf.mul(x, tf.rsqrt(tf.add(meanSquare, this.eps)));
    if (this.weight !== undefined) y = tf.mul(y, this.weight.read());
    return y;
  }
}
