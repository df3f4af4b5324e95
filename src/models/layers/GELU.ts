import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import { checkBoolean, checkInput, checkInt, checkOneOf } from './checks.js';
import { Linear } from './Linear.js';

export type GeluApproximate = 'none' | 'tanh';

/**
 * GELU as torch.nn.functional.gelu: exact 0.5·x·(1 + erf(x/√2)), or with approximate 'tanh'
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 */
export function gelu(x: tf.Tensor, approximate: GeluApproximate = 'none'): tf.Tensor {
  if (approximate === 'tanh') {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

export interface GELUOptions {
  approximate?: GeluApproximate;
  bias?: boolean;
}

/**
 * A projection followed by GELU, as diffusers' activations.GELU: `proj` is Linear(dimIn, dimOut).
 *
 * forward(x: [..., dimIn]) → [..., dimOut].
 */
@module()
export class GELU extends Module {
  readonly proj: Linear;
  readonly approximate: GeluApproximate;

  constructor(dimIn: number, dimOut: number, options: GELUOptions = {}) {
    super();
    const { approximate = 'none', bias = true } = options;
    checkInt(dimIn, 'GELU', 'dimIn');
    checkInt(dimOut, 'GELU', 'dimOut');
    this.approximate = checkOneOf(approximate, ['none', 'tanh'] as const, 'GELU', 'approximate');
    checkBoolean(bias, 'GELU', 'bias');
    this.proj = new Linear(dimIn, dimOut, { bias });
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.proj.inFeatures, dtype: 'float32', expected: `[..., ${this.proj.inFeatures}]` });
    return gelu(this.proj.forward(x), this.approximate);
  }
}
