import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Embedding, InvalidArgumentError } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { expectExact, expectForwardsLeakNothing, values } from './helpers.js';

describe.each(BACKENDS)('Embedding on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it('has weight [num, dim] from a standard normal', () => {
    const emb = new Embedding(200, 50);
    expect(emb.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [200, 50]]]);
    const w = values(emb.weight.read());
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    emb.dispose();
  });

  it('looks up rows for ids of any shape: [...ids.shape, dim]', () => {
    const emb = new Embedding(10, 3);
    const ids = tf.tensor2d([[1, 9, 1], [0, 4, 7]], [2, 3], 'int32');
    const y = emb.forward(ids);
    expect(y.shape).toEqual([2, 3, 3]);
    const w = emb.weight.read().arraySync() as number[][];
    expect(y.arraySync()).toEqual([[w[1], w[9], w[1]], [w[0], w[4], w[7]]]);
    const expected = tf.gather(emb.weight.read(), ids);
    expectExact(y, expected);
    const scalarId = tf.scalar(5, 'int32');
    const row = emb.forward(scalarId);
    expect(row.shape).toEqual([3]);
    expect(row.arraySync()).toEqual(w[5]);
    tf.dispose([ids, y, expected, scalarId, row]);
    emb.dispose();
  });

  it('leaks no tensors across forwards (range check included)', () => {
    const emb = new Embedding(10, 4);
    const ids = tf.tensor1d([3, 2, 9], 'int32');
    expectForwardsLeakNothing(() => emb.forward(ids));
    ids.dispose();
    emb.dispose();
  });

  it('rejects out-of-range ids, naming the module, the id and the range', () => {
    const emb = new Embedding(10, 4);
    const high = tf.tensor1d([0, 10], 'int32');
    const low = tf.tensor1d([-1, 3], 'int32');
    expect(() => emb.forward(high)).toThrowError(InvalidArgumentError);
    expect(() => emb.forward(high)).toThrowError(/Module Embedding got id 10, outside \[0, 10\)/);
    expect(() => emb.forward(low)).toThrowError(/got id -1, outside \[0, 10\)/);
    // The failed check releases its own intermediates.
    expectNoLeaks(() => expect(() => emb.forward(high)).toThrowError(InvalidArgumentError));
    tf.dispose([high, low]);
    emb.dispose();
  });

  it('rejects float ids and non-tensors', () => {
    const emb = new Embedding(10, 4);
    const floats = tf.tensor1d([1, 2]);
    expect(() => emb.forward(floats)).toThrowError(InvalidArgumentError);
    expect(() => emb.forward(floats)).toThrowError(/expects its ids to be int32, got float32/);
    expect(() => emb.forward([1, 2] as unknown as tf.Tensor)).toThrowError(/expects its ids to be a tf.Tensor/);
    floats.dispose();
    emb.dispose();
  });
});

describe('Embedding constructor', () => {
  it('rejects bad sizes', () => {
    expect(() => new Embedding(0, 4)).toThrowError(/Embedding: `numEmbeddings` must be a positive integer, got 0/);
    expect(() => new Embedding(4, 1.5)).toThrowError(InvalidArgumentError);
  });
});
