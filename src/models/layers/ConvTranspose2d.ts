import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { checkBoolean, checkInput, moduleSubject, checkInt, checkPair, formatShape } from './checks.js';
import { uniformParameter } from './init.js';
import { permutedLayout, registerTorchLayout } from './layouts.js';

export interface ConvTranspose2dOptions {
  stride?: number | [number, number];
  /** Rows/columns removed from each side of the full output, as PyTorch's `padding`. */
  padding?: number | [number, number];
  /** Extra rows/columns added at the bottom/right, as PyTorch's `output_padding` (must be < stride). */
  outputPadding?: number | [number, number];
  bias?: boolean;
}

/**
 * Transposed 2-D convolution with PyTorch's semantics on NHWC tensors, as torch.nn.ConvTranspose2d
 * (groups and dilation 1).
 *
 * `weight` is [kh, kw, outChannels, inChannels]: tfjs' conv2dTranspose filter layout (a PyTorch
 * [in, out, kh, kw] weight maps onto it by a transpose to [2, 3, 1, 0]). `bias` is [outChannels].
 *
 * forward(x: [batch, height, width, inChannels]) → [batch, outHeight, outWidth, outChannels] with
 * outHeight = (height − 1)·sh − 2·ph + kh + oph, exactly PyTorch's size.
 */
@module()
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly outputPadding: readonly [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options: ConvTranspose2dOptions = {}) {
    super();
    const { stride = 1, padding = 0, outputPadding = 0, bias = true } = options;
    this.inChannels = checkInt(inChannels, 'ConvTranspose2d', 'inChannels');
    this.outChannels = checkInt(outChannels, 'ConvTranspose2d', 'outChannels');
    this.kernelSize = checkPair(kernelSize, 'ConvTranspose2d', 'kernelSize');
    this.stride = checkPair(stride, 'ConvTranspose2d', 'stride');
    this.padding = checkPair(padding, 'ConvTranspose2d', 'padding', 0);
    this.outputPadding = checkPair(outputPadding, 'ConvTranspose2d', 'outputPadding', 0);
    checkBoolean(bias, 'ConvTranspose2d', 'bias');
    for (const i of [0, 1]) {
      if (this.outputPadding[i]! >= this.stride[i]!) {
        throw new InvalidArgumentError(
          `ConvTranspose2d: \`outputPadding\` [${this.outputPadding.join(', ')}] must be smaller than \`stride\` ` +
            `[${this.stride.join(', ')}] in each dimension (as in PyTorch). Lower outputPadding.`,
        );
      }
    }
    const [kh, kw] = this.kernelSize;
    // PyTorch computes fan-in from the weight's dim 1, which for a transposed conv is outChannels.
    const fanIn = outChannels * kh * kw;
    this.weight = uniformParameter([kh, kw, outChannels, inChannels], fanIn);
    this.bias = bias ? uniformParameter([outChannels], fanIn) : undefined;
  }

  /** PyTorch's output size for an input of `height` × `width`. */
  outputSize(height: number, width: number): [number, number] {
    const size = (n: number, i: 0 | 1): number =>
      (n - 1) * this.stride[i] - 2 * this.padding[i] + this.kernelSize[i] + this.outputPadding[i];
    return [size(height, 0), size(width, 1)];
  }

  forward(input: tf.Tensor): tf.Tensor4D {
    const x = checkInput(this, input, {
      rank: 4, lastDim: this.inChannels, dtype: 'float32', expected: `[batch, height, width, ${this.inChannels}]`,
    }) as tf.Tensor4D;
    const [batch, height, width] = x.shape;
    const [outH, outW] = this.outputSize(height, width);
    if (outH < 1 || outW < 1) {
      throw new InvalidArgumentError(
        `${moduleSubject(this)} would produce an empty output (${outH}×${outW}) from an input of shape ` +
          `${formatShape(x.shape)}: its padding [${this.padding.join(', ')}] removes more than the full output. ` +
          `Pass a larger input or use less padding.`,
      );
    }
    // PyTorch's `padding` p is the padding of the convolution this one transposes, which is exactly what
    // tfjs' conv2dTranspose takes (as the input-gradient of that convolution), and the output size is given
    // explicitly, so output_padding rows come out right too: one kernel, no crop.
    const [ph, pw] = this.padding;
    const pad = ph === pw ? ph : ([[0, 0], [ph, ph], [pw, pw], [0, 0]] as tf.backend_util.ExplicitPadding);
    let y = tf.conv2dTranspose(x, this.weight.read() as tf.Tensor4D, [batch, outH, outW, this.outChannels], this.stride as [number, number], pad);
    if (this.bias !== undefined) y = tf.add(y, this.bias.read());
    return y;
  }
}

registerTorchLayout(ConvTranspose2d, 'weight', (m) => {
  const [kh, kw] = m.kernelSize;
  return permutedLayout(
    [kh, kw, m.outChannels, m.inChannels],
    [2, 3, 1, 0],
    'ConvTranspose2d.weight: device [kh, kw, out, in] ↔ PyTorch [in, out, kh, kw]',
  );
});
