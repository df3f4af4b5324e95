import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Dropout, FeedForward, GEGLU, GELU, InvalidArgumentError, type Linear, gelu } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { denseKernel, erf, expectClose, expectForwardsLeakNothing, linearWeightShape, rand, values } from './helpers.js';

const exactGelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** x·W + b in plain tfjs for [..., in] input (W as [in, out]). */
function linear(l: Linear, x: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  let y = tf.matMul(tf.reshape(x, [-1, l.inFeatures]), denseKernel(l));
  if (l.bias) y = tf.add(y, l.bias.read());
  return tf.reshape(y, [...lead, l.outFeatures]);
}

/** Applies a float64 scalar function element-wise (the reference side of the GELU checks). */
function mapJs(t: tf.Tensor, f: (v: number) => number): tf.Tensor {
  return tf.tensor(values(t).map(f), t.shape);
}

describe.each(BACKENDS)('FeedForward and activations on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it('gelu matches PyTorch values, exact and tanh', () => {
    const x = tf.tensor1d([-3, -1, -0.5, 0, 0.5, 1, 2, 3.5]);
    const exact = gelu(x);
    const approx = gelu(x, 'tanh');
    // Known PyTorch outputs: gelu(1) = 0.8413447, gelu(1, approximate='tanh') = 0.8411920.
    expect(exact.dataSync()[5]).toBeCloseTo(0.8413447, 6);
    expect(approx.dataSync()[5]).toBeCloseTo(0.841192, 6);
    expectClose(exact, mapJs(x, exactGelu), { rtol: 1e-5, atol: 1e-6 });
    expectClose(approx, mapJs(x, tanhGelu), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([x, exact, approx]);
  });

  it('GELU module: gelu(proj(x)) with the chosen approximation', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const act = new GELU(4, 6, { approximate });
      expect(act.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['proj.weight', linearWeightShape(4, 6)], ['proj.bias', [6]]]);
      const x = tf.mul(rand([2, 3, 4], 3), 3);
      const y = act.forward(x);
      const h = linear(act.proj, x);
      expectClose(y, mapJs(h, approximate === 'none' ? exactGelu : tanhGelu), { rtol: 1e-5, atol: 1e-6 });
      tf.dispose([x, y, h]);
      act.dispose();
    }
  });

  it('GEGLU: first half is the value, second half the gate (hidden · gelu(gate))', () => {
    const act = new GEGLU(4, 3);
    expect(act.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['proj.weight', linearWeightShape(4, 6)], ['proj.bias', [6]]]);
    const x = tf.mul(rand([5, 4], 4), 2);
    const y = act.forward(x);
    const h = linear(act.proj, x);
    const hidden = tf.slice(h, [0, 0], [5, 3]);
    const gate = tf.slice(h, [0, 3], [5, 3]);
    const expected = tf.mul(hidden, mapJs(gate, exactGelu));
    expect(y.shape).toEqual([5, 3]);
    expectClose(y, expected, { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([x, y, h, hidden, gate, expected]);
    act.dispose();
  });

  it('Dropout is the identity at inference', () => {
    const drop = new Dropout(0.5);
    const x = rand([3, 3]);
    expect(drop.forward(x)).toBe(x);
    expect(drop.namedParameters()).toEqual([]);
    x.dispose();
  });

  it.each([
    ['gelu', ['net.0.proj.weight', 'net.0.proj.bias', 'net.2.weight', 'net.2.bias'], [8, 32]],
    ['gelu-approximate', ['net.0.proj.weight', 'net.0.proj.bias', 'net.2.weight', 'net.2.bias'], [8, 32]],
    ['geglu', ['net.0.proj.weight', 'net.0.proj.bias', 'net.2.weight', 'net.2.bias'], [8, 64]],
  ] as const)('has diffusers paths with activation %s', (activation, names, proj0Shape) => {
    const ff = new FeedForward(8, { activation });
    expect(ff.namedParameters().map(([n]) => n)).toEqual(names);
    expect(ff.getParameter('net.0.proj.weight').shape).toEqual(linearWeightShape(proj0Shape[0], proj0Shape[1]));
    expect(ff.getParameter('net.2.weight').shape).toEqual(linearWeightShape(32, 8));
    expect(ff.namedModules().map(([p, m]) => `${p}:${m.constructor.name}`)).toEqual([
      ':FeedForward', 'net:ModuleList', `net.0:${activation === 'geglu' ? 'GEGLU' : 'GELU'}`, 'net.0.proj:Linear',
      'net.1:Dropout', 'net.2:Linear',
    ]);
    ff.dispose();
  });

  it.each(['gelu', 'gelu-approximate', 'geglu'] as const)('matches plain tfjs for activation %s', (activation) => {
    const ff = new FeedForward(6, { activation, mult: 2, dimOut: 5 });
    const x = rand([2, 3, 6], 9);
    const y = ff.forward(x);
    expect(y.shape).toEqual([2, 3, 5]);
    const proj = ff.getSubmodule('net.0.proj') as Linear;
    const h = linear(proj, x);
    let act: tf.Tensor;
    if (activation === 'geglu') {
      const [hidden, gate] = tf.split(h, 2, -1);
      act = tf.mul(hidden!, mapJs(gate!, exactGelu));
    } else {
      act = mapJs(h, activation === 'gelu' ? exactGelu : tanhGelu);
    }
    const expected = linear(ff.getSubmodule('net.2') as Linear, act);
    expectClose(y, expected, { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([x, y, h, act, expected]);
    ff.dispose();
  });

  it('defaults to diffusers: mult 4, GEGLU, biases on', () => {
    const ff = new FeedForward(4);
    expect(ff.innerDim).toBe(16);
    expect(ff.net.at(0)).toBeInstanceOf(GEGLU);
    expect(ff.namedParameters().length).toBe(4);
    const noBias = new FeedForward(4, { bias: false, activation: 'gelu' });
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['net.0.proj.weight', 'net.2.weight']);
    ff.dispose();
    noBias.dispose();
  });

  it('leaks no tensors across forwards', () => {
    for (const activation of ['gelu', 'gelu-approximate', 'geglu'] as const) {
      const ff = new FeedForward(4, { activation });
      const x = rand([2, 4]);
      expectForwardsLeakNothing(() => ff.forward(x));
      x.dispose();
      ff.dispose();
    }
  });

  it('rejects a wrong last dimension, naming the module', () => {
    const ff = new FeedForward(4);
    const x = tf.zeros([2, 3]);
    expect(() => ff.forward(x)).toThrowError(InvalidArgumentError);
    expect(() => ff.forward(x)).toThrowError(/Module FeedForward expects its input to have shape \[\.\.\., 4\], got \[2, 3\]/);
    x.dispose();
    ff.dispose();
  });
});

describe('FeedForward and activation constructors', () => {
  it.each([
    [() => new FeedForward(4, { activation: 'relu' as 'gelu' }), /FeedForward: `activation` must be one of 'gelu', 'gelu-approximate', 'geglu', got "relu"/],
    [() => new FeedForward(4, { mult: 0 }), /FeedForward: `mult` must be a positive integer, got 0/],
    [() => new GELU(4, 4, { approximate: 'fast' as 'tanh' }), /GELU: `approximate` must be one of 'none', 'tanh'/],
    [() => new GEGLU(4, 0), /GEGLU: `dimOut` must be a positive integer/],
    [() => new Dropout(1.5), /Dropout: `p` must be a probability in \[0, 1\], got 1\.5/],
  ] as Array<[() => unknown, RegExp]>)('rejects bad arguments: %s', (make, message) => {
    expect(make).toThrowError(InvalidArgumentError);
    expect(make).toThrowError(message);
  });
});
