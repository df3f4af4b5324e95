import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, checkInt } from './checks.js';
import { uniformParameter } from './init.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b, as torch.nn.Linear. `weight` is [outFeatures, inFeatures], PyTorch's layout, so a
 * safetensors checkpoint maps onto it without a transpose; `bias` is [outFeatures].
 *
 * forward(x: [..., inFeatures]) → [..., outFeatures].
 */
@module()
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true } = options;
    this.inFeatures = checkInt(inFeatures, 'Linear', 'inFeatures');
    this.outFeatures = checkInt(outFeatures, 'Linear', 'outFeatures');
    checkBoolean(bias, 'Linear', 'bias');
    this.weight = uniformParameter([outFeatures, inFeatures], inFeatures);
    this.bias = bias ? uniformParameter([outFeatures], inFeatures) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.inFeatures, dtype: 'float32', expected: `[..., ${this.inFeatures}]` });
    const lead = x.shape.slice(0, -1);
    const x2d = tf.reshape(x, [x.size / this.inFeatures, this.inFeatures]);
    let y = tf.matMul(x2d, this.weight.read(), false, true);
    if (this.bias !== undefined) y = tf.add(y, this.bias.read());
    return tf.reshape(y, [...lead, this.outFeatures]);
  }
}
