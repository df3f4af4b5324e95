import * as tf from '@tensorflow/tfjs-core';
import type { Attention, AttentionProcessor } from '../../models/layers/Attention.js';
import { checkRows } from './checks.js';
import { checkMask } from './mask.js';

/**
 * One (batch, head)'s 2-D operands. Why 2-D: on wasm, tfjs' batched matMul (batch > 1) and its transposeB
 * path run about 10× slower than a plain 2-D [M, K]·[K, N] product (measured in this project), so the
 * memory-saving processors multiply per head with keys transposed to [dimHead, Nk].
 */
export interface HeadOperands {
  b: number;
  h: number;
  /** q · (1/√dimHead), [N, dimHead]. */
  q: tf.Tensor2D;
  /** kᵀ, [dimHead, Nk]. */
  kT: tf.Tensor2D;
  /** v, [Nk, dimHead]. */
  v: tf.Tensor2D;
}

/**
 * Runs `perHead` for every (batch, head) on that head's operands, each in its own tidy scope, and returns
 * the per-head outputs ([N, dimHead] each) merged into q's layout [batch, N, heads·dimHead]. Operands are
 * cut per head as they are needed, so that beyond q, k, v only one transposed copy of k and one scaled copy
 * of q exist for all heads.
 */
export function perHead(attn: Attention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, run: (ops: HeadOperands) => tf.Tensor): tf.Tensor {
  const [batch, n] = q.shape as [number, number, number];
  const nk = k.shape[1]!;
  const d = attn.dimHead;
  // Scaling q (N × d) instead of the scores (N × Nk) is the cheaper place for 1/√d.
  const qs = tf.mul(q, tf.scalar(attn.scale));
  const kT = tf.transpose(k, [0, 2, 1]);
  const rows: tf.Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    const heads: tf.Tensor[] = [];
    for (let h = 0; h < attn.heads; h++) {
      heads.push(
        tf.tidy(() =>
          run({
            b,
            h,
            q: tf.reshape(tf.slice(qs, [b, 0, h * d], [1, n, d]), [n, d]),
            kT: tf.reshape(tf.slice(kT, [b, h * d, 0], [1, d, nk]), [d, nk]),
            v: tf.reshape(tf.slice(v, [b, 0, h * d], [1, nk, d]), [nk, d]),
          }),
        ),
      );
    }
    // Heads side by side along the feature axis are q's layout for one sample: [N, heads·dimHead].
    rows.push(heads.length === 1 ? heads[0]! : tf.concat(heads, 1));
    if (heads.length > 1) tf.dispose(heads);
  }
  const out = tf.reshape(rows.length === 1 ? rows[0]! : tf.stack(rows), [batch, n, attn.innerDim]);
  tf.dispose([qs, kT, ...rows]);
  return out;
}

/** One head's operands with what a memory-saving processor also needs: query and key counts, and the mask. */
export interface HeadStep extends HeadOperands {
  /** The attention module the processor runs for. */
  attn: Attention;
  /** Query rows. */
  n: number;
  /** Key rows. */
  nk: number;
  /** The attention mask checked against the scores [batch, heads, N, Nk], as rank 4. */
  mask: tf.Tensor4D | undefined;
}

/**
 * A processor that runs `run` per head (see perHead): checks `rows` (the slice or block size, named `name`
 * in errors from `where`) when it is created, and the mask before any head is computed.
 */
export function perHeadProcessor(rows: number, name: string, where: string, run: (step: HeadStep) => tf.Tensor): AttentionProcessor {
  checkRows(rows, name, where);
  // The whole processor runs in one tidy, so that it leaks nothing when called outside Attention.forward too.
  return (attn, q, k, v, opts) =>
    tf.tidy(() => {
      const [batch, n] = q.shape as [number, number, number];
      const nk = k.shape[1]!;
      const mask = opts?.attentionMask === undefined ? undefined : checkMask(attn, opts.attentionMask, [batch, attn.heads, n, nk]);
      return perHead(attn, q, k, v, (ops) => run({ ...ops, attn, n, nk, mask }));
    });
}
