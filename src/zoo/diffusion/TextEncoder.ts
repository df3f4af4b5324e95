import * as tf from '@tensorflow/tfjs-core';
import { module } from '../../models/decorators.js';
import { Attention } from '../../models/layers/Attention.js';
import { Embedding } from '../../models/layers/Embedding.js';
import { FeedForward } from '../../models/layers/FeedForward.js';
import { LayerNorm } from '../../models/layers/LayerNorm.js';
import { Module } from '../../models/Module.js';
import { ModuleList } from '../../models/ModuleList.js';

export interface TextEncoderConfig {
  vocabSize: number;
  maxPositions: number;
  heads: number;
  dimHead: number;
  numLayers: number;
  mlpRatio: number;
}

/** A pre-norm transformer encoder layer, with CLIP's parameter names. */
@module()
export class EncoderLayer extends Module {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: Attention;
  readonly layer_norm2: LayerNorm;
  readonly mlp: FeedForward;

  constructor(dim: number, heads: number, dimHead: number, mlpRatio: number) {
    super();
    this.layer_norm1 = new LayerNorm(dim);
    this.self_attn = new Attention(dim, { heads, dimHead, bias: true });
    this.layer_norm2 = new LayerNorm(dim);
    this.mlp = new FeedForward(dim, { mult: mlpRatio, activation: 'gelu' });
  }

  forward(x: tf.Tensor): tf.Tensor {
    const h = tf.add(x, this.self_attn.forward(this.layer_norm1.forward(x)));
    return tf.add(h, this.mlp.forward(this.layer_norm2.forward(h)));
  }
}

/**
 * A CLIP-style text encoder: token and position embeddings, `layers` (a ModuleList of EncoderLayer), and
 * `final_layer_norm`.
 *
 * forward(ids: int32 [batch, T]) → [batch, T, heads·dimHead].
 */
@module()
export class ZooTextEncoder extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  readonly layers: ModuleList<EncoderLayer>;
  readonly final_layer_norm: LayerNorm;
  readonly dim: number;

  constructor(readonly config: TextEncoderConfig) {
    super();
    const { vocabSize, maxPositions, heads, dimHead, numLayers, mlpRatio } = config;
    const dim = (this.dim = heads * dimHead);
    this.token_embedding = new Embedding(vocabSize, dim);
    this.position_embedding = new Embedding(maxPositions, dim);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => new EncoderLayer(dim, heads, dimHead, mlpRatio)));
    this.final_layer_norm = new LayerNorm(dim);
  }

  forward(ids: tf.Tensor): tf.Tensor {
    const positions = tf.range(0, ids.shape[1]!, 1, 'int32');
    let x = tf.add(this.token_embedding.forward(ids), this.position_embedding.forward(positions));
    for (const layer of this.layers) x = layer.forward(x) as tf.Tensor;
    return this.final_layer_norm.forward(x);
  }
}
