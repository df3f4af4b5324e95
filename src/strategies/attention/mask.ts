import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import type { Attention } from '../../models/layers/Attention.js';
import { formatShape } from '../../models/layers/checks.js';
import { describeModule } from '../../models/paths.js';

/**
 * Checks that an additive mask broadcasts to the scores [batch, heads, N, N] (numpy rules, aligned at the
 * right), as the naive processor requires, before any block is computed; returns it as rank 4.
 */
export function checkMask(attn: Attention, mask: unknown, scoreShape: readonly number[]): tf.Tensor4D {
  const expected = `a float32 tensor broadcastable to ${formatShape(scoreShape)} (batch, heads, N, N)`;
  const where = `The attentionMask passed to module ${describeModule(attn)}`;
  if (!(mask instanceof tf.Tensor) || mask.isDisposed) throw new InvalidArgumentError(`${where} must be ${expected}.`);
  const fits =
    mask.dtype === 'float32' &&
    mask.rank <= scoreShape.length &&
    mask.shape.every((d: number, i: number) => d === 1 || d === scoreShape[scoreShape.length - mask.rank + i]);
  if (!fits) throw new InvalidArgumentError(`${where} must be ${expected}, got ${mask.dtype} ${formatShape(mask.shape)}.`);
  const shape = [...new Array<number>(4 - mask.rank).fill(1), ...mask.shape] as [number, number, number, number];
  return tf.reshape(mask, shape) as tf.Tensor4D;
}

/**
 * The 2-D part of a rank-4 broadcastable mask for batch `b`, head `h`, query rows [q0, q0 + qn) and key
 * columns [k0, k0 + kn): axes of size 1 broadcast and are kept at size 1.
 */
export function sliceMask(mask: tf.Tensor4D, b: number, h: number, q0: number, qn: number, k0: number, kn: number): tf.Tensor2D {
  const [mb, mh, mq, mk] = mask.shape;
  const part = tf.slice(mask, [mb === 1 ? 0 : b, mh === 1 ? 0 : h, mq === 1 ? 0 : q0, mk === 1 ? 0 : k0], [1, 1, mq === 1 ? 1 : qn, mk === 1 ? 1 : kn]);
  return tf.reshape(part, [part.shape[2], part.shape[3]]) as tf.Tensor2D;
}
