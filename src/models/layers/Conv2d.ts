import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, moduleSubject, checkInt, checkPair, formatShape } from './checks.js';
import { uniformParameter } from './init.js';
import { permutedLayout, registerTorchLayout } from './layouts.js';

export type Conv2dPadding = number | [number, number] | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** Symmetric zero padding as PyTorch (number or [ph, pw]), or 'same' (stride 1 only) / 'valid'. */
  padding?: Conv2dPadding;
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/**
 * 2-D convolution with PyTorch's semantics on NHWC tensors, as torch.nn.Conv2d.
 *
 * `weight` is [kh, kw, inChannels / groups, outChannels]: tfjs' HWIO filter layout (a PyTorch
 * [out, in/groups, kh, kw] weight maps onto it by a transpose to [2, 3, 1, 0]). `bias` is [outChannels].
 *
 * forward(x: [batch, height, width, inChannels]) → [batch, outHeight, outWidth, outChannels] with
 * outHeight = ⌊(height + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1.
 */
@module()
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  /** Explicit [top, bottom, left, right] zero padding, resolved from the `padding` option. */
  readonly pads: readonly [number, number, number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options: Conv2dOptions = {}) {
    super();
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true } = options;
    this.inChannels = checkInt(inChannels, 'Conv2d', 'inChannels');
    this.outChannels = checkInt(outChannels, 'Conv2d', 'outChannels');
    this.kernelSize = checkPair(kernelSize, 'Conv2d', 'kernelSize');
    this.stride = checkPair(stride, 'Conv2d', 'stride');
    this.dilation = checkPair(dilation, 'Conv2d', 'dilation');
    this.groups = checkInt(groups, 'Conv2d', 'groups');
    checkBoolean(bias, 'Conv2d', 'bias');
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new InvalidArgumentError(
        `Conv2d: \`inChannels\` (${inChannels}) and \`outChannels\` (${outChannels}) must both be divisible by ` +
          `\`groups\` (${groups}). Pick a groups value that divides both.`,
      );
    }
    this.pads = resolvePadding(padding, this.kernelSize, this.stride, this.dilation);
    const [kh, kw] = this.kernelSize;
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = uniformParameter([kh, kw, inChannels / groups, outChannels], fanIn);
    this.bias = bias ? uniformParameter([outChannels], fanIn) : undefined;
  }

  forward(input: tf.Tensor): tf.Tensor4D {
    const x = checkInput(this, input, {
      rank: 4, lastDim: this.inChannels, dtype: 'float32', expected: `[batch, height, width, ${this.inChannels}]`,
    }) as tf.Tensor4D;
    this.checkSpatial(x.shape);
    const [pt, pb, pl, pr] = this.pads;
    const pad: Pads = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    const w = this.weight.read() as tf.Tensor4D;
    if (this.groups === 1 && !this.needsSubsampling()) {
      // The common case as one fused kernel (as tfjs' Conv2D): the bias is added inside the convolution.
      return tf.fused.conv2d({
        x, filter: w, strides: this.stride as [number, number], pad, dilations: this.dilation as [number, number], bias: this.bias?.read(),
      });
    }
    let y: tf.Tensor4D;
    if (this.groups === 1) y = this.conv(x, w, pad);
    else if (this.groups === this.inChannels) y = this.depthwise(x, w, pad);
    else y = this.grouped(x, w, pad);
    if (this.bias !== undefined) y = tf.add(y, this.bias.read());
    return y;
  }

  private needsSubsampling(): boolean {
    const strided = this.stride[0] > 1 || this.stride[1] > 1;
    return strided && (this.dilation[0] > 1 || this.dilation[1] > 1);
  }

  /**
   * tfjs refuses stride > 1 together with dilation > 1, which PyTorch allows: then the convolution runs
   * with stride 1 and the result is subsampled, which gives the same values.
   */
  private subsampled(run: (strides: [number, number]) => tf.Tensor4D): tf.Tensor4D {
    const [sh, sw] = this.stride;
    if (!this.needsSubsampling()) return run([sh, sw]);
    const full = run([1, 1]);
    return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [1, sh, sw, 1]) as tf.Tensor4D;
  }

  private conv(x: tf.Tensor4D, w: tf.Tensor4D, pad: Pads): tf.Tensor4D {
    return this.subsampled((strides) => tf.conv2d(x, w, strides, pad, 'NHWC', this.dilation as [number, number]));
  }

  /** groups === inChannels: the [kh, kw, 1, out] weight is tfjs' depthwise filter [kh, kw, in, out / in]. */
  private depthwise(x: tf.Tensor4D, w: tf.Tensor4D, pad: Pads): tf.Tensor4D {
    const [kh, kw] = this.kernelSize;
    const filter = tf.reshape(w, [kh, kw, this.inChannels, this.outChannels / this.inChannels]) as tf.Tensor4D;
    return this.subsampled((strides) =>
      tf.depthwiseConv2d(x, filter, strides, pad, 'NHWC', this.dilation as [number, number]),
    );
  }

  /** General groups: each slice of input channels is convolved with its own slice of output filters. */
  private grouped(x: tf.Tensor4D, w: tf.Tensor4D, pad: Pads): tf.Tensor4D {
    const xs = tf.split(x, this.groups, 3);
    const ws = tf.split(w, this.groups, 3);
    const ys = xs.map((xg, g) => this.conv(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, pad));
    return tf.concat(ys, 3);
  }

  private checkSpatial(shape: readonly number[]): void {
    const [pt, pb, pl, pr] = this.pads;
    const h = shape[1]! + pt + pb - this.dilation[0] * (this.kernelSize[0] - 1);
    const w = shape[2]! + pl + pr - this.dilation[1] * (this.kernelSize[1] - 1);
    if (h < 1 || w < 1) {
      throw new InvalidArgumentError(
        `${moduleSubject(this)} got an input of shape ${formatShape(shape)}, which is smaller than its ` +
          `dilated kernel (${this.kernelSize.join('×')}, dilation ${this.dilation.join('×')}) even after padding. ` +
          `Pass a larger input or use more padding.`,
      );
    }
  }
}

