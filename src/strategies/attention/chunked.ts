import * as tf from '@tensorflow/tfjs-core';
import type { AttentionProcessor } from '../../models/layers/Attention.js';
import { perHeadProcessor } from './heads.js';
import { sliceMask } from './mask.js';

/** Stands for −∞ (masked keys, no key seen yet): exp of its difference with any real score is 0, never NaN. */
const MASKED = 3e38;

/** Block sizes covering n rows: full blocks and a shorter last one. */
function blockSizes(n: number, block: number): number[] {
  const sizes: number[] = [];
  for (let k0 = 0; k0 < n; k0 += block) sizes.push(Math.min(block, n - k0));
  return sizes;
}

/** The running state of the online softmax for every query row of one head. */
type Running = {
  /** Running maximum of the scores seen so far, [N, 1] (−MASKED before the first block). */
  max: tf.Tensor;
  /** Running sum of exp(score − max), [N, 1]. */
  sum: tf.Tensor;
  /** Running Σ exp(score − max)·v, [N, dimHead]. */
  acc: tf.Tensor;
};

/**
 * Memory-efficient attention: per head, keys and values are streamed `blockSize` rows at a time with an
 * online softmax (running max and running sum, as in flash attention), so that no N × N matrix ever
 * exists — the largest temporaries are one head's [N, blockSize] scores and their softmax. When a block
 * raises a row's maximum, what was accumulated so far is rescaled by exp(oldMax − newMax); the result is the
 * naive one up to float reordering.
 */
export function chunkedAttentionProcessor(blockSize: number): AttentionProcessor {
  return perHeadProcessor(blockSize, 'blockSize', 'chunkedAttentionProcessor', ({ attn, b, h, q: qh, kT, v: vh, n, nk, mask }) => {
    // The running max starts at the lowest finite float rather than −∞, so that exp(old − new) is never NaN.
    let state: Running = { max: tf.fill([n, 1], -MASKED), sum: tf.zeros([n, 1]), acc: tf.zeros([n, attn.dimHead]) };
    const sizes = blockSizes(nk, blockSize);
    const kTBlocks = tf.split(kT, sizes, 1);
    const vBlocks = tf.split(vh, sizes, 0);
    let k0 = 0;
    sizes.forEach((kn, j) => {
      const at = k0;
      // −∞ in a mask becomes the lowest float: a block whose keys are all masked then adds exactly 0.
      const blockMask = mask === undefined ? undefined : (): tf.Tensor => tf.maximum(sliceMask(mask, b, h, 0, n, at, kn), -MASKED);
      const next = tf.tidy(() => step(state, qh, kTBlocks[j]!, vBlocks[j]!, blockMask));
      // Dispose the old state as soon as the new one exists: one block's worth alive at a time.
      tf.dispose([state.max, state.sum, state.acc, kTBlocks[j]!, vBlocks[j]!]);
      state = next;
      k0 += kn;
    });
    return tf.div(state.acc, state.sum);
  });
}

/**
 * Folds one key/value block of one head into its running state.
 *
 * The block's exp(score − blockMax) is not computed with tf.exp: on wasm that is a scalar loop about 3×
 * slower than the backend's native softmax (measured), and it would run over every score. Instead the
 * block's softmax p gives both factors: Σ exp(score − blockMax) = 1 / max(p) (the largest score's p is
 * exp(0) / Σ), and p·v is the block's output normalized by that sum. Only per-row [N, 1] factors go
 * through tf.exp.
 */
function step(s: Running, qh: tf.Tensor, kTBlock: tf.Tensor, vBlock: tf.Tensor, mask: (() => tf.Tensor) | undefined): Running {
  let scores = tf.matMul(qh, kTBlock);
  if (mask !== undefined) scores = tf.add(scores, mask());
  const blockMax = tf.max(scores, -1, true);
  const p = tf.softmax(scores, -1);
  const blockSum = tf.reciprocal(tf.max(p, -1, true));
  const max = tf.maximum(s.max, blockMax);
  const keep = tf.exp(tf.sub(s.max, max));
  const weight = tf.mul(blockSum, tf.exp(tf.sub(blockMax, max)));
  return {
    max,
    sum: tf.add(tf.mul(s.sum, keep), weight),
    acc: tf.add(tf.mul(s.acc, keep), tf.mul(tf.matMul(p, vBlock), weight)),
  };
}
