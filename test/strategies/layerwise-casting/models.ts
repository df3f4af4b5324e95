import * as tf from '@tensorflow/tfjs-core';
import {
  Conv2d,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  Parameter,
  type LowPrecisionDtype,
} from '../../../src/index.js';
import { decodePacked, encodePacked } from '../../../src/dtypes/bulk.js';

/** A block: Linear → LayerNorm (named norm, skipped by the default patterns). */
export class Block extends Module {
  ff: Linear;
  norm: LayerNorm;
  constructor(dim: number) {
    super();
    this.ff = new Linear(dim, dim);
    this.norm = new LayerNorm(dim);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(x, this.norm.forward(tf.relu(this.ff.forward(x))));
  }
}

/**
 * ids → embed → proj_in (top level: skipped by '^proj_in$') → blocks → conv over a [B, 2, dim/2, 2] view →
 * head, with an int32 parameter (offsets added to the ids) and a float32 parameter of the root's own.
 * Every weight count is a multiple of 4, so packed sizes are exact.
 */
export class Caster extends Module {
  offsets: Parameter;
  embed: Embedding;
  proj_in: Linear;
  blocks: ModuleList<Block>;
  conv: Conv2d;
  head: Linear;
  scale: Parameter;
  constructor(readonly dim = 16, readonly vocab = 12) {
    super();
    this.offsets = new Parameter(tf.tensor1d([0, 1, 2, 3], 'int32'));
    this.embed = new Embedding(vocab, dim);
    this.proj_in = new Linear(dim, dim);
    this.blocks = new ModuleList([new Block(dim), new Block(dim)]);
    this.conv = new Conv2d(2, 4, 1);
    this.head = new Linear(2 * dim, 4);
    this.scale = new Parameter(tf.randomNormal([4], 1, 0.1, 'float32', 3));
  }
  /** ids: int32 [B, 4]. */
  forward(ids: tf.Tensor): tf.Tensor {
    const shifted = tf.mod(tf.add(ids, this.offsets.read()), tf.scalar(this.vocab, 'int32'));
    let h = tf.mean(this.embed.forward(shifted), 1);
    h = this.proj_in.forward(h);
    for (const b of this.blocks) h = b.forward(h);
    const [batch] = h.shape;
    h = tf.reshape(this.conv.forward(tf.reshape(h, [batch!, 2, this.dim / 4, 2])), [batch!, 2 * this.dim]);
    return tf.mul(this.head.forward(h), this.scale.read());
  }
}

/** Paths of the weights the default patterns cast in a Caster. */
export const CAST_BY_DEFAULT = ['embed.weight', 'blocks.0.ff.weight', 'blocks.0.ff.bias', 'blocks.1.ff.weight', 'blocks.1.ff.bias', 'conv.weight', 'conv.bias', 'head.weight', 'head.bias'];

/** What a weight becomes after a round trip through `dtype`. */
export function roundTrip(values: Float32Array, dtype: LowPrecisionDtype): Float32Array {
  return decodePacked(encodePacked(dtype, values));
}

/** Copies `from`'s weights into `to` (same architecture), passing the paths in `lossy` through `dtype`. */
export function copyWeights(from: Module, to: Module, lossy: readonly string[] = [], dtype?: LowPrecisionDtype): void {
  const target = new Map(to.namedParameters());
  for (const [path, p] of from.namedParameters()) {
    const v = p.read();
    const data = lossy.includes(path) && dtype !== undefined ? roundTrip(v.dataSync() as Float32Array, dtype) : v.dataSync().slice();
    const t = tf.tensor(data, v.shape, v.dtype);
    target.get(path)!.assign(t);
    t.dispose();
  }
}

export function bitsOf(t: tf.Tensor): Uint32Array {
  return new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
}

export function ids(batch = 3, seed = 5): tf.Tensor {
  return tf.randomUniform([batch, 4], 0, 12, 'int32', seed);
}
