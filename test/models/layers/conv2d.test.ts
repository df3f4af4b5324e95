import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conv2d, InvalidArgumentError, type Conv2dOptions } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectClose, expectExact, expectForwardsLeakNothing, naiveConv2d, rand } from './helpers.js';

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/** PyTorch's explicit pads for the option, computed independently of the layer. */
function padsOf(opts: Conv2dOptions, k: [number, number]): [number, number, number, number] {
  const p = opts.padding ?? 0;
  if (p === 'valid') return [0, 0, 0, 0];
  const [dh, dw] = pair(opts.dilation, 1);
  if (p === 'same') {
    const th = dh * (k[0] - 1), tw = dw * (k[1] - 1);
    return [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
  }
  const [ph, pw] = pair(p, 0);
  return [ph, ph, pw, pw];
}

// [name, inChannels, outChannels, kernel, options, input H, W, expected output H, W]
const CASES: Array<[string, number, number, number | [number, number], Conv2dOptions, number, number, number, number]> = [
  ['defaults (valid 3×3)', 3, 4, 3, {}, 6, 5, 4, 3],
  ['padding 1', 3, 4, 3, { padding: 1 }, 6, 5, 6, 5],
  ['stride 2 with padding 1', 2, 3, 3, { stride: 2, padding: 1 }, 7, 6, 4, 3],
  ['asymmetric kernel, stride and padding', 2, 3, [3, 2], { stride: [2, 1], padding: [1, 0] }, 5, 4, 3, 3],
  ['dilation 2', 2, 2, 3, { dilation: 2, padding: 2 }, 6, 6, 6, 6],
  ['dilation 2 with stride 2 (tfjs refuses both)', 2, 3, 3, { dilation: 2, stride: 2, padding: 1 }, 8, 7, 3, 3],
  ["padding 'same' with an even kernel", 2, 3, 4, { padding: 'same' }, 5, 6, 5, 6],
  ["padding 'same' with dilation", 2, 2, 3, { padding: 'same', dilation: [2, 1] }, 6, 5, 6, 5],
  ["padding 'valid'", 2, 2, 2, { padding: 'valid' }, 4, 4, 3, 3],
  ['depthwise (groups = in), multiplier 2', 3, 6, 3, { groups: 3, padding: 1 }, 5, 5, 5, 5],
  ['depthwise with stride 2 and dilation 2', 2, 2, 3, { groups: 2, padding: 2, stride: 2, dilation: 2 }, 7, 7, 4, 4],
  ['general groups 2', 4, 6, 3, { groups: 2, padding: 1, stride: 2 }, 5, 6, 3, 3],
  ['no bias', 2, 2, 1, { bias: false }, 3, 3, 3, 3],
];

describe.each(BACKENDS)('Conv2d on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it.each(CASES)('matches a naive PyTorch-semantics loop: %s', (_name, cin, cout, k, opts, h, w, oh, ow) => {
    const layer = new Conv2d(cin, cout, k, opts);
    const x = rand([2, h, w, cin], 11);
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, oh, ow, cout]);
    const kernel = pair(k, 0);
    const expected = naiveConv2d(x, layer.weight.read(), layer.bias?.read(), {
      stride: pair(opts.stride, 1), pads: padsOf(opts, kernel), dilation: pair(opts.dilation, 1), groups: opts.groups ?? 1,
    });
    expectClose(y, expected, { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([x, y]);
    layer.dispose();
  });

  it("equals tfjs' fused conv2d (Conv2D's kernel) exactly, and conv2d + bias within float32 rounding (groups 1)", () => {
    const layer = new Conv2d(3, 4, 3, { stride: 2, padding: 1 });
    const x = rand([1, 6, 6, 3], 5);
    const y = layer.forward(x);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const w = layer.weight.read() as tf.Tensor4D;
    const fused = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w, strides: 2, pad, bias: layer.bias!.read() });
    expectExact(y, fused);
    // The bias seeds the accumulation instead of following it: same sum, another rounding order. Tolerance:
    // a few float32 ulps of the 27-term sum.
    const unfused = tf.add(tf.conv2d(x as tf.Tensor4D, w, 2, pad), layer.bias!.read());
    expectClose(y, unfused, { rtol: 1e-6, atol: 1e-6 });
    tf.dispose([x, y, fused, unfused]);
    layer.dispose();
  });

  it('stores the weight as HWIO [kh, kw, in/groups, out]', () => {
    const layer = new Conv2d(4, 6, [3, 2], { groups: 2 });
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [3, 2, 2, 6]], ['bias', [6]]]);
    const bound = 1 / Math.sqrt(2 * 3 * 2);
    for (const v of layer.weight.read().dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    layer.dispose();
  });

  it.each([
    ['groups 1', {}],
    ['depthwise', { groups: 2 }],
    ['dilation and stride', { dilation: 2, stride: 2 }],
  ] as Array<[string, Conv2dOptions]>)('leaks no tensors (%s)', (_n, opts) => {
    const layer = new Conv2d(2, 4, 3, { padding: 1, ...opts });
    const x = rand([1, 6, 6, 2]);
    expectForwardsLeakNothing(() => layer.forward(x));
    x.dispose();
    layer.dispose();
  });

  it('rejects an input with the wrong rank or channels, naming the module and the shapes', () => {
    const layer = new Conv2d(3, 4, 3);
    const nchw = tf.zeros([1, 3, 8, 8]);
    expect(() => layer.forward(nchw as tf.Tensor4D)).toThrowError(InvalidArgumentError);
    expect(() => layer.forward(nchw as tf.Tensor4D)).toThrowError(
      /Module Conv2d expects its input to have shape \[batch, height, width, 3\], got \[1, 3, 8, 8\]/,
    );
    const flat = tf.zeros([8, 3]);
    expect(() => layer.forward(flat as tf.Tensor4D)).toThrowError(/got \[8, 3\]/);
    tf.dispose([nchw, flat]);
    layer.dispose();
  });

  it('rejects an input smaller than the dilated kernel', () => {
    const layer = new Conv2d(1, 1, 3, { dilation: 2 });
    const x = tf.zeros([1, 4, 4, 1]);
    expect(() => layer.forward(x as tf.Tensor4D)).toThrowError(InvalidArgumentError);
    expect(() => layer.forward(x as tf.Tensor4D)).toThrowError(/shape \[1, 4, 4, 1\].*smaller than its dilated kernel/);
    x.dispose();
    layer.dispose();
  });
});

