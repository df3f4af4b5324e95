import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../../models/decorators.js';
import { Attention, type AttentionOptions } from '../../models/layers/Attention.js';
import { describeModule } from '../../models/paths.js';
import { Linear } from '../../models/layers/Linear.js';

/**
 * The attention of a double-stream (MM-DiT) block, as diffusers' Flux attention: the image tokens go
 * through `to_q`/`to_k`/`to_v`/`to_out.0`, the text tokens through `add_q_proj`/`add_k_proj`/`add_v_proj`/
 * `to_add_out`, and both attend jointly over the concatenated sequence [text, image]. It is an Attention,
 * so the processor (naive, sliced, chunked) applies to it as to any other.
 *
 * forward(x: [batch, N, dim], context: [batch, T, dim]) → [x out, context out].
 */
@module()
export class JointAttention extends Attention {
  readonly add_q_proj: Linear;
  readonly add_k_proj: Linear;
  readonly add_v_proj: Linear;
  readonly to_add_out: Linear;

  constructor(dim: number, options: { heads: number; dimHead: number }) {
    super(dim, { heads: options.heads, dimHead: options.dimHead, bias: true });
    this.add_q_proj = new Linear(dim, this.innerDim);
    this.add_k_proj = new Linear(dim, this.innerDim);
    this.add_v_proj = new Linear(dim, this.innerDim);
    this.to_add_out = new Linear(this.innerDim, dim);
  }

  /** Both streams: `[x out, context out]`. */
  override forward(x: tf.Tensor, context: tf.Tensor): tf.Tensor[];
  /**
   * Called as a plain Attention (no context stream) it throws. This signature is declared so that a
   * JointAttention stays assignable to Attention (the processors and setAttentionProcessor take it as one).
   */
  override forward(x: tf.Tensor, opts?: AttentionOptions): never;
  override forward(x: tf.Tensor, context?: tf.Tensor | AttentionOptions): tf.Tensor[] {
    if (!(context instanceof tf.Tensor)) {
      throw new InvalidArgumentError(
        `${describeModule(this)}.forward(x, context) needs the context (text) stream as its second argument, a tensor ` +
          `[batch, T, dim]; it got ${context === undefined ? 'none' : 'attention options'}. Call it as a joint attention: forward(x, context).`,
      );
    }
    const t = context.shape[1]!;
    const q = tf.concat([this.add_q_proj.forward(context), this.to_q.forward(x)], 1);
    const k = tf.concat([this.add_k_proj.forward(context), this.to_k.forward(x)], 1);
    const v = tf.concat([this.add_v_proj.forward(context), this.to_v.forward(x)], 1);
    // The processor only reads heads, dimHead and scale; forward's other signature is what TypeScript objects to.
    const out = this.processor(this as unknown as Attention, q, k, v);
    const [ctxOut, xOut] = tf.split(out, [t, out.shape[1]! - t], 1);
    return [this.to_out.at(0).forward(xOut!) as tf.Tensor, this.to_add_out.forward(ctxOut!)];
  }
}
