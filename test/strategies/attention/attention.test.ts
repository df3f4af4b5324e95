import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appliedStrategies,
  Attention,
  chunkedAttentionProcessor,
  InvalidArgumentError,
  memory,
  MemhooksError,
  Module,
  ModuleList,
  naiveAttentionProcessor,
  setAttentionProcessor,
  slicedAttentionProcessor,
  type AttentionProcessor,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { rand } from '../../models/layers/helpers.js';

/** Two attention blocks, so that "every Attention in the tree" is visible. */
class TwoBlocks extends Module {
  blocks: ModuleList<Attention>;
  constructor(dim: number, heads: number, dimHead: number) {
    super();
    this.blocks = new ModuleList([new Attention(dim, { heads, dimHead }), new Attention(dim, { heads, dimHead })]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.blocks.at(1).forward(this.blocks.at(0).forward(x));
  }
}

/**
 * Tolerance: the processors compute the same sums in another order (q pre-scaled, blockwise exp and sums),
 * so float32 results differ by a few ulps of the output's scale; 1e-5 of max|naive| is the bound.
 */
function expectCloseToScale(actual: tf.Tensor, expected: tf.Tensor, rel = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  for (const x of e) scale = Math.max(scale, Math.abs(x));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
  expect(Number.isFinite(worst) && Number.isFinite(scale)).toBe(true);
  expect(worst).toBeLessThanOrEqual(rel * scale);
}

/** Projected q, k, v for a bare processor call. */
function qkv(batch: number, n: number, inner: number, seed: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return [rand([batch, n, inner], seed), rand([batch, n, inner], seed + 1), rand([batch, n, inner], seed + 2)];
}

describe.each(BACKENDS)('attention processors on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it("'sliced' and 'chunked' match 'naive' within 1e-5 of the output scale, for N that no slice or block size divides", () => {
    const attn = new Attention(16, { heads: 2, dimHead: 8 });
    for (const n of [1, 7, 37, 64]) {
      const [q, k, v] = qkv(2, n, 16, n);
      // Scores spread over a wide range, so that the online softmax's rescaling really happens.
      const qBig = tf.mul(q, 6);
      const naive = naiveAttentionProcessor(attn, qBig, k, v);
      for (const p of [slicedAttentionProcessor(5), chunkedAttentionProcessor(5), chunkedAttentionProcessor(64), slicedAttentionProcessor(1)]) {
        const out = p(attn, qBig, k, v);
        expectCloseToScale(out, naive);
        out.dispose();
      }
      tf.dispose([q, k, v, qBig, naive]);
    }
    attn.dispose();
  });

  it('honour attention masks: broadcast, per query and key, and −∞ on whole key blocks', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    const n = 19;
    const [q, k, v] = qkv(2, n, 8, 50);
    const causal = tf.tidy(() => {
      const i = tf.reshape(tf.range(0, n), [n, 1]);
      const j = tf.reshape(tf.range(0, n), [1, n]);
      return tf.where(tf.greater(j, i), tf.fill([n, n], -1e9), tf.zeros([n, n]));
    });
    // Row i may only see keys ≥ i, with −∞: the first key blocks of late rows are entirely masked.
    const antiCausalInf = tf.tidy(() => {
      const i = tf.reshape(tf.range(0, n), [n, 1]);
      const j = tf.reshape(tf.range(0, n), [1, n]);
      return tf.reshape(tf.where(tf.less(j, i), tf.fill([n, n], -Infinity), tf.zeros([n, n])), [1, 1, n, n]);
    });
    const keyPadding = tf.concat([tf.zeros([1, 1, 1, n - 4]), tf.fill([1, 1, 1, 4], -1e9)], 3); // [1, 1, 1, N]
    const perBatchHead = rand([2, 2, n, n], 51);
    for (const mask of [causal, antiCausalInf, keyPadding, perBatchHead]) {
      const naive = naiveAttentionProcessor(attn, q, k, v, { attentionMask: mask });
      for (const p of [slicedAttentionProcessor(4), chunkedAttentionProcessor(4)]) {
        const out = p(attn, q, k, v, { attentionMask: mask });
        expectCloseToScale(out, naive);
        out.dispose();
      }
      naive.dispose();
    }
    // A mask that does not broadcast is refused, as by the naive processor.
    const bad = tf.zeros([3, n]);
    for (const p of [slicedAttentionProcessor(4), chunkedAttentionProcessor(4)]) {
      expect(() => p(attn, q, k, v, { attentionMask: bad })).toThrow(InvalidArgumentError);
    }
    tf.dispose([q, k, v, causal, antiCausalInf, keyPadding, perBatchHead, bad]);
    attn.dispose();
  });

  it('set every Attention in the tree, leak nothing, and restore the previous processors on remove()', () => {
    const model = new TwoBlocks(16, 2, 8);
    const custom: AttentionProcessor = (a, q, k, v, o) => naiveAttentionProcessor(a, q, k, v, o);
    model.blocks.at(1).setProcessor(custom);
    const before = [...model.blocks].map((b) => b.processor);
    const x = rand([1, 45, 16], 3);
    const expected = model.forward(x) as tf.Tensor;
    for (const name of ['naive', 'sliced', 'chunked'] as const) {
      const handle = setAttentionProcessor(model, name, { sliceSize: 7, blockSize: 7 });
      expect(appliedStrategies(model)).toEqual(['attention_processor']);
      expect(new Set([...model.blocks].map((b) => b.processor)).size).toBe(1);
      const out = model.forward(x) as tf.Tensor;
      expectCloseToScale(out, expected);
      expectNoLeaks(() => {
        for (let i = 0; i < 2; i++) (model.forward(x) as tf.Tensor).dispose();
      });
      out.dispose();
      handle.remove();
      handle.remove();
      expect([...model.blocks].map((b) => b.processor)).toEqual(before);
      expect(appliedStrategies(model)).toEqual([]);
    }
    tf.dispose([x, expected]);
    model.dispose();
  });

  it('accepts a custom processor, the documented plugin point', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    const calls: number[][] = [];
    const logging: AttentionProcessor = (a, q, k, v, o) => {
      calls.push(q.shape);
      return naiveAttentionProcessor(a, q, k, v, o);
    };
    const handle = setAttentionProcessor(attn, logging);
    const x = rand([1, 5, 8], 9);
    tf.dispose(attn.forward(x));
    expect(calls).toEqual([[1, 5, 8]]);
    handle.remove();
    expect(attn.processor).toBe(naiveAttentionProcessor);
    x.dispose();
    attn.dispose();
  });

  it('refuses bad input with a MemhooksError before changing anything', () => {
    const model = new TwoBlocks(8, 2, 4);
    const before = [...model.blocks].map((b) => b.processor);
    const unknown = (() => {
      try {
        setAttentionProcessor(model, 'flash' as never);
      } catch (e) {
        return e;
      }
    })();
    expect(unknown).toBeInstanceOf(MemhooksError);
    expect((unknown as Error).message).toMatch(/"flash".*'naive', 'sliced', 'chunked'/);
    expect(() => setAttentionProcessor(model, 'sliced', { sliceSize: 0 })).toThrow(/sliceSize/);
    expect(() => setAttentionProcessor(model, 'chunked', { blockSize: 2.5 })).toThrow(/blockSize/);
    expect(() => setAttentionProcessor(model, 'chunked', 'fast' as never)).toThrow(InvalidArgumentError);
    expect(() => chunkedAttentionProcessor(0)).toThrow(/blockSize/);
    expect(() => setAttentionProcessor(new ModuleList([]) as unknown as Module, 'chunked')).toThrow(/no Attention/);
    expect([...model.blocks].map((b) => b.processor)).toEqual(before);
    expect(appliedStrategies(model)).toEqual([]);
    // A misspelt option is refused, with the option it most likely meant (replacement itself: replace.test.ts).
    expect(() => setAttentionProcessor(model, 'sliced', { slicesize: 4 } as never)).toThrow(/`slicesize` \(did you mean `sliceSize`\?\)/);
    expect([...model.blocks].map((b) => b.processor)).toEqual(before);
    model.dispose();
  });

  it("'chunked' peaks at ≤ 25% of 'naive' at N = 2048 (memory.track), and 'sliced' below naive", () => {
    const n = 2048;
    const attn = new Attention(8, { heads: 1, dimHead: 8 });
    const x = rand([1, n, 8], 4);
    const peak = (p: AttentionProcessor | 'naive'): number => {
      const handle = setAttentionProcessor(attn, p === 'naive' ? 'naive' : p);
      const base = memory.stats().deviceBytes;
      const { result, peakDeviceBytes } = memory.track(() => attn.forward(x));
      result.dispose();
      handle.remove();
      return peakDeviceBytes - base;
    };
    const naive = peak('naive');
    const chunked = peak(chunkedAttentionProcessor(256));
    const sliced = peak(slicedAttentionProcessor(256));
    // The naive peak is dominated by its [1, 1, 2048, 2048] float32 scores (16 MiB each).
    expect(naive).toBeGreaterThan(n * n * 4);
    expect(chunked).toBeLessThanOrEqual(0.25 * naive);
    expect(sliced).toBeLessThanOrEqual(0.25 * naive);
    x.dispose();
    attn.dispose();
  });
});
