import * as tf from '@tensorflow/tfjs-core';
import type { AttentionProcessor } from '../../models/layers/Attention.js';
import { perHeadProcessor } from './heads.js';
import { sliceMask } from './mask.js';

/**
 * Query slicing (diffusers' sliced attention): per head, the queries are processed `sliceSize` rows at a
 * time against every key, so a score matrix exists as [sliceSize, N] instead of [batch, heads, N, N]. The
 * softmax of each row is complete within its slice, so the result is the naive one up to float reordering.
 */
export function slicedAttentionProcessor(sliceSize: number): AttentionProcessor {
  return perHeadProcessor(sliceSize, 'sliceSize', 'slicedAttentionProcessor', ({ b, h, q: qh, kT, v: vh, n, nk, mask }) => {
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
}
