import * as tf from '@tensorflow/tfjs-core';
import { module } from '../../models/decorators.js';
import { Linear } from '../../models/layers/Linear.js';
import { Module } from '../../models/Module.js';
import { ModuleList } from '../../models/ModuleList.js';
import { DoubleStreamBlock, SingleStreamBlock } from './blocks.js';
import { AdaLayerNormContinuous } from './modulation.js';

export interface DenoiserConfig {
  /** Channels of the latent image. */
  inChannels: number;
  /** Side of the square patches the latent is cut into (tokens = (H/p)·(W/p)). */
  patchSize: number;
  heads: number;
  dimHead: number;
  /** Width of the text encoder's output. */
  textDim: number;
  numDoubleBlocks: number;
  numSingleBlocks: number;
  mlpRatio: number;
}

/** Sinusoidal features of the timestep (diffusers' get_timestep_embedding, flip_sin_to_cos, 256 channels). */
export const TIMESTEP_CHANNELS = 256;

/** timestep_embedder: Linear → SiLU → Linear over the sinusoidal features, as diffusers' TimestepEmbedding. */
@module()
export class TimestepEmbedding extends Module {
  readonly linear_1: Linear;
  readonly linear_2: Linear;

  constructor(readonly dim: number) {
    super();
    this.linear_1 = new Linear(TIMESTEP_CHANNELS, dim);
    this.linear_2 = new Linear(dim, dim);
  }

  /** timestep: [batch] float32 in [0, 1000]. */
  forward(timestep: tf.Tensor): tf.Tensor {
    const half = TIMESTEP_CHANNELS / 2;
    const freqs = tf.exp(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(10000) / half));
    const args = tf.mul(tf.expandDims(timestep, 1), tf.expandDims(freqs, 0));
    const h = this.linear_1.forward(tf.concat([tf.cos(args), tf.sin(args)], -1));
    return this.linear_2.forward(tf.mul(h, tf.sigmoid(h)));
  }
}

/**
 * A Flux-style diffusion transformer (MM-DiT): the latent is cut into patches (`x_embedder`), the text
 * states are projected (`context_embedder`), the timestep conditions every block through adaptive norms,
 * `transformer_blocks` (double stream) then `single_transformer_blocks` (single stream) run, and
 * `norm_out` + `proj_out` map the image tokens back to a velocity in the latent's shape. Parameter names
 * follow diffusers' FluxTransformer2DModel. Both block lists are ModuleLists: block-level group offloading
 * cuts them into groups.
 *
 * forward(latents: [batch, H, W, inChannels], context: [batch, T, textDim], timestep: [batch]) → latents' shape.
 */
@module()
export class FluxDenoiser extends Module {
  readonly x_embedder: Linear;
  readonly context_embedder: Linear;
  readonly timestep_embedder: TimestepEmbedding;
  readonly transformer_blocks: ModuleList<DoubleStreamBlock>;
  readonly single_transformer_blocks: ModuleList<SingleStreamBlock>;
  readonly norm_out: AdaLayerNormContinuous;
  readonly proj_out: Linear;
  readonly dim: number;

  constructor(readonly config: DenoiserConfig) {
    super();
    const { inChannels, patchSize, heads, dimHead, textDim, numDoubleBlocks, numSingleBlocks, mlpRatio } = config;
    const dim = (this.dim = heads * dimHead);
    const patchDim = inChannels * patchSize * patchSize;
    const block = { dim, heads, dimHead, mlpRatio };
    this.x_embedder = new Linear(patchDim, dim);
    this.context_embedder = new Linear(textDim, dim);
    this.timestep_embedder = new TimestepEmbedding(dim);
    this.transformer_blocks = new ModuleList(Array.from({ length: numDoubleBlocks }, () => new DoubleStreamBlock(block)));
    this.single_transformer_blocks = new ModuleList(Array.from({ length: numSingleBlocks }, () => new SingleStreamBlock(block)));
    this.norm_out = new AdaLayerNormContinuous(dim);
    this.proj_out = new Linear(dim, patchDim);
  }

  forward(latents: tf.Tensor, context: tf.Tensor, timestep: tf.Tensor): tf.Tensor {
    const [b, h, w, c] = latents.shape as [number, number, number, number];
    const p = this.config.patchSize;
    // [B, H, W, C] → [B, (H/p)·(W/p), p·p·C]
    const patches = tf.reshape(tf.transpose(tf.reshape(latents, [b, h / p, p, w / p, p, c]), [0, 1, 3, 2, 4, 5]), [b, (h / p) * (w / p), p * p * c]);
    let x = this.x_embedder.forward(patches);
    let ctx = this.context_embedder.forward(context);
    const temb = this.timestep_embedder.forward(timestep);
    for (const block of this.transformer_blocks) [x, ctx] = block.forward(x, ctx, temb) as [tf.Tensor, tf.Tensor];
    const t = ctx.shape[1]!;
    let joint = tf.concat([ctx, x], 1);
    for (const block of this.single_transformer_blocks) joint = block.forward(joint, temb) as tf.Tensor;
    x = tf.slice(joint, [0, t, 0], [-1, -1, -1]);
    const out = this.proj_out.forward(this.norm_out.forward(x, temb));
    return tf.reshape(tf.transpose(tf.reshape(out, [b, h / p, w / p, p, p, c]), [0, 1, 3, 2, 4, 5]), [b, h, w, c]);
  }
}
