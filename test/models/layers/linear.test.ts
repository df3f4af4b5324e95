import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, Linear, Module, module } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectClose, expectExact, expectNoLeaks, rand, values } from './helpers.js';

@module()
class LinearHolder extends Module {
  readonly inner = new Linear(4, 3);
  forward(x: tf.Tensor) { return this.inner.forward(x); }
}

describe.each(BACKENDS)('Linear on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it("stores the weight in tfjs Dense's [in, out] layout and names weight before bias", () => {
    const layer = new Linear(5, 3);
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [5, 3]], ['bias', [3]]]);
    expect(new Linear(5, 3, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    layer.dispose();
  });

  it('initializes uniformly within ±1/√inFeatures like PyTorch', () => {
    const layer = new Linear(16, 64);
    const w = values(layer.weight.read());
    const b = values(layer.bias!.read());
    for (const v of [...w, ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(0.25);
    // Not all zeros or constant: the spread of 1024 uniform samples nearly covers the range.
    expect(Math.max(...w) - Math.min(...w)).toBeGreaterThan(0.4);
    layer.dispose();
  });

  it("equals tfjs' fused matMul (Dense's kernel) exactly and x·W + b in float64 within float32 rounding, for 3-D input", () => {
    const layer = new Linear(5, 3);
    const x = rand([2, 4, 5], 7);
    const y = layer.forward(x);
    const fused = tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [8, 5]) as tf.Tensor2D, b: layer.weight.read() as tf.Tensor2D, bias: layer.bias!.read() }), [2, 4, 3]);
    expectExact(y, fused);
    // The reference in float64 from the definition y[r][o] = b[o] + Σ_i x[r][i]·W[i][o] (W is [in, out]).
    // Tolerance: float32 rounding of a 6-term sum of values below 1, in any order.
    const xs = values(x), ws = values(layer.weight.read()), bs = values(layer.bias!.read());
    const data = Array.from({ length: 8 * 3 }, (_, k) => {
      const r = Math.floor(k / 3), o = k % 3;
      let sum = bs[o]!;
      for (let i = 0; i < 5; i++) sum += xs[r * 5 + i]! * ws[i * 3 + o]!;
      return sum;
    });
    expectClose(y, { data, shape: [2, 4, 3] }, { rtol: 1e-6, atol: 1e-6 });
    tf.dispose([x, y, fused]);
    layer.dispose();
  });

  it('handles 1-D input and no bias', () => {
    const layer = new Linear(4, 2, { bias: false });
    const x = rand([4], 3);
    const y = layer.forward(x);
    const expected = tf.reshape(tf.matMul(tf.reshape(x, [1, 4]), layer.weight.read()), [2]);
    expectExact(y, expected);
    tf.dispose([x, y, expected]);
    layer.dispose();
  });

  it('leaks no tensors across forwards', () => {
    const layer = new Linear(6, 2);
    const x = rand([3, 6]);
    expectNoLeaks(() => layer.forward(x));
    x.dispose();
    layer.dispose();
  });

  it('rejects a wrong last dimension, naming the module and both shapes', () => {
    const holder = new LinearHolder();
    holder.namedModules(); // discovery links the child to its path
    const x = tf.zeros([2, 5]);
    expect(() => holder.forward(x)).toThrowError(InvalidArgumentError);
    expect(() => holder.forward(x)).toThrowError(/Module "inner" \(Linear\) expects its input to have shape \[\.\.\., 4\], got \[2, 5\]/);
    const root = new Linear(4, 3);
    expect(() => root.forward(tf.scalar(1))).toThrowError(/Module Linear expects .*\[\.\.\., 4\], got \[\]/);
    expect(() => root.forward(tf.zeros([2, 4], 'int32'))).toThrowError(/expects its input to be float32, got int32/);
    x.dispose();
    holder.dispose();
    root.dispose();
  });
});

describe('Linear constructor', () => {
  it.each([
    [0, 3, /`inFeatures` must be a positive integer, got 0/],
    [2.5, 3, /`inFeatures` must be a positive integer, got 2\.5/],
    [3, -1, /`outFeatures` must be a positive integer, got -1/],
  ])('rejects Linear(%s, %s)', (i, o, message) => {
    expect(() => new Linear(i, o)).toThrowError(InvalidArgumentError);
    expect(() => new Linear(i, o)).toThrowError(message);
  });

  it('names the class in the message', () => {
    expect(() => new Linear(0, 1)).toThrowError(/^Linear: /);
  });
});
