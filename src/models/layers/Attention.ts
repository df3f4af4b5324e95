import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import { describeModule } from '../paths.js';
import { checkBoolean, checkInput, checkInt, formatShape } from './checks.js';
import { ModuleList } from '../ModuleList.js';
import { Dropout } from './Dropout.js';
import { Linear } from './Linear.js';

export interface AttentionOptions {
  /** Additive mask (0 to keep, a large negative number to drop) broadcastable to [batch, heads, N, N]. */
  attentionMask?: tf.Tensor;
}

/**
 * Computes attention from projected q, k, v of shape [batch, N, heads·dimHead] and returns the result in
 * q's layout ([batch, N, heads·dimHead]); `attn.to_out` is applied afterwards by Attention.forward.
 */
export type AttentionProcessor = (
  attn: Attention,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts?: AttentionOptions,
) => tf.Tensor;

export interface AttentionConstructorOptions {
  heads?: number;
  dimHead?: number;
  /** Bias on to_q, to_k, to_v (default false, as diffusers). */
  bias?: boolean;
  /** Bias on to_out (default true, as diffusers). */
  outBias?: boolean;
  /** The processor to start with; naiveAttentionProcessor by default. */
  processor?: AttentionProcessor;
}

/**
 * Multi-head self-attention with diffusers' parameter names: `to_q`, `to_k`, `to_v` are
 * Linear(queryDim, heads·dimHead) and `to_out` is, as in diffusers, a ModuleList
 * [Linear(heads·dimHead, queryDim), Dropout], so checkpoint keys match (`to_out.0.weight`).
 *
 * forward(x: [batch, N, queryDim], opts?) → [batch, N, queryDim]. The attention itself is done by a
 * swappable processor (diffusers' AttnProcessor), which is not a child module.
 */
@module()
export class Attention extends Module {
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: ModuleList<Linear | Dropout>;
  readonly queryDim: number;
  readonly heads: number;
  readonly dimHead: number;
  readonly innerDim: number;
  /** Scores are multiplied by this: 1/√dimHead. */
  readonly scale: number;
  // A private field: invisible to member discovery, to Object.keys and to config serialization.
  #processor: AttentionProcessor;

  constructor(queryDim: number, options: AttentionConstructorOptions = {}) {
    super();
    const { heads = 8, dimHead = 64, bias = false, outBias = true, processor = naiveAttentionProcessor } = options;
    this.queryDim = checkInt(queryDim, 'Attention', 'queryDim');
    this.heads = checkInt(heads, 'Attention', 'heads');
    this.dimHead = checkInt(dimHead, 'Attention', 'dimHead');
    checkBoolean(bias, 'Attention', 'bias');
    checkBoolean(outBias, 'Attention', 'outBias');
    this.#processor = checkProcessor(processor, 'Attention: `processor`');
    this.innerDim = heads * dimHead;
    this.scale = 1 / Math.sqrt(dimHead);
    this.to_q = new Linear(queryDim, this.innerDim, { bias });
    this.to_k = new Linear(queryDim, this.innerDim, { bias });
    this.to_v = new Linear(queryDim, this.innerDim, { bias });
    this.to_out = new ModuleList<Linear | Dropout>([new Linear(this.innerDim, queryDim, { bias: outBias }), new Dropout()]);
  }

  get processor(): AttentionProcessor {
    return this.#processor;
  }

  setProcessor(processor: AttentionProcessor): void {
    this.#processor = checkProcessor(processor, `setProcessor(processor) on ${describeModule(this)}: \`processor\``);
  }

  forward(x: tf.Tensor, opts?: AttentionOptions): tf.Tensor {
    checkInput(this, x, { rank: 3, lastDim: this.queryDim, dtype: 'float32', expected: `[batch, N, ${this.queryDim}]` });
    const q = this.to_q.forward(x);
    const k = this.to_k.forward(x);
    const v = this.to_v.forward(x);
    const out = this.#processor(this, q, k, v, opts);
    if (!(out instanceof tf.Tensor) || !tf.util.arraysEqual(out.shape, q.shape)) {
      const got = out instanceof tf.Tensor ? formatShape(out.shape) : typeof out;
      throw new InvalidArgumentError(
        `The attention processor of module ${describeModule(this)} returned ${got}; it must return a tensor in ` +
          `q's layout ${formatShape(q.shape)}. Fix the processor.`,
      );
    }
    return this.to_out.at(1).forward(this.to_out.at(0).forward(out));
  }
}

/**
 * The reference processor: split heads, softmax(q·kᵀ / √dimHead + mask)·v, merge heads. It materializes
 * the full [batch, heads, N, N] score matrix.
 */
export const naiveAttentionProcessor: AttentionProcessor = (attn, q, k, v, opts) => {
  const [batch, n] = q.shape as [number, number, number];
  const split = (t: tf.Tensor): tf.Tensor =>
    tf.transpose(tf.reshape(t, [batch, t.shape[1]!, attn.heads, attn.dimHead]), [0, 2, 1, 3]);
  let scores = tf.mul(tf.matMul(split(q), split(k), false, true), attn.scale);
  const mask = opts?.attentionMask;
  if (mask !== undefined) scores = tf.add(scores, checkMask(attn, mask, scores.shape));
  const out = tf.matMul(tf.softmax(scores, -1), split(v));
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [batch, n, attn.innerDim]);
};

function checkProcessor(processor: unknown, where: string): AttentionProcessor {
  if (typeof processor !== 'function') {
    throw new InvalidArgumentError(
      `${where} must be a function (attn, q, k, v, opts?) => tensor, got ${processor === null ? 'null' : typeof processor}.`,
    );
  }
  return processor as AttentionProcessor;
}

/** The mask must broadcast to the scores' shape [batch, heads, N, N] (numpy rules, aligned at the right). */
function checkMask(attn: Attention, mask: unknown, scoreShape: readonly number[]): tf.Tensor {
  const expected = `a float32 tensor broadcastable to ${formatShape(scoreShape)} (batch, heads, N, N)`;
  const where = `The attentionMask passed to module ${describeModule(attn)}`;
  if (!(mask instanceof tf.Tensor) || mask.isDisposed) {
    throw new InvalidArgumentError(`${where} must be ${expected}.`);
  }
  const fits =
    mask.dtype === 'float32' &&
    mask.rank <= scoreShape.length &&
    mask.shape.every((d: number, i: number) => {
      const target = scoreShape[scoreShape.length - mask.rank + i]!;
      return d === 1 || d === target;
    });
  if (!fits) {
    throw new InvalidArgumentError(`${where} must be ${expected}, got ${mask.dtype} ${formatShape(mask.shape)}.`);
  }
  return mask;
}
