import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import { checkBoolean, checkInput, checkInt } from './checks.js';
import { gelu } from './GELU.js';
import { Linear } from './Linear.js';

export interface GEGLUOptions {
  bias?: boolean;
}

/**
 * Gated GELU, as diffusers' activations.GEGLU: `proj` is Linear(dimIn, 2·dimOut); its output is split in
 * half along the last dimension into (hidden, gate) and the result is hidden · gelu(gate) (exact GELU).
 *
 * forward(x: [..., dimIn]) → [..., dimOut].
 */
@module()
export class GEGLU extends Module {
  readonly proj: Linear;
  readonly dimOut: number;

  constructor(dimIn: number, dimOut: number, options: GEGLUOptions = {}) {
    super();
    const { bias = true } = options;
    checkInt(dimIn, 'GEGLU', 'dimIn');
    this.dimOut = checkInt(dimOut, 'GEGLU', 'dimOut');
    checkBoolean(bias, 'GEGLU', 'bias');
    this.proj = new Linear(dimIn, 2 * dimOut, { bias });
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.proj.inFeatures, dtype: 'float32', expected: `[..., ${this.proj.inFeatures}]` });
    const h = this.proj.forward(x);
    // Split a 2-D view: cpu's slice walks every element's index, and a rank-2 index is cheaper to walk.
    const flat = h.rank === 2 ? h : tf.reshape(h, [-1, 2 * this.dimOut]);
    const [hidden, gate] = tf.split(flat, 2, -1);
    const y = tf.mul(hidden!, gelu(gate!));
    return h.rank === 2 ? y : tf.reshape(y, [...h.shape.slice(0, -1), this.dimOut]);
  }
}
