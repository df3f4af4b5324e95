import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
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
 * the full [batch, heads, N, N] score matrix (one head's [N, N] at a time on wasm).
 *
 * On wasm, only a 2-D matMul whose right operand is not transposed takes XNNPACK's fast path; a batched or
 * transposeB product runs a reference loop about 10× slower. So there each head is computed as two 2-D
 * products (q_h·k_hᵀ with k transposed once for all heads, then p_h·v_h), which the layers benchmark
 * measures 2–3× faster than the batched form at N = 256. Other backends take the batched form.
 */
export const naiveAttentionProcessor: AttentionProcessor = (attn, q, k, v, opts) => {
  const mask = opts?.attentionMask;
  const [batch, n] = q.shape as [number, number, number];
  const scoreShape = [batch, attn.heads, n, k.shape[1]!];
  const checked = mask === undefined ? undefined : checkMask(attn, mask, scoreShape);
  return tf.getBackend() === 'wasm' ? perHeadAttention(attn, q, k, v, checked) : batchedAttention(attn, q, k, v, checked);
};

function batchedAttention(attn: Attention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor | undefined): tf.Tensor {
  const [batch, n] = q.shape as [number, number, number];
  const split = (t: tf.Tensor): tf.Tensor =>
    tf.transpose(tf.reshape(t, [batch, t.shape[1]!, attn.heads, attn.dimHead]), [0, 2, 1, 3]);
  // Scaling q ([N, dimHead] per head) is cheaper than scaling the [N, Nk] scores; same value up to rounding.
  let scores = tf.matMul(split(tf.mul(q, attn.scale)), split(k), false, true);
  if (mask !== undefined) scores = tf.add(scores, mask);
  const out = tf.matMul(tf.softmax(scores, -1), split(v));
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [batch, n, attn.innerDim]);
}

function perHeadAttention(attn: Attention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor | undefined): tf.Tensor {
  const [batch, n] = q.shape as [number, number, number];
  const nk = k.shape[1]!;
  const d = attn.dimHead;
  // [batch, heads·dimHead, Nk]: head h's kᵀ is rows h·d … (h + 1)·d, an un-transposed right operand.
  const kT = tf.transpose(k, [0, 2, 1]);
  // The mask as [mb, mh, mq, mk] (1 where it broadcasts), sliced per (sample, head) below.
  const m4 = mask === undefined ? undefined : tf.reshape(mask, [...new Array<number>(4 - mask.rank).fill(1), ...mask.shape]);
  // Scaling q once ([N, heads·dimHead]) is cheaper than scaling every head's [N, Nk] scores.
  const qs = tf.mul(q, attn.scale);
  const rows: tf.Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    const heads: tf.Tensor[] = [];
    for (let h = 0; h < attn.heads; h++) {
      // Each head in its own scope, so its [N, Nk] scores are freed before the next head's exist.
      heads.push(
        tf.tidy(() => {
          const qh = tf.reshape(tf.slice(qs, [b, 0, h * d], [1, n, d]), [n, d]);
          const kTh = tf.reshape(tf.slice(kT, [b, h * d, 0], [1, d, nk]), [d, nk]);
          const vh = tf.reshape(tf.slice(v, [b, 0, h * d], [1, nk, d]), [nk, d]);
          let scores = tf.matMul(qh, kTh);
          if (m4 !== undefined) {
            const [mb, mh, mq, mk] = m4.shape as [number, number, number, number];
            scores = tf.add(scores, tf.reshape(tf.slice(m4, [mb > 1 ? b : 0, mh > 1 ? h : 0, 0, 0], [1, 1, mq, mk]), [mq, mk]));
          }
          return tf.matMul(tf.softmax(scores, -1), vh);
        }),
      );
    }
    rows.push(heads.length === 1 ? heads[0]! : tf.concat(heads, 1));
  }
  return tf.reshape(batch === 1 ? rows[0]! : tf.stack(rows), [batch, n, attn.innerDim]);
}

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
