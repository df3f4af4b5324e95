import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GroupNorm, InvalidArgumentError, LayerNorm, RMSNorm } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { at, expectClose, expectForwardsLeakNothing, rand, randomizeParameters, values } from './helpers.js';

/** GroupNorm in float64 loops: per (sample, group) mean and biased variance over H·W·channels-in-group. */
function naiveGroupNorm(x: tf.Tensor, groups: number, eps: number, weight: number[], bias: number[]) {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const xd = values(x);
  const out = new Float64Array(xd.length);
  const cpg = C / groups;
  for (let b = 0; b < B; b++)
    for (let g = 0; g < groups; g++) {
      const idx: number[] = [];
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < cpg; c++) idx.push(at(x.shape, b, h, w, g * cpg + c));
      const mean = idx.reduce((s, i) => s + xd[i]!, 0) / idx.length;
      const variance = idx.reduce((s, i) => s + (xd[i]! - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const c = i % C;
        out[i] = ((xd[i]! - mean) / Math.sqrt(variance + eps)) * weight[c]! + bias[c]!;
      }
    }
  return { data: out, shape: x.shape };
}

describe.each(BACKENDS)('normalization layers on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  describe('GroupNorm', () => {
    it('starts with weight ones and bias zeros, both [C]', () => {
      const norm = new GroupNorm(2, 6);
      expect(norm.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [6]], ['bias', [6]]]);
      expect(values(norm.weight!.read())).toEqual([1, 1, 1, 1, 1, 1]);
      expect(values(norm.bias!.read())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(new GroupNorm(2, 6, { affine: false }).namedParameters()).toEqual([]);
      norm.dispose();
    });

    it('matches a float64 loop over (H, W, channels-in-group) with the biased variance', () => {
      const norm = new GroupNorm(3, 6, { eps: 1e-3 });
      randomizeParameters(norm);
      const x = tf.add(tf.mul(rand([2, 4, 3, 6], 21), 3), 0.5);
      const y = norm.forward(x);
      expectClose(y, naiveGroupNorm(x, 3, 1e-3, values(norm.weight!.read()), values(norm.bias!.read())), { rtol: 1e-5, atol: 1e-5 });
      tf.dispose([x, y]);
      norm.dispose();
    });

    it('matches a per-group plain tfjs computation', () => {
      const norm = new GroupNorm(2, 4);
      randomizeParameters(norm);
      const x = rand([2, 3, 5, 4], 4);
      const y = norm.forward(x);
      const expected = tf.tidy(() => {
        const parts = tf.split(x, 2, 3).map((part) => {
          const { mean, variance } = tf.moments(part, [1, 2, 3], true);
          return tf.div(tf.sub(part, mean), tf.sqrt(tf.add(variance, 1e-5)));
        });
        return tf.add(tf.mul(tf.concat(parts, 3), norm.weight!.read()), norm.bias!.read());
      });
      expectClose(y, expected, { rtol: 1e-5, atol: 1e-5 });
      tf.dispose([x, y, expected]);
      norm.dispose();
    });

    it('groups consecutive channels (one group per channel = instance norm)', () => {
      const norm = new GroupNorm(4, 4, { affine: false });
      const x = rand([1, 3, 3, 4], 9);
      const y = norm.forward(x);
      const { mean, variance } = tf.moments(y, [1, 2]);
      expectClose(mean, tf.zeros([1, 4]), { atol: 1e-6 });
      expectClose(variance, tf.ones([1, 4]), { rtol: 1e-3 });
      tf.dispose([x, y, mean, variance]);
      norm.dispose();
    });

    it('leaks no tensors, and rejects NCHW-looking input naming the module', () => {
      const norm = new GroupNorm(2, 4);
      const x = rand([1, 3, 3, 4]);
      expectForwardsLeakNothing(() => norm.forward(x));
      const nchw = tf.zeros([1, 4, 3, 3]);
      expect(() => norm.forward(nchw)).toThrowError(InvalidArgumentError);
      expect(() => norm.forward(nchw)).toThrowError(/Module GroupNorm expects its input to have shape \[batch, \.\.\., 4\], got \[1, 4, 3, 3\]/);
      tf.dispose([x, nchw]);
      norm.dispose();
    });
  });

  describe('LayerNorm', () => {
    it('matches plain tfjs over the last dimension', () => {
      const norm = new LayerNorm(8, { eps: 1e-4 });
      randomizeParameters(norm);
      const x = tf.mul(rand([2, 3, 8], 2), 5);
      const y = norm.forward(x);
      const mean = tf.mean(x, -1, true);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const expected = tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, 1e-4))), norm.weight!.read()), norm.bias!.read());
      expectClose(y, expected, { rtol: 1e-5, atol: 1e-5 });
      tf.dispose([x, y, mean, centered, variance, expected]);
      norm.dispose();
    });

    it('has weight and bias [D], no bias with bias: false, nothing without elementwiseAffine', () => {
      expect(new LayerNorm(5).namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [5]], ['bias', [5]]]);
      expect(new LayerNorm(5, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
      expect(new LayerNorm(5, { elementwiseAffine: false }).namedParameters()).toEqual([]);
    });

    it('without affine, rows have mean 0 and biased variance 1', () => {
      const norm = new LayerNorm(16, { elementwiseAffine: false, eps: 1e-12 });
      const x = rand([4, 16], 3);
      const y = norm.forward(x);
      const { mean, variance } = tf.moments(y, -1);
      expectClose(mean, tf.zeros([4]), { atol: 1e-6 });
      expectClose(variance, tf.ones([4]), { rtol: 1e-5 });
      tf.dispose([x, y, mean, variance]);
    });

    it('leaks no tensors, and rejects a wrong last dimension', () => {
      const norm = new LayerNorm(4);
      const x = rand([2, 4]);
      expectForwardsLeakNothing(() => norm.forward(x));
      const bad = tf.zeros([4, 3]);
      expect(() => norm.forward(bad)).toThrowError(InvalidArgumentError);
      expect(() => norm.forward(bad)).toThrowError(/Module LayerNorm expects its input to have shape \[\.\.\., 4\], got \[4, 3\]/);
      tf.dispose([x, bad]);
      norm.dispose();
    });
  });

  describe('RMSNorm', () => {
    it('equals x · rsqrt(mean(x²) + eps) · weight', () => {
      const norm = new RMSNorm(6, { eps: 1e-5 });
      randomizeParameters(norm);
      const x = tf.mul(rand([3, 6], 8), 4);
      const y = norm.forward(x);
      const rms = tf.sqrt(tf.add(tf.div(tf.sum(tf.mul(x, x), -1, true), 6), 1e-5));
      const expected = tf.mul(tf.div(x, rms), norm.weight!.read());
      expectClose(y, expected, { rtol: 1e-5, atol: 1e-6 });
      tf.dispose([x, y, rms, expected]);
      norm.dispose();
    });

    it('does not subtract the mean', () => {
      const norm = new RMSNorm(2, { elementwiseAffine: false, eps: 0.5 });
      const x = tf.tensor2d([[3, 3]]);
      const y = norm.forward(x);
      // mean(x²) = 9 → 3 / √9.5 each; a LayerNorm would give zeros here.
      expectClose(y, tf.fill([1, 2], 3 / Math.sqrt(9.5)), { rtol: 1e-6 });
      expect(norm.namedParameters()).toEqual([]);
      tf.dispose([x, y]);
    });

    it('leaks no tensors, and rejects a wrong last dimension', () => {
      const norm = new RMSNorm(4);
      expect(norm.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [4]]]);
      const x = rand([2, 4]);
      expectForwardsLeakNothing(() => norm.forward(x));
      const bad = tf.zeros([2, 5]);
      expect(() => norm.forward(bad)).toThrowError(/Module RMSNorm expects its input to have shape \[\.\.\., 4\], got \[2, 5\]/);
      tf.dispose([x, bad]);
      norm.dispose();
    });
  });
});

describe('normalization constructors', () => {
  it.each([
    [() => new GroupNorm(4, 6), /GroupNorm: `numChannels` \(6\) must be divisible by `numGroups` \(4\)/],
    [() => new GroupNorm(0, 6), /GroupNorm: `numGroups` must be a positive integer, got 0/],
    [() => new GroupNorm(2, 6, { eps: 0 }), /GroupNorm: `eps` must be a finite number > 0, got 0/],
    [() => new LayerNorm(-3), /LayerNorm: `normalizedShape` must be a positive integer, got -3/],
    [() => new RMSNorm(4, { eps: Number.NaN }), /RMSNorm: `eps` must be a finite number > 0, got NaN/],
  ] as Array<[() => unknown, RegExp]>)('rejects bad arguments: %s', (make, message) => {
    expect(make).toThrowError(InvalidArgumentError);
    expect(make).toThrowError(message);
  });
});