/** PyTorch's padding rules, as explicit [top, bottom, left, right]. */
function resolvePadding(
  padding: unknown,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new InvalidArgumentError(
        `Conv2d: \`padding\` 'same' needs stride 1 (as in PyTorch), got stride [${stride.join(', ')}]. ` +
          `Use numeric padding with strided convolutions.`,
      );
    }
    // As PyTorch: total = d·(k − 1), the smaller half before, the rest after.
    const th = dilation[0] * (kernel[0] - 1);
    const tw = dilation[1] * (kernel[1] - 1);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  if (typeof padding === 'string') {
    throw new InvalidArgumentError(
      `Conv2d: \`padding\` must be a number, an [h, w] pair, 'same' or 'valid', got '${padding}'.`,
    );
  }
  const [ph, pw] = checkPair(padding, 'Conv2d', 'padding', 0);
  return [ph, ph, pw, pw];
}

// PyTorch's [out, in/groups, kh, kw] → HWIO [kh, kw, in/groups, out]. Output channels keep their order, which
// is what both the grouped split (group g = out slice g) and the depthwise reshape ([.., 1, out] → [.., in,
// out/in], out channel = c·mult + m, as PyTorch) expect, so groups need nothing beyond the transpose.
registerTorchLayout(Conv2d, 'weight', (m) => {
  const [kh, kw] = m.kernelSize;
  return permutedLayout(
    [kh, kw, m.inChannels / m.groups, m.outChannels],
    [2, 3, 1, 0],
    'Conv2d.weight: device HWIO [kh, kw, in/groups, out] ↔ PyTorch OIHW [out, in/groups, kh, kw]',
  );
});
