import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, Linear, Module, module } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectExact, expectNoLeaks, rand, values } from './helpers.js';

@module()
class LinearHolder extends Module {
  readonly inner = new Linear(4, 3);
  forward(x: tf.Tensor) { return this.inner.forward(x); }
}

describe.each(BACKENDS)('Linear on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it('stores the weight in PyTorch [out, in] layout and names weight before bias', () => {
    const layer = new Linear(5, 3);
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [3, 5]], ['bias', [3]]]);
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

  it('equals x·Wᵀ + b exactly, for 3-D input', () => {
    const layer = new Linear(5, 3);
    const x = rand([2, 4, 5], 7);
    const y = layer.forward(x);
    const expected = tf.reshape(
      tf.add(tf.matMul(tf.reshape(x, [8, 5]), layer.weight.read(), false, true), layer.bias!.read()),
      [2, 4, 3],
    );
    expectExact(y, expected);
    tf.dispose([x, y, expected]);
    layer.dispose();
  });

  it('handles 1-D input and no bias', () => {
    const layer = new Linear(4, 2, { bias: false });
    const x = rand([4], 3);
    const y = layer.forward(x);
    const expected = tf.reshape(tf.matMul(tf.reshape(x, [1, 4]), layer.weight.read(), false, true), [2]);
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
