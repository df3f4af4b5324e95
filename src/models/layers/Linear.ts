import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, checkInt } from './checks.js';
import { uniformParameter } from './init.js';
import { permutedLayout, registerTorchLayout } from './layouts.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·W + b, the values of torch.nn.Linear. `weight` is [inFeatures, outFeatures], tfjs' Dense kernel
 * layout: a plain matMul with it takes the backends' fast path (on wasm XNNPACK's packed GEMM, about 12×
 * faster than the transposed product on PyTorch's [out, in]). PyTorch checkpoints are converted at the
 * checkpoint boundary through torchLayoutOf (layouts.ts), never per forward. `bias` is [outFeatures].
 *
 * forward(x: [..., inFeatures]) → [..., outFeatures].
 */
@module()
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true } = options;
    this.inFeatures = checkInt(inFeatures, 'Linear', 'inFeatures');
    this.outFeatures = checkInt(outFeatures, 'Linear', 'outFeatures');
    checkBoolean(bias, 'Linear', 'bias');
    this.weight = uniformParameter([inFeatures, outFeatures], inFeatures);
    this.bias = bias ? uniformParameter([outFeatures], inFeatures) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.inFeatures, dtype: 'float32', expected: `[..., ${this.inFeatures}]` });
    // 2-D, the shape of the fast path (a batched product is not XNNPACK's on wasm); rank 2 as it comes.
    const flat = x.rank !== 2;
    const x2d = (flat ? tf.reshape(x, [x.size / this.inFeatures, this.inFeatures]) : x) as tf.Tensor2D;
    // One fused kernel for the product and the bias, as tfjs' Dense: on wasm the bias seeds XNNPACK's
    // accumulators instead of costing a second pass over the output.
    const y = tf.fused.matMul({ a: x2d, b: this.weight.read() as tf.Tensor2D, bias: this.bias?.read() });
    return flat ? tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]) : y;
  }
}

registerTorchLayout(Linear, 'weight', (m) =>
  permutedLayout([m.inFeatures, m.outFeatures], [1, 0], 'Linear.weight: device [in, out] ↔ PyTorch [out, in]'),
);
