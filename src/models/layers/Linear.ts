import * as tf from '@tensorflow/tfjs-core';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, checkInt } from './checks.js';
import { uniformParameter } from './init.js';
import { checkLinearLayout, preferredLinearLayout, type LinearLayout } from './linearLayout.js';
import { permutedLayout, registerTorchLayout } from './layouts.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /**
   * The weight's device layout: 'in_out' (tfjs' Dense kernel) or 'out_in' (PyTorch's). Default: the one the
   * backend active at construction computes fastest with (preferredLinearLayout).
   */
  layout?: LinearLayout;
}

/**
 * y = x·Wᵀ + b, the values of torch.nn.Linear. `weight` is kept in the layout the backend active at
 * construction computes fastest with (linearLayout.ts): [in, out], tfjs' Dense kernel, on wasm and GPU
 * backends (on wasm XNNPACK's packed GEMM, about 12× faster than the transposed product); PyTorch's
 * [out, in] on cpu, whose matmul reads it contiguously. The layout is chosen once; no forward transposes.
 * Checkpoints convert at the boundary through torchLayoutOf (layouts.ts). `bias` is [outFeatures].
 *
 * forward(x: [..., inFeatures]) → [..., outFeatures].
 */
@module()
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: LinearLayout;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true, layout } = options;
    this.inFeatures = checkInt(inFeatures, 'Linear', 'inFeatures');
    this.outFeatures = checkInt(outFeatures, 'Linear', 'outFeatures');
    checkBoolean(bias, 'Linear', 'bias');
    this.layout = layout === undefined ? preferredLinearLayout() : checkLinearLayout(layout, 'Linear');
    this.weight = uniformParameter([inFeatures, outFeatures], inFeatures, { transposed: this.layout === 'out_in' });
    this.bias = bias ? uniformParameter([outFeatures], inFeatures) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(this, x, { minRank: 1, lastDim: this.inFeatures, dtype: 'float32', expected: `[..., ${this.inFeatures}]` });
    // 2-D, the shape of the fast path (a batched product is not XNNPACK's on wasm); rank 2 as it comes.
    const flat = x.rank !== 2;
    const x2d = (flat ? tf.reshape(x, [x.size / this.inFeatures, this.inFeatures]) : x) as tf.Tensor2D;
    const w = this.weight.read() as tf.Tensor2D;
    const b = this.bias?.read();
    let y: tf.Tensor;
    if (this.layout === 'in_out') {
      // One fused kernel for the product and the bias, as tfjs' Dense: on wasm the bias seeds XNNPACK's
      // accumulators instead of costing a second pass over the output.
      y = tf.fused.matMul({ a: x2d, b: w, bias: b });
    } else {
      // Not fused: tfjs-backend-wasm 4.22's fused matMul adds the bias to the wrong elements with transposeB
      // (a Linear built on cpu may run on wasm). On cpu, the fused kernel is this same product and add.
      y = tf.matMul(x2d, w, false, true);
      if (b !== undefined) y = tf.add(y, b);
    }
    return flat ? tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]) : y;
  }
}

/**
 * @internal How a Linear's weight differs from the layout of a checkpoint saved with `torchLayouts: false`,
 * which holds [in, out] on every backend (so that such a folder saved on cpu loads on wasm and back).
 */
export function memhooksFileLayoutOf(m: Linear): ReturnType<typeof permutedLayout> | undefined {
  return m.layout === 'out_in' ? permutedLayout([m.outFeatures, m.inFeatures], [1, 0], 'Linear.weight: device [out, in] ↔ file [in, out]') : undefined;
}

registerTorchLayout(Linear, 'weight', (m) =>
  m.layout === 'out_in' ? undefined : permutedLayout([m.inFeatures, m.outFeatures], [1, 0], 'Linear.weight: device [in, out] ↔ PyTorch [out, in]'),
);
