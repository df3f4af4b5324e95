import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Attention, InvalidArgumentError, Linear, Module, getConstructorArgs, module, naiveAttentionProcessor,
  type AttentionProcessor,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { denseKernel, expectClose, expectExact, expectForwardsLeakNothing, linearWeightShape, rand, randomizeParameters, values } from './helpers.js';

/** Per-head attention with explicit slices, an independent route to the same math. */
function referenceAttention(attn: Attention, x: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [B, N, D] = x.shape as [number, number, number];
    const proj = (l: Linear) => {
      let y = tf.matMul(tf.reshape(x, [B * N, D]), denseKernel(l));
      if (l.bias) y = tf.add(y, l.bias.read());
      return tf.reshape(y, [B, N, -1]);
    };
    const q = proj(attn.to_q), k = proj(attn.to_k), v = proj(attn.to_v);
    const heads: tf.Tensor[] = [];
    for (let h = 0; h < attn.heads; h++) {
      const part = (t: tf.Tensor) => tf.slice(t, [0, 0, h * attn.dimHead], [B, N, attn.dimHead]);
      let scores = tf.div(tf.matMul(part(q), part(k), false, true), Math.sqrt(attn.dimHead));
      if (mask) scores = tf.add(scores, mask.rank === 4 ? tf.squeeze(tf.slice(mask, [0, h, 0, 0], [-1, 1, -1, -1]), [1]) : mask);
      const e = tf.exp(tf.sub(scores, tf.max(scores, -1, true)));
      heads.push(tf.matMul(tf.div(e, tf.sum(e, -1, true)), part(v)));
    }
    const merged = tf.reshape(tf.concat(heads, 2), [B * N, attn.innerDim]);
    return tf.reshape(tf.add(tf.matMul(merged, denseKernel(attn.to_out.at(0) as Linear)), (attn.to_out.at(0) as Linear).bias!.read()), [B, N, D]);
  });
}

@module()
class Block extends Module {
  readonly attn = new Attention(8, { heads: 2, dimHead: 4 });
  forward(x: tf.Tensor) { return this.attn.forward(x); }
}

