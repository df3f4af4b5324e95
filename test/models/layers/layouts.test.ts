import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Attention,
  Conv2d,
  ConvTranspose2d,
  Embedding,
  GroupNorm,
  LayerNorm,
  Linear,
  MemhooksError,
  Module,
  Parameter,
  module,
  permutedLayout,
  registerTorchLayout,
  torchLayoutOf,
  type HostTensor,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { at } from './helpers.js';

/** 0, 1, 2, … so that every element is distinguishable after a permutation. */
function iota(shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => i), shape };
}

/** Reads element [i0, i1, …] of a host tensor. */
function get(t: HostTensor, ...idx: number[]): number {
  return t.data[at(t.shape, ...idx)]!;
}

@module()
class Dense extends Module {
  readonly kernel = new Parameter(tf.zeros([2, 3]));
  forward(x: tf.Tensor) { return tf.matMul(x, this.kernel.read()); }
}
@module()
class SubDense extends Dense {}

describe.each(BACKENDS)('torchLayoutOf on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });

  it('converts Linear.weight [in, out] ↔ PyTorch [out, in] by the definition W_torch[o][i] = W[i][o]', () => {
    const layer = new Linear(5, 3, { layout: 'in_out' });
    const layout = torchLayoutOf(layer, 'weight')!;
    expect(layout.describe).toMatch(/\[in, out\].*\[out, in\]/);
    const device = iota([5, 3]);
    const torch = layout.toTorch(device);
    expect(torch.shape).toEqual([3, 5]);
    for (let o = 0; o < 3; o++) for (let i = 0; i < 5; i++) expect(get(torch, o, i)).toBe(get(device, i, o));
    const back = layout.fromTorch(torch);
    expect(back.shape).toEqual([5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(device.data));
    expect(torchLayoutOf(layer, 'bias')).toBeUndefined();
    layer.dispose();
  });

  it("has no conversion for a Linear kept in PyTorch's [out, in] (the cpu backend's layout)", () => {
    const layer = new Linear(5, 3, { layout: 'out_in' });
    expect(layer.weight.shape).toEqual([3, 5]);
    expect(torchLayoutOf(layer, 'weight')).toBeUndefined();
    layer.dispose();
  });

  it('transposes a large Linear weight (tiled path) exactly', () => {
    const layer = new Linear(67, 45, { layout: 'in_out' });
    const layout = torchLayoutOf(layer, 'weight')!;
    const torch = iota([45, 67]);
    const device = layout.fromTorch(torch);
    for (let i = 0; i < 67; i++) for (let o = 0; o < 45; o++) expect(get(device, i, o)).toBe(get(torch, o, i));
    expect(Array.from(layout.toTorch(device).data)).toEqual(Array.from(torch.data));
    layer.dispose();
  });

  it.each([1, 2, 6])('converts grouped Conv2d.weight HWIO ↔ OIHW [out, in/groups, kh, kw] (groups %i)', (groups) => {
    const conv = new Conv2d(6, 12, [3, 2], { groups });
    const layout = torchLayoutOf(conv, 'weight')!;
    const torch = iota([12, 6 / groups, 3, 2]);
    const device = layout.fromTorch(torch);
    expect(device.shape).toEqual(conv.weight.shape);
    for (let o = 0; o < 12; o++)
      for (let c = 0; c < 6 / groups; c++)
        for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(get(device, i, j, c, o)).toBe(get(torch, o, c, i, j));
    expect(Array.from(layout.toTorch(device).data)).toEqual(Array.from(torch.data));
    conv.dispose();
  });

  it('a PyTorch-layout grouped conv weight loaded through the layout gives the naive grouped convolution', () => {
    // Checks the channel order of groups end to end: torch weight[o, c] meets input channel g·cin + c.
    const conv = new Conv2d(4, 4, 1, { groups: 2, bias: false });
    const torch = iota([4, 2, 1, 1]);
    const device = torchLayoutOf(conv, 'weight')!.fromTorch(torch);
    const w = tf.tensor(device.data, device.shape);
    conv.weight.assign(w);
    const x = tf.tensor4d([1, 10, 100, 1000], [1, 1, 1, 4]);
    const y = conv.forward(x);
    // o in group g = floor(o / 2) sees x[2g], x[2g + 1] with torch weights [2o, 2o + 1].
    const expected = [0, 1, 2, 3].map((o) => {
      const g = Math.floor(o / 2);
      return [1, 10, 100, 1000][2 * g]! * (2 * o) + [1, 10, 100, 1000][2 * g + 1]! * (2 * o + 1);
    });
    expect(Array.from(y.dataSync())).toEqual(expected);
    tf.dispose([w, x, y]);
    conv.dispose();
  });

  it('converts ConvTranspose2d.weight [kh, kw, out, in] ↔ PyTorch [in, out, kh, kw]', () => {
    const conv = new ConvTranspose2d(3, 5, [2, 4]);
    const layout = torchLayoutOf(conv, 'weight')!;
    const torch = iota([3, 5, 2, 4]);
    const device = layout.fromTorch(torch);
    expect(device.shape).toEqual(conv.weight.shape);
    for (let c = 0; c < 3; c++)
      for (let o = 0; o < 5; o++)
        for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) expect(get(device, i, j, o, c)).toBe(get(torch, c, o, i, j));
    expect(Array.from(layout.toTorch(device).data)).toEqual(Array.from(torch.data));
    conv.dispose();
  });

  it('is undefined for layers whose layout is PyTorch\'s, and resolves dotted paths through submodules', () => {
    const norm = new GroupNorm(2, 4);
    const ln = new LayerNorm(4);
    const emb = new Embedding(7, 3);
    for (const [m, k] of [[norm, 'weight'], [norm, 'bias'], [ln, 'weight'], [emb, 'weight']] as const) {
      expect(torchLayoutOf(m, k)).toBeUndefined();
    }
    const attn = new Attention(8, { heads: 2, dimHead: 4 });
    // Attention's Linears take the backend's layout: converted where it is [in, out], identical to PyTorch's on cpu.
    if (attn.to_q.layout === 'in_out') {
      expect(torchLayoutOf(attn, 'to_q.weight')?.describe).toMatch(/Linear/);
      expect(torchLayoutOf(attn, 'to_out.0.weight')?.toTorch(iota([8, 8])).shape).toEqual([8, 8]);
    } else {
      expect(torchLayoutOf(attn, 'to_q.weight')).toBeUndefined();
      expect(torchLayoutOf(attn, 'to_out.0.weight')).toBeUndefined();
    }
    for (const m of [norm, ln, emb, attn]) m.dispose();
  });

  it('refuses a missing parameter and a tensor of the wrong shape, naming both shapes', () => {
    const layer = new Linear(5, 3, { layout: 'in_out' });
    expect(() => torchLayoutOf(layer, 'gamma')).toThrowError(/has no parameter "gamma".*own parameters are: weight, bias/);
    const layout = torchLayoutOf(layer, 'weight')!;
    expect(() => layout.fromTorch(iota([5, 3]))).toThrowError(MemhooksError);
    expect(() => layout.fromTorch(iota([5, 3]))).toThrowError(/expected a Float32Array of PyTorch shape \[3, 5\], got \[5, 3\]/);
    expect(() => layout.toTorch({ data: new Float32Array(14), shape: [5, 3] })).toThrowError(/device shape \[5, 3\].*14 values/);
    expect(() => torchLayoutOf({} as Module, 'weight')).toThrowError(/must be a Module/);
    layer.dispose();
  });

  it('lets user modules register their own layouts, inherited by subclasses, removable by handle', () => {
    const d = new SubDense();
    expect(torchLayoutOf(d, 'kernel')).toBeUndefined();
    const handle = registerTorchLayout(Dense, 'kernel', () => permutedLayout([2, 3], [1, 0], 'Dense.kernel'));
    expect(torchLayoutOf(d, 'kernel')?.describe).toBe('Dense.kernel');
    expect(() => registerTorchLayout(Dense, 'kernel', () => undefined)).toThrowError(/already registered/);
    handle.remove();
    expect(torchLayoutOf(d, 'kernel')).toBeUndefined();
    expect(() => registerTorchLayout(Dense, 'a.b', () => undefined)).toThrowError(/no dots/);
    expect(() => registerTorchLayout(Object as never, 'k', () => undefined)).toThrowError(/Module subclass/);
    expect(() => permutedLayout([2, 3], [0, 0], 'x')).toThrowError(/not a permutation/);
    d.dispose();
  });
});
