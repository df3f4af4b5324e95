import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';
import { expectNoLeaks } from './leaks.js';

// The leak check must be able to fail: each case below leaks (or frees) on purpose and expects the refusal.
describe.each(BACKENDS)('expectNoLeaks, on %s', (backend) => {
  const strays: tf.Tensor[] = [];
  beforeAll(() => useBackend(backend));
  afterEach(() => {
    for (const t of strays.splice(0)) if (!t.isDisposed) t.dispose();
  });

  it('passes a block that disposes what it makes, and hands back its value', () => {
    const sum = expectNoLeaks(() => {
      const total = tf.tidy(() => tf.sum(tf.ones([4])));
      const value = total.dataSync()[0];
      total.dispose();
      return value;
    });
    expect(sum).toBe(4);
  });

  it('fails a block that leaves a tensor behind, saying how many leaked', () => {
    expect(() => expectNoLeaks(() => void strays.push(tf.zeros([2, 3])))).toThrow(
      /1 tensor\(s\) leaked \(24 bytes more in total\).*expected 0 new tensor\(s\), found 1/,
    );
  });

  it('takes an expected number of new tensors, exactly', () => {
    const kept = expectNoLeaks(() => tf.ones([3]), { newTensors: 1 });
    strays.push(kept);
    expect(kept.shape).toEqual([3]);
    expect(() => expectNoLeaks(() => void strays.push(tf.ones([1]), tf.ones([1])), { newTensors: 1 })).toThrow(
      /1 tensor\(s\) leaked.*expected 1 new tensor\(s\), found 2/,
    );
    expect(() => expectNoLeaks(() => undefined, { newTensors: 1 })).toThrow(/1 tensor\(s\) fewer than expected.*found 0/);
  });

  it('fails a block that disposes a tensor it did not make', () => {
    const outside = tf.ones([2]);
    strays.push(outside);
    expect(() => expectNoLeaks(() => outside.dispose())).toThrow(/1 tensor\(s\) fewer than expected.*found -1/);
  });

  it('names the block when given a label', () => {
    expect(() => expectNoLeaks(() => void strays.push(tf.ones([1])), { label: 'second forward' })).toThrow(/^second forward: 1 tensor/);
  });

  it('counts an async block once it settles', async () => {
    await expect(
      expectNoLeaks(async () => {
        await Promise.resolve();
        strays.push(tf.ones([5]));
      }),
    ).rejects.toThrow(/1 tensor\(s\) leaked \(20 bytes more in total\)/);
    const value = await expectNoLeaks(async () => {
      const t = tf.ones([2]);
      const data = await t.data();
      t.dispose();
      return data.length;
    });
    expect(value).toBe(2);
  });

  it("lets the block's own error through instead of a count", async () => {
    expect(() =>
      expectNoLeaks(() => {
        strays.push(tf.ones([1]));
        throw new RangeError('the block failed');
      }),
    ).toThrow(RangeError);
    await expect(
      expectNoLeaks(async () => {
        strays.push(tf.ones([1]));
        throw new RangeError('the async block failed');
      }),
    ).rejects.toThrow('the async block failed');
  });
});