describe.each(BACKENDS)('Attention on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it('uses diffusers parameter names in declaration order', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    expect(attn.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['to_q.weight', [8, 8]], ['to_k.weight', [8, 8]], ['to_v.weight', [8, 8]],
      ['to_out.0.weight', [8, 8]], ['to_out.0.bias', [8]],
    ]);
    const withBias = new Attention(6, { heads: 3, dimHead: 2, bias: true, outBias: false });
    expect(withBias.namedParameters().map(([n]) => n)).toEqual([
      'to_q.weight', 'to_q.bias', 'to_k.weight', 'to_k.bias', 'to_v.weight', 'to_v.bias', 'to_out.0.weight',
    ]);
    // The processor is not a child and not a field that discovery or config sees.
    expect(attn.namedChildren().map(([n]) => n)).toEqual(['to_q', 'to_k', 'to_v', 'to_out']);
    expect(Object.keys(attn)).not.toContain('processor');
    expect(attn.processor).toBe(naiveAttentionProcessor);
    attn.dispose();
    withBias.dispose();
  });

  it('defaults to 8 heads of 64 and a 1/√dimHead scale', () => {
    const attn = new Attention(16);
    expect([attn.heads, attn.dimHead, attn.innerDim, attn.scale]).toEqual([8, 64, 512, 1 / 8]);
    expect(attn.to_q.weight.shape).toEqual(linearWeightShape(16, 512));
    expect(attn.to_q.bias).toBeUndefined();
    attn.dispose();
  });

  it('matches per-head softmax(q·kᵀ/√d)·v computed independently', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4, bias: true });
    const x = rand([2, 5, 8], 31);
    const y = attn.forward(x);
    expect(y.shape).toEqual([2, 5, 8]);
    const expected = referenceAttention(attn, x);
    expectClose(y, expected, { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([x, y, expected]);
    attn.dispose();
  });

  it.each([
    ['[N, N]', [4, 4]],
    ['[B, 1, 1, N] (padding mask)', [2, 1, 1, 4]],
    ['[B, heads, N, N]', [2, 3, 4, 4]],
  ])('applies an additive attention mask of shape %s', (_n, shape) => {
    const attn = new Attention(6, { heads: 3, dimHead: 2 });
    const x = rand([2, 4, 6], 5);
    // A mask that really changes the result: large negatives in a random pattern, never a whole row.
    const mask = tf.tidy(() => tf.mul(tf.cast(tf.greater(rand(shape, 77), 0.3), 'float32'), -1e4));
    const masked = attn.forward(x, { attentionMask: mask });
    const unmasked = attn.forward(x);
    const full = tf.tidy(() => tf.add(mask, tf.zeros([2, 3, 4, 4])));
    const expected = referenceAttention(attn, x, full);
    expectClose(masked, expected, { rtol: 1e-5, atol: 1e-6 });
    expect(tf.max(tf.abs(tf.sub(masked, unmasked))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, mask, masked, unmasked, full, expected]);
    attn.dispose();
  });

  it('the default processor handles keys longer than queries (joint attention) and a per-sample mask, per head', () => {
    // On wasm the processor runs one 2-D product per head; on cpu the batched form. Both must equal the
    // definition, written here with explicit loops in float64. Tolerance: float32 rounding of 4-term dot
    // products and a 6-term softmax.
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    const q = rand([2, 3, 8], 41), k = rand([2, 6, 8], 42), v = rand([2, 6, 8], 43);
    const mask = tf.tidy(() => tf.mul(tf.cast(tf.greater(rand([2, 1, 1, 6], 44), 0.5), 'float32'), -1e4));
    // A processor runs inside its Attention's forward scope; called directly, it gets its own tf.tidy.
    const y = tf.tidy(() => naiveAttentionProcessor(attn, q, k, v, { attentionMask: mask }));
    const [qs, ks, vs, ms] = [q, k, v, mask].map(values) as [number[], number[], number[], number[]];
    const data: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let h = 0; h < 2; h++) {
          const s = Array.from({ length: 6 }, (_, j) => {
            let dot = 0;
            for (let c = 0; c < 4; c++) dot += qs[(b * 3 + i) * 8 + h * 4 + c]! * ks[(b * 6 + j) * 8 + h * 4 + c]!;
            return dot / 2 + ms[b * 6 + j]!;
          });
          const top = Math.max(...s);
          const e = s.map((x) => Math.exp(x - top));
          const z = e.reduce((a, x) => a + x, 0);
          for (let c = 0; c < 4; c++) data.push(e.reduce((a, p, j) => a + (p / z) * vs[(b * 6 + j) * 8 + h * 4 + c]!, 0));
        }
    expectClose(y, { data, shape: [2, 3, 8] }, { rtol: 1e-5, atol: 1e-6 });
    expectForwardsLeakNothing(() => tf.tidy(() => naiveAttentionProcessor(attn, q, k, v, { attentionMask: mask })));
    tf.dispose([q, k, v, mask, y]);
    attn.dispose();
  });

  it('swaps the processor: forward calls it with q, k, v and applies to_out to its result', () => {
    const attn = new Attention(4, { heads: 2, dimHead: 3 });
    const seen: number[][] = [];
    const valueOnly: AttentionProcessor = (a, q, k, v) => {
      expect(a).toBe(attn);
      seen.push(q.shape, k.shape, v.shape);
      return v;
    };
    attn.setProcessor(valueOnly);
    expect(attn.processor).toBe(valueOnly);
    const x = rand([1, 5, 4], 2);
    const y = attn.forward(x);
    expect(seen).toEqual([[1, 5, 6], [1, 5, 6], [1, 5, 6]]);
    const expected = attn.to_out.at(0).forward(attn.to_v.forward(x));
    expectExact(y, expected);
    attn.setProcessor(naiveAttentionProcessor);
    tf.dispose([x, y, expected]);
    attn.dispose();
  });

  it('leaks no tensors across forwards, with and without a mask', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    randomizeParameters(attn);
    const x = rand([2, 3, 8]);
    const mask = tf.zeros([3, 3]);
    expectForwardsLeakNothing(() => attn.forward(x));
    expectForwardsLeakNothing(() => attn.forward(x, { attentionMask: mask }));
    tf.dispose([x, mask]);
    attn.dispose();
  });

  it('rejects wrong inputs, masks and processor results with clear errors', () => {
    const block = new Block();
    block.namedModules();
    const x2d = tf.zeros([5, 8]);
    expect(() => block.forward(x2d)).toThrowError(InvalidArgumentError);
    expect(() => block.forward(x2d)).toThrowError(/Module "attn" \(Attention\) expects its input to have shape \[batch, N, 8\], got \[5, 8\]/);
    const x = rand([2, 3, 8]);
    const badMask = tf.zeros([2, 3]);
    expect(() => block.attn.forward(x, { attentionMask: badMask })).toThrowError(
      /attentionMask passed to module "attn" \(Attention\) must be a float32 tensor broadcastable to \[2, 2, 3, 3\].*got float32 \[2, 3\]/,
    );
    block.attn.setProcessor((_a, q) => tf.reshape(q, [-1]));
    expect(() => block.forward(x)).toThrowError(/processor of module "attn" \(Attention\) returned \[48\]; it must return a tensor in q's layout \[2, 3, 8\]/);
    expect(() => block.attn.setProcessor('sliced' as unknown as AttentionProcessor)).toThrowError(InvalidArgumentError);
    tf.dispose([x2d, x, badMask]);
    block.dispose();
  });
});

describe('Attention constructor', () => {
  it('rejects bad sizes and processors', () => {
    expect(() => new Attention(0)).toThrowError(/Attention: `queryDim` must be a positive integer, got 0/);
    expect(() => new Attention(8, { heads: 0 })).toThrowError(/`heads` must be a positive integer/);
    expect(() => new Attention(8, { processor: 3 as unknown as AttentionProcessor })).toThrowError(/`processor` must be a function/);
  });

  it('records its constructor arguments for configs', () => {
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    expect(getConstructorArgs(attn)).toEqual([8, { heads: 2, dimHead: 4 }]);
    attn.dispose();
  });
});
