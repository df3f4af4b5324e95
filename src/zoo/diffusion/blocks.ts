import * as tf from '@tensorflow/tfjs-core';
import { module } from '../../models/decorators.js';
import { Attention } from '../../models/layers/Attention.js';
import { FeedForward } from '../../models/layers/FeedForward.js';
import { gelu } from '../../models/layers/GELU.js';
import { LayerNorm } from '../../models/layers/LayerNorm.js';
import { Linear } from '../../models/layers/Linear.js';
import { Module } from '../../models/Module.js';
import { JointAttention } from './JointAttention.js';
import { AdaLayerNormZero, gated, modulate } from './modulation.js';

export interface BlockConfig {
  dim: number;
  heads: number;
  dimHead: number;
  mlpRatio: number;
}

/**
 * A double-stream block (diffusers' FluxTransformerBlock): image and text tokens keep their own norms,
 * modulation and MLPs, and meet in one joint attention.
 *
 * forward(x: [batch, N, dim], context: [batch, T, dim], temb: [batch, dim]) → [x, context].
 */
@module()
export class DoubleStreamBlock extends Module {
  readonly norm1: AdaLayerNormZero;
  readonly norm1_context: AdaLayerNormZero;
  readonly attn: JointAttention;
  readonly norm2: LayerNorm;
  readonly ff: FeedForward;
  readonly norm2_context: LayerNorm;
  readonly ff_context: FeedForward;

  constructor(config: BlockConfig) {
    super();
    const { dim, heads, dimHead, mlpRatio } = config;
    this.norm1 = new AdaLayerNormZero(dim, 6);
    this.norm1_context = new AdaLayerNormZero(dim, 6);
    this.attn = new JointAttention(dim, { heads, dimHead });
    this.norm2 = new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6 });
    this.ff = new FeedForward(dim, { mult: mlpRatio, activation: 'gelu-approximate' });
    this.norm2_context = new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6 });
    this.ff_context = new FeedForward(dim, { mult: mlpRatio, activation: 'gelu-approximate' });
  }

  forward(x: tf.Tensor, context: tf.Tensor, temb: tf.Tensor): tf.Tensor[] {
    const [nx, gateX, shiftMlpX, scaleMlpX, gateMlpX] = this.norm1.forward(x, temb) as tf.Tensor[];
    const [nc, gateC, shiftMlpC, scaleMlpC, gateMlpC] = this.norm1_context.forward(context, temb) as tf.Tensor[];
    const [ax, ac] = this.attn.forward(nx!, nc!);
    let hx = tf.add(x, gated(gateX!, ax!));
    hx = tf.add(hx, gated(gateMlpX!, this.ff.forward(modulate(this.norm2.forward(hx), shiftMlpX!, scaleMlpX!))));
    let hc = tf.add(context, gated(gateC!, ac!));
    hc = tf.add(hc, gated(gateMlpC!, this.ff_context.forward(modulate(this.norm2_context.forward(hc), shiftMlpC!, scaleMlpC!))));
    return [hx, hc];
  }
}

/**
 * A single-stream block (diffusers' FluxSingleTransformerBlock): one sequence of [text, image] tokens,
 * attention and MLP in parallel from the same modulated input, fused by `proj_out`.
 *
 * forward(x: [batch, T + N, dim], temb: [batch, dim]) → same shape as x.
 */
@module()
export class SingleStreamBlock extends Module {
  readonly norm: AdaLayerNormZero;
  readonly proj_mlp: Linear;
  readonly attn: Attention;
  readonly proj_out: Linear;

  constructor(config: BlockConfig) {
    super();
    const { dim, heads, dimHead, mlpRatio } = config;
    this.norm = new AdaLayerNormZero(dim, 3);
    this.proj_mlp = new Linear(dim, dim * mlpRatio);
    this.attn = new Attention(dim, { heads, dimHead, bias: true });
    this.proj_out = new Linear(dim + dim * mlpRatio, dim);
  }

  forward(x: tf.Tensor, temb: tf.Tensor): tf.Tensor {
    const [nx, gate] = this.norm.forward(x, temb) as tf.Tensor[];
    const mlp = gelu(this.proj_mlp.forward(nx!), 'tanh');
    const attn = this.attn.forward(nx!);
    return tf.add(x, gated(gate!, this.proj_out.forward(tf.concat([attn, mlp], -1))));
  }
}
