import * as tf from '@tensorflow/tfjs-core';
import { module } from '../../models/decorators.js';
import { LayerNorm } from '../../models/layers/LayerNorm.js';
import { Linear } from '../../models/layers/Linear.js';
import { Module } from '../../models/Module.js';

/** x·(1 + scale) + shift, with [batch, dim] modulation broadcast over the tokens of x [batch, N, dim]. */
export function modulate(x: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, tf.add(tf.expandDims(scale, 1), 1)), tf.expandDims(shift, 1));
}

/** gate [batch, dim] broadcast over the tokens of x [batch, N, dim]. */
export function gated(gate: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.expandDims(gate, 1), x);
}

/**
 * Adaptive layer norm whose shift/scale/gate come from the conditioning embedding, as diffusers'
 * AdaLayerNormZero (`chunks` = 6) and AdaLayerNormZeroSingle (`chunks` = 3): `linear` maps silu(emb)
 * to `chunks` vectors of size dim; `norm` is a LayerNorm without affine parameters.
 *
 * forward(x: [batch, N, dim], emb: [batch, dim]) → [normalized x, ...the chunks [batch, dim] each].
 */
@module()
export class AdaLayerNormZero extends Module {
  readonly linear: Linear;
  readonly norm: LayerNorm;

  constructor(readonly dim: number, readonly chunks: 3 | 6) {
    super();
    this.linear = new Linear(dim, chunks * dim);
    this.norm = new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6 });
  }

  forward(x: tf.Tensor, emb: tf.Tensor): tf.Tensor[] {
    const parts = tf.split(this.linear.forward(tf.mul(emb, tf.sigmoid(emb))), this.chunks, -1);
    return [modulate(this.norm.forward(x), parts[0]!, parts[1]!), ...parts.slice(2)];
  }
}

/**
 * The output norm of a DiT (diffusers' AdaLayerNormContinuous): scale and shift from silu(emb), then
 * LayerNorm(x)·(1 + scale) + shift.
 */
@module()
export class AdaLayerNormContinuous extends Module {
  readonly linear: Linear;
  readonly norm: LayerNorm;

  constructor(readonly dim: number) {
    super();
    this.linear = new Linear(dim, 2 * dim);
    this.norm = new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6 });
  }

  forward(x: tf.Tensor, emb: tf.Tensor): tf.Tensor {
    const [scale, shift] = tf.split(this.linear.forward(tf.mul(emb, tf.sigmoid(emb))), 2, -1);
    return modulate(this.norm.forward(x), shift!, scale!);
  }
}
