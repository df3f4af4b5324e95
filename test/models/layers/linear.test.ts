import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, Linear, Module, module, preferredLinearLayout, withParameterInit } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { denseKernel, expectClose, expectExact, expectForwardsLeakNothing, rand, values } from './helpers.js';

@module()
class LinearHolder extends Module {
  readonly inner = new Linear(4, 3);
  forward(x: tf.Tensor) { return this.inner.forward(x); }
}

describe.each(BACKENDS)('Linear on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it("keeps the weight in the backend's fastest layout (cpu: PyTorch's [out, in]; others: Dense's [in, out]) and names weight before bias", () => {
    expect(preferredLinearLayout()).toBe(backend === 'cpu' ? 'out_in' : 'in_out');
    const layer = new Linear(5, 3);
    expect(layer.layout).toBe(preferredLinearLayout());
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', backend === 'cpu' ? [3, 5] : [5, 3]], ['bias', [3]]]);
    expect(new Linear(5, 3, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    expect(new Linear(5, 3, { layout: 'in_out' }).weight.shape).toEqual([5, 3]);
    expect(new Linear(5, 3, { layout: 'out_in' }).weight.shape).toEqual([3, 5]);
    expect(() => new Linear(5, 3, { layout: 'io' as never })).toThrowError(/`layout` must be 'in_out' or 'out_in'.*got "io"/);
    layer.dispose();
  });

  it('draws the same seeded weights in either layout, and both layouts compute the same values', () => {
    const [a, b] = (['in_out', 'out_in'] as const).map((layout) => withParameterInit({ seed: 5 }, () => new Linear(7, 4, { layout })));
    const [ka, kb] = [denseKernel(a!), denseKernel(b!)];
    expectExact(ka, kb);
    const x = rand([6, 7], 2);
    const [ya, yb] = [a!.forward(x), b!.forward(x)];
    // Tolerance: float32 rounding of an 8-term sum of values below 1, summed in another order.
    expectClose(ya, yb, { rtol: 1e-6, atol: 1e-6 });
    tf.dispose([ka, kb, x, ya, yb]);
    a!.dispose();
    b!.dispose();
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

  it.each(['in_out', 'out_in'] as const)("equals tfjs' fused matMul exactly and x·W + b in float64 within float32 rounding, for 3-D input (%s)", (layout) => {
    const layer = new Linear(5, 3, { layout });
    const x = rand([2, 4, 5], 7);
    const y = layer.forward(x);
    // The kernels it uses: Dense's fused matMul for [in, out]; for [out, in], matMul with transposeB then the bias
    // (tfjs-backend-wasm's fused kernel misplaces the bias with transposeB; the float64 check below catches that).
    const x2d = tf.reshape(x, [8, 5]) as tf.Tensor2D;
    const w = layer.weight.read() as tf.Tensor2D;
    const fused = tf.reshape(
      layout === 'in_out' ? tf.fused.matMul({ a: x2d, b: w, bias: layer.bias!.read() }) : tf.add(tf.matMul(x2d, w, false, true), layer.bias!.read()),
      [2, 4, 3],
    );
    expectExact(y, fused);
    // The reference in float64 from the definition y[r][o] = b[o] + Σ_i x[r][i]·W[i][o] (W is [in, out]).
    // Tolerance: float32 rounding of a 6-term sum of values below 1, in any order.
    const kernel = denseKernel(layer);
    const xs = values(x), ws = values(kernel), bs = values(layer.bias!.read());
    const data = Array.from({ length: 8 * 3 }, (_, k) => {
      const r = Math.floor(k / 3), o = k % 3;
      let sum = bs[o]!;
      for (let i = 0; i < 5; i++) sum += xs[r * 5 + i]! * ws[i * 3 + o]!;
      return sum;
    });
    expectClose(y, { data, shape: [2, 4, 3] }, { rtol: 1e-6, atol: 1e-6 });
    tf.dispose([x, x2d, y, fused, kernel]);
    layer.dispose();
  });

  it('handles 1-D input and no bias', () => {
    const layer = new Linear(4, 2, { bias: false });
    const x = rand([4], 3);
    const y = layer.forward(x);
    const expected = tf.reshape(tf.matMul(tf.reshape(x, [1, 4]), layer.weight.read(), false, layer.layout === 'out_in'), [2]);
    expectExact(y, expected);
    tf.dispose([x, y, expected]);
    layer.dispose();
  });

  it('leaks no tensors across forwards', () => {
    const layer = new Linear(6, 2);
    const x = rand([3, 6]);
    expectForwardsLeakNothing(() => layer.forward(x));
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
