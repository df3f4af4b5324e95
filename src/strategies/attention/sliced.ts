import * as tf from '@tensorflow/tfjs-core';
import type { AttentionProcessor } from '../../models/layers/Attention.js';
import { checkRows } from './checks.js';
import { perHead } from './heads.js';
import { checkMask, sliceMask } from './mask.js';

/**
 * Query slicing (diffusers' sliced attention): per head, the queries are processed `sliceSize` rows at a
 * time against every key, so a score matrix exists as [sliceSize, N] instead of [batch, heads, N, N]. The
 * softmax of each row is complete within its slice, so the result is the naive one up to float reordering.
 */
export function slicedAttentionProcessor(sliceSize: number): AttentionProcessor {
  checkRows(sliceSize, 'sliceSize', 'slicedAttentionProcessor');
  // The whole processor runs in one tidy, so that it leaks nothing when called outside Attention.forward too.
  return (attn, q, k, v, opts) =>
    tf.tidy(() => {
      const [batch, n] = q.shape as [number, number, number];
      const nk = k.shape[1]!;
      const mask = opts?.attentionMask === undefined ? undefined : checkMask(attn, opts.attentionMask, [batch, attn.heads, n, nk]);
      return perHead(attn, q, k, v, ({ b, h, q: qh, kT, v: vh }) => {
        const parts: tf.Tensor[] = [];
        for (let q0 = 0; q0 < n; q0 += sliceSize) {
          const qn = Math.min(sliceSize, n - q0);
          // Each slice's scores are released before the next slice is computed.
          parts.push(
            tf.tidy(() => {
              let scores = tf.matMul(tf.slice(qh, [q0, 0], [qn, -1]), kT);
              if (mask !== undefined) scores = tf.add(scores, sliceMask(mask, b, h, q0, qn, 0, nk));
              return tf.matMul(tf.softmax(scores, -1), vh);
            }),
          );
        }
        return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
      });
    });
}