describe('Conv2d constructor', () => {
  it.each([
    [() => new Conv2d(0, 2, 3), /Conv2d: `inChannels` must be a positive integer, got 0/],
    [() => new Conv2d(2, 2, [3, 0]), /Conv2d: `kernelSize\[1\]` must be a positive integer, got 0/],
    [() => new Conv2d(2, 2, 3, { stride: 0 }), /`stride` must be a positive integer/],
    [() => new Conv2d(2, 2, 3, { padding: -1 }), /`padding` must be a non-negative integer, got -1/],
    [() => new Conv2d(2, 2, 3, { padding: 'full' as 'same' }), /`padding` must be a number, an \[h, w\] pair, 'same' or 'valid', got 'full'/],
    [() => new Conv2d(2, 2, 3, { padding: 'same', stride: 2 }), /'same' needs stride 1/],
    [() => new Conv2d(4, 6, 3, { groups: 3 }), /`inChannels` \(4\) and `outChannels` \(6\) must both be divisible by `groups` \(3\)/],
    [() => new Conv2d(2, 2, 3, { bias: 1 as unknown as boolean }), /`bias` must be true or false/],
  ] as Array<[() => unknown, RegExp]>)('rejects bad arguments: %s', (make, message) => {
    expect(make).toThrowError(InvalidArgumentError);
    expect(make).toThrowError(message);
  });
});
