import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';

/**
 * torch.nn.Dropout at inference: the identity. It exists so that module paths match diffusers
 * (FeedForward's `net.1`); memhooks runs models for inference only, so `p` is recorded and never applied.
 */
@module()
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new InvalidArgumentError(`Dropout: \`p\` must be a probability in [0, 1], got ${String(p)}.`);
    }
    this.p = p;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}
