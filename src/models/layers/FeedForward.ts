import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import { ModuleList } from '../ModuleList.js';
import { checkBoolean, checkInput, checkInt, checkOneOf } from './checks.js';
import { Dropout } from './Dropout.js';
import { GEGLU } from './GEGLU.js';
import { GELU } from './GELU.js';
import { Linear } from './Linear.js';

export const FEED_FORWARD_ACTIVATIONS = ['gelu', 'gelu-approximate', 'geglu'] as const;
export type FeedForwardActivation = (typeof FEED_FORWARD_ACTIVATIONS)[number];

export interface FeedForwardOptions {
  /** Hidden size multiplier: the inner dimension is dim·mult (default 4). */
  mult?: number;
  /** Output size (default dim). */
  dimOut?: number;
  /** Default 'geglu', as diffusers' activation_fn. */
  activation?: FeedForwardActivation;
  bias?: boolean;
}

/**
 * The transformer MLP, as diffusers' attention.FeedForward, with the same parameter paths:
 * `net` = [act, Dropout, Linear(inner, dimOut)], where act is GELU(dim, inner) ('gelu', or
 * 'gelu-approximate' for the tanh form) or GEGLU(dim, inner) ('geglu'). So the weights are
 * `net.0.proj.weight`, `net.0.proj.bias`, `net.2.weight`, `net.2.bias`.
 *
 * forward(x: [..., dim]) → [..., dimOut].
 */
@module()
export class FeedForward extends Module {
  readonly net: ModuleList;
  readonly dim: number;
  readonly innerDim: number;
  readonly dimOut: number;

  constructor(dim: number, options: FeedForwardOptions = {}) {
    super();
    const { mult = 4, dimOut = dim, activation = 'geglu', bias = true } = options;
    this.dim = checkInt(dim, 'FeedForward', 'dim');
    checkInt(mult, 'FeedForward', 'mult');
    this.dimOut = checkInt(dimOut, 'FeedForward', 'dimOut');
    checkOneOf(activation, FEED_FORWARD_ACTIVATIONS, 'FeedForward', 'activation');
    checkBoolean(bias, 'FeedForward', 'bias');
    this.innerDim = dim * mult;
    const act =
      activation === 'geglu'
        ? new GEGLU(dim, this.innerDim, { bias })
        : new GELU(dim, this.innerDim, { approximate: activation === 'gelu' ? 'none' : 'tanh', bias });
    this.net = new ModuleList<Module>([act, new Dropout(0), new Linear(this.innerDim, this.dimOut, { bias })]);
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.dim, dtype: 'float32', expected: `[..., ${this.dim}]` });
    let y = x;
    for (const m of this.net) y = m.forward(y) as tf.Tensor;
    return y;
  }
}
