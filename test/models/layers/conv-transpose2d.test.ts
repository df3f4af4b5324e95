import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvTranspose2d, InvalidArgumentError, type ConvTranspose2dOptions } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectClose, expectForwardsLeakNothing, naiveConvTranspose2d, rand } from './helpers.js';

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

// [name, in, out, kernel, options, input H, W, PyTorch's output H, W]
const CASES: Array<[string, number, number, number | [number, number], ConvTranspose2dOptions, number, number, number, number]> = [
  ['defaults', 3, 2, 3, {}, 4, 3, 6, 5],
  ['stride 2 (the VAE upsampler shape)', 2, 3, 4, { stride: 2, padding: 1 }, 3, 4, 6, 8],
  ['stride 2, padding 1, outputPadding 1', 2, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }, 4, 3, 8, 6],
  ['outputPadding larger than padding', 2, 2, 3, { stride: 3, padding: 0, outputPadding: 2 }, 3, 2, 11, 8],
  ['stride larger than the kernel (gaps)', 1, 2, 2, { stride: 3 }, 3, 3, 8, 8],
  ['asymmetric everything', 2, 3, [3, 2], { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2] }, 3, 2, 6, 7],
  ['no bias', 2, 2, 2, { bias: false, stride: 2 }, 2, 2, 4, 4],
];

describe.each(BACKENDS)('ConvTranspose2d on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it.each(CASES)('matches a naive PyTorch-semantics scatter: %s', (_name, cin, cout, k, opts, h, w, oh, ow) => {
    const layer = new ConvTranspose2d(cin, cout, k, opts);
    const x = rand([2, h, w, cin], 13);
    const y = layer.forward(x as tf.Tensor4D);
    expect(y.shape).toEqual([2, oh, ow, cout]);
    expect(layer.outputSize(h, w)).toEqual([oh, ow]);
    const expected = naiveConvTranspose2d(
      x, layer.weight.read(), layer.bias?.read(), pair(opts.stride, 1), pair(opts.padding, 0), pair(opts.outputPadding, 0),
    );
    expectClose(y, expected, { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([x, y]);
    layer.dispose();
  });

  it('equals tf.conv2dTranspose cropped by padding (independent tfjs route, same op)', () => {
    const layer = new ConvTranspose2d(2, 3, 4, { stride: 2, padding: 1 });
    const x = rand([1, 3, 3, 2], 3);
    const y = layer.forward(x as tf.Tensor4D);
    const full = tf.conv2dTranspose(x as tf.Tensor4D, layer.weight.read() as tf.Tensor4D, [1, 8, 8, 3], 2, 'valid');
    const expected = tf.add(tf.slice(full, [0, 1, 1, 0], [1, 6, 6, 3]), layer.bias!.read());
    expectClose(y, expected, { rtol: 0, atol: 0 });
    tf.dispose([x, y, full, expected]);
    layer.dispose();
  });

  it('stores the weight as [kh, kw, out, in] and names weight before bias', () => {
    const layer = new ConvTranspose2d(5, 3, [4, 2]);
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [4, 2, 3, 5]], ['bias', [3]]]);
    layer.dispose();
  });

  it('leaks no tensors across forwards', () => {
    const layer = new ConvTranspose2d(2, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const x = rand([1, 3, 3, 2]);
    expectForwardsLeakNothing(() => layer.forward(x as tf.Tensor4D));
    x.dispose();
    layer.dispose();
  });

  it('rejects a wrong input and an empty output with clear errors', () => {
    const layer = new ConvTranspose2d(2, 2, 3);
    const bad = tf.zeros([1, 4, 4, 3]);
    expect(() => layer.forward(bad as tf.Tensor4D)).toThrowError(InvalidArgumentError);
    expect(() => layer.forward(bad as tf.Tensor4D)).toThrowError(
      /Module ConvTranspose2d expects its input to have shape \[batch, height, width, 2\], got \[1, 4, 4, 3\]/,
    );
    const cropping = new ConvTranspose2d(1, 1, 1, { padding: 1 });
    const x = tf.zeros([1, 1, 1, 1]);
    expect(() => cropping.forward(x as tf.Tensor4D)).toThrowError(/would produce an empty output \(-1×-1\)/);
    tf.dispose([bad, x]);
    layer.dispose();
    cropping.dispose();
  });
});

describe('ConvTranspose2d constructor', () => {
  it.each([
    [() => new ConvTranspose2d(2, 2, 3, { outputPadding: 1 }), /`outputPadding` \[1, 1\] must be smaller than `stride` \[1, 1\]/],
    [() => new ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: [0, 2] }), /must be smaller than `stride`/],
    [() => new ConvTranspose2d(2, 0, 3), /ConvTranspose2d: `outChannels` must be a positive integer, got 0/],
    [() => new ConvTranspose2d(2, 2, 3, { padding: [1, -1] }), /`padding\[1\]` must be a non-negative integer, got -1/],
  ] as Array<[() => unknown, RegExp]>)('rejects bad arguments: %s', (make, message) => {
    expect(make).toThrowError(InvalidArgumentError);
    expect(make).toThrowError(message);
  });
});
