/**
 * The `layers` benchmark (issue #17): every built-in layer against the fastest equivalent tfjs computation
 * on the current backend, at a small and a large batch, plus the re-upload break-even of Linear's two
 * weight layouts (what leaf-level offloading pays on every forward).
 *
 * "Fastest equivalent" is measured, not assumed: each layer has several candidate formulations with the
 * same weights (the tfjs-layers layer where one exists, the plain ops, the alternative layouts), all timed
 * side by side, call by call, in alternating rounds; the ratio is ours / the fastest candidate, round by round. A
 * candidate whose output disagrees with the layer's beyond the tolerance is shown, but never counted as
 * the fastest (a fast wrong answer is no reference).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tl from '@tensorflow/tfjs-layers';
import {
  Attention,
  Conv2d,
  ConvTranspose2d,
  Embedding,
  FeedForward,
  GroupNorm,
  LayerNorm,
  Linear,
  RMSNorm,
  type Module,
} from '../src/index.js';
import {
  maxAbsDiff,
  median,
  pairedRatio,
  target,
  type BenchContext,
  type Benchmark,
  type SectionResult,
} from './framework.js';

/**
 * |ours − reference| allowed, relative to the output's largest magnitude: float32 rounding of sums taken in
 * another order (a few hundred terms at most here, so well under 1e-5 in practice).
 */
const TOLERANCE = 1e-4;

/** Max abs difference scaled by max(1, max |reference|), so the tolerance reads the same for every layer. */
function relDiff(ours: tf.Tensor, ref: tf.Tensor): number {
  const scale = Math.max(1, tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]!));
  return maxAbsDiff(ours, ref) / scale;
}
/** The target: each layer within 1.05× of the fastest equivalent. */
const TARGET_RATIO = 1.05;

type Fn = () => tf.Tensor;

interface Built {
  ours: Fn;
  /** Candidate equivalents by name; each runs inside its own tf.tidy when timed. */
  refs: Record<string, Fn>;
  dispose(): void;
}

interface Case {
  batch: 'small' | 'large';
  /** Input shape as shown in the table. */
  input: string;
  build(): Built;
}

interface LayerBench {
  id: string;
  layer: string;
  cases: Case[];
}

const rand = (shape: number[], seed: number): tf.Tensor => tf.randomUniform(shape, -1, 1, 'float32', seed);

/**
 * Fresh random values for a norm's parameters (so that ones/zeros cannot hide a wrong formula). Layers
 * with a random init keep it: its ±1/√fanIn scale keeps outputs of size ~1, where the tolerance means something.
 */
function randomize(m: Module, seed = 10): void {
  m.namedParameters().forEach(([, p], i) => {
    const v = rand(p.shape as number[], seed + i);
    p.assign(v);
    v.dispose();
  });
}

/**
 * A Linear's weight in both layouts, kept for the candidates: [in, out] (Dense's kernel) and [out, in]
 * (PyTorch's, for transposeB), whichever of the two the layer itself keeps on this backend.
 */
function kernels(l: Linear): { io: tf.Tensor; oi: tf.Tensor } {
  const w = l.weight.read();
  const other = tf.keep(tf.transpose(w));
  return l.layout === 'in_out' ? { io: w, oi: other } : { io: other, oi: w };
}

/** Frees what kernels() made (the transposed copy; the layer's own weight is the layer's). */
function disposeKernels(l: Linear, k: { io: tf.Tensor; oi: tf.Tensor }): void {
  (l.layout === 'in_out' ? k.oi : k.io).dispose();
}

/** x·W + b from one layout: Dense's fused kernel on [in, out], or transposeB then the bias on [out, in]. */
function project(k: { io: tf.Tensor; oi: tf.Tensor }, b: tf.Tensor | undefined, x: tf.Tensor, layout: 'io' | 'oi'): tf.Tensor {
  if (layout === 'io') return tf.fused.matMul({ a: x as tf.Tensor2D, b: k.io as tf.Tensor2D, bias: b });
  const y = tf.matMul(x, k.oi, false, true);
  return b === undefined ? y : tf.add(y, b);
}

/** Builds (and so creates the weights of) a tfjs-layers layer on `x`, then gives it our weights. */
function tfLayer(layer: tl.layers.Layer, x: tf.Tensor, weights: tf.Tensor[]): Fn {
  tf.dispose(layer.apply(x) as tf.Tensor);
  layer.setWeights(weights);
  return () => layer.apply(x) as tf.Tensor;
}

function linearBench(smoke: boolean): LayerBench {
  const [i, o] = smoke ? [16, 32] : [256, 1024];
  const mk = (rows: number, batch: Case['batch']): Case => ({
    batch,
    input: `[${rows}, ${i}]`,
    build() {
      const m = new Linear(i, o);
      const x = rand([rows, i], 1);
      const k = kernels(m);
      const b = m.bias!.read();
      return {
        ours: () => m.forward(x),
        refs: {
          'tfjs-layers Dense': tfLayer(tl.layers.dense({ units: o }), x, [k.io, b]),
          'fused.matMul [in, out] + bias': () => tf.fused.matMul({ a: x, b: k.io, bias: b }),
          'matMul + add': () => tf.add(tf.matMul(x, k.io), b),
          'matMul [out, in] transposeB + add': () => tf.add(tf.matMul(x, k.oi, false, true), b),
        },
        dispose: () => (disposeKernels(m, k), m.dispose(), x.dispose()),
      };
    },
  });
  return { id: 'linear', layer: `Linear(${i}, ${o})`, cases: [mk(smoke ? 2 : 8, 'small'), mk(smoke ? 4 : 512, 'large')] };
}

function conv2dBench(smoke: boolean): LayerBench {
  const c = smoke ? 4 : 64;
  const mk = (hw: number, batch: Case['batch']): Case => ({
    batch,
    input: `[1, ${hw}, ${hw}, ${c}]`,
    build() {
      const m = new Conv2d(c, c, 3, { padding: 1 });
      const x = rand([1, hw, hw, c], 2) as tf.Tensor4D;
      const w = m.weight.read() as tf.Tensor4D;
      const b = m.bias!.read();
      return {
        ours: () => m.forward(x),
        refs: {
          'tfjs-layers Conv2D same': tfLayer(tl.layers.conv2d({ filters: c, kernelSize: 3, padding: 'same' }), x, [w, b]),
          'fused.conv2d + bias': () => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b }),
          'conv2d + add': () => tf.add(tf.conv2d(x, w, 1, 'same'), b),
        },
        dispose: () => (m.dispose(), x.dispose()),
      };
    },
  });
  return { id: 'conv2d', layer: `Conv2d(${c}, ${c}, 3, { padding: 1 })`, cases: [mk(smoke ? 4 : 16, 'small'), mk(smoke ? 8 : 64, 'large')] };
}

function convTranspose2dBench(smoke: boolean): LayerBench {
  const [ci, co] = smoke ? [4, 2] : [64, 32];
  const mk = (hw: number, batch: Case['batch']): Case => ({
    batch,
    input: `[1, ${hw}, ${hw}, ${ci}]`,
    build() {
      // k 4, stride 2, padding 1 doubles the size; Keras' 'same' crops the same rows, so the outputs agree.
      const m = new ConvTranspose2d(ci, co, 4, { stride: 2, padding: 1 });
      const x = rand([1, hw, hw, ci], 3) as tf.Tensor4D;
      const w = m.weight.read() as tf.Tensor4D;
      const b = m.bias!.read();
      const out: [number, number, number, number] = [1, 2 * hw, 2 * hw, co];
      const full: [number, number, number, number] = [1, 2 * hw + 2, 2 * hw + 2, co];
      return {
        ours: () => m.forward(x),
        refs: {
          'tfjs-layers Conv2DTranspose same': tfLayer(
            tl.layers.conv2dTranspose({ filters: co, kernelSize: 4, strides: 2, padding: 'same' }),
            x,
            [w, b],
          ),
          'conv2dTranspose pad 1 + add': () => tf.add(tf.conv2dTranspose(x, w, out, 2, 1), b),
          'conv2dTranspose valid, slice + add': () =>
            tf.add(tf.slice(tf.conv2dTranspose(x, w, full, 2, 'valid'), [0, 1, 1, 0], out), b),
        },
        dispose: () => (m.dispose(), x.dispose()),
      };
    },
  });
  return {
    id: 'conv-transpose2d',
    layer: `ConvTranspose2d(${ci}, ${co}, 4, { stride: 2, padding: 1 })`,
    cases: [mk(smoke ? 2 : 8, 'small'), mk(smoke ? 4 : 32, 'large')],
  };
}

function groupNormBench(smoke: boolean): LayerBench {
  const [g, c] = smoke ? [2, 8] : [32, 128];
  const mk = (n: number, hw: number, batch: Case['batch']): Case => ({
    batch,
    input: `[${n}, ${hw}, ${hw}, ${c}]`,
    build() {
      const m = new GroupNorm(g, c);
      randomize(m);
      const x = rand([n, hw, hw, c], 4);
      const w = m.weight!.read();
      const b = m.bias!.read();
      const grouped = (): { xg: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } => {
        const xg = tf.reshape(x, [n, hw * hw, g, c / g]);
        return { xg, ...tf.moments(xg, [1, 3], true) };
      };
      return {
        ours: () => m.forward(x),
        refs: {
          'ops: (x − μ)·rsqrt(σ² + ε)·w + b': () => {
            const { xg, mean, variance } = grouped();
            const y = tf.reshape(tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, 1e-5))), x.shape);
            return tf.add(tf.mul(y, w), b);
          },
          'ops: x·a + (b − μ·a), a = w·rsqrt(σ² + ε)': () => {
            const { xg, mean, variance } = grouped();
            const a = tf.mul(tf.rsqrt(tf.add(variance, 1e-5)), tf.reshape(w, [1, 1, g, c / g]));
            const shift = tf.sub(tf.reshape(b, [1, 1, g, c / g]), tf.mul(mean, a));
            return tf.reshape(tf.add(tf.mul(xg, a), shift), x.shape);
          },
        },
        dispose: () => (m.dispose(), x.dispose()),
      };
    },
  });
  return { id: 'group-norm', layer: `GroupNorm(${g}, ${c})`, cases: [mk(1, smoke ? 2 : 16, 'small'), mk(smoke ? 2 : 2, smoke ? 4 : 64, 'large')] };
}

function rowNormCases(smoke: boolean, build: (x: tf.Tensor, d: number) => Built): Case[] {
  const d = smoke ? 8 : 768;
  const mk = (b: number, n: number, batch: Case['batch']): Case => ({
    batch,
    input: `[${b}, ${n}, ${d}]`,
    build: () => build(rand([b, n, d], 5), d),
  });
  return [mk(1, smoke ? 2 : 77, 'small'), mk(smoke ? 2 : 4, smoke ? 4 : 256, 'large')];
}

function layerNormBench(smoke: boolean): LayerBench {
  return {
    id: 'layer-norm',
    layer: `LayerNorm(${smoke ? 8 : 768})`,
    cases: rowNormCases(smoke, (x, d) => {
      const m = new LayerNorm(d);
      randomize(m);
      const w = m.weight!.read();
      const b = m.bias!.read();
      return {
        ours: () => m.forward(x),
        refs: {
          'tfjs-layers LayerNormalization': tfLayer(tl.layers.layerNormalization({ axis: -1, epsilon: 1e-5 }), x, [w, b]),
          'ops: (x − μ)·rsqrt(σ² + ε)·w + b': () => {
            const { mean, variance } = tf.moments(x, -1, true);
            return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
          },
        },
        dispose: () => (m.dispose(), x.dispose()),
      };
    }),
  };
}

function rmsNormBench(smoke: boolean): LayerBench {
  return {
    id: 'rms-norm',
    layer: `RMSNorm(${smoke ? 8 : 768})`,
    cases: rowNormCases(smoke, (x, d) => {
      const m = new RMSNorm(d);
      randomize(m);
      const w = m.weight!.read();
      return {
        ours: () => m.forward(x),
        refs: {
          'ops: x·rsqrt(mean(x²) + ε)·w': () => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), w),
          'ops: x·(rsqrt(mean(x²) + ε)·w)': () => tf.mul(x, tf.mul(tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6)), w)),
        },
        dispose: () => (m.dispose(), x.dispose()),
      };
    }),
  };
}

function embeddingBench(smoke: boolean): LayerBench {
  const [n, d] = smoke ? [50, 8] : [49408, 768];
  const mk = (b: number, len: number, batch: Case['batch']): Case => ({
    batch,
    input: `ids [${b}, ${len}]`,
    build() {
      const m = new Embedding(n, d);
      const ids = tf.randomUniformInt([b, len], 0, n, { seed: 6 } as never) as tf.Tensor;
      const w = m.weight.read();
      return {
        ours: () => m.forward(ids),
        refs: {
          'tfjs-layers Embedding': tfLayer(tl.layers.embedding({ inputDim: n, outputDim: d }), ids, [w]),
          gather: () => tf.gather(w, ids),
        },
        dispose: () => (m.dispose(), ids.dispose()),
      };
    },
  });
  return { id: 'embedding', layer: `Embedding(${n}, ${d})`, cases: [mk(1, smoke ? 4 : 16, 'small'), mk(smoke ? 2 : 8, smoke ? 4 : 77, 'large')] };
}

/** Self-attention written out with plain ops on the module's own weights, its projections in either layout. */
function attentionRef(m: Attention, x: tf.Tensor, perHead: boolean, layout: 'io' | 'oi', ks: Map<Linear, { io: tf.Tensor; oi: tf.Tensor }>): Fn {
  const [B, N, D] = x.shape as [number, number, number];
  const H = m.heads;
  const dh = m.dimHead;
  const proj = (l: Linear, t: tf.Tensor): tf.Tensor => project(ks.get(l)!, l.bias?.read(), t, layout);
  const out = m.to_out.at(0) as Linear;
  return () => {
    const x2 = tf.reshape(x, [B * N, D]);
    const heads = (t: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(t, [B, N, H, dh]), [0, 2, 1, 3]);
    const q = heads(proj(m.to_q, x2));
    const k = heads(proj(m.to_k, x2));
    const v = heads(proj(m.to_v, x2));
    let o: tf.Tensor;
    if (!perHead) {
      o = tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), m.scale)), v);
    } else {
      // 2-D products with un-transposed right operands (wasm's XNNPACK path), q scaled before the product.
      const qs = tf.unstack(tf.reshape(tf.mul(q, m.scale), [B * H, N, dh]));
      const ks = tf.unstack(tf.transpose(tf.reshape(k, [B * H, N, dh]), [0, 2, 1]));
      const vs = tf.unstack(tf.reshape(v, [B * H, N, dh]));
      o = tf.reshape(tf.stack(qs.map((qh, i) => tf.matMul(tf.softmax(tf.matMul(qh, ks[i]!)), vs[i]!))), [B, H, N, dh]);
    }
    const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B * N, H * dh]);
    return tf.reshape(proj(out, merged), [B, N, D]);
  };
}

function attentionBench(smoke: boolean): LayerBench {
  const [dim, heads, dimHead] = smoke ? [8, 2, 4] : [320, 5, 64];
  const mk = (b: number, n: number, batch: Case['batch']): Case => ({
    batch,
    input: `[${b}, ${n}, ${dim}]`,
    build() {
      const m = new Attention(dim, { heads, dimHead });
      const x = rand([b, n, dim], 7);
      const linears = [m.to_q, m.to_k, m.to_v, m.to_out.at(0) as Linear];
      const ks = new Map(linears.map((l) => [l, kernels(l)]));
      return {
        ours: () => m.forward(x),
        refs: {
          'ops, batched heads, [in, out] projections': attentionRef(m, x, false, 'io', ks),
          'ops, batched heads, [out, in] projections': attentionRef(m, x, false, 'oi', ks),
          'ops, one 2-D product per head, [in, out] projections': attentionRef(m, x, true, 'io', ks),
          'ops, one 2-D product per head, [out, in] projections': attentionRef(m, x, true, 'oi', ks),
        },
        dispose: () => (ks.forEach((k, l) => disposeKernels(l, k)), m.dispose(), x.dispose()),
      };
    },
  });
  return {
    id: 'attention',
    layer: `Attention(${dim}, { heads: ${heads}, dimHead: ${dimHead} })`,
    cases: [mk(1, smoke ? 4 : 64, 'small'), mk(smoke ? 2 : 2, smoke ? 8 : 256, 'large')],
  };
}

function feedForwardBench(smoke: boolean): LayerBench {
  const dim = smoke ? 8 : 320;
  const mk = (b: number, n: number, batch: Case['batch']): Case => ({
    batch,
    input: `[${b}, ${n}, ${dim}]`,
    build() {
      const m = new FeedForward(dim);
      const x = rand([b, n, dim], 8);
      const p0 = m.getSubmodule('net.0.proj') as Linear;
      const p2 = m.getSubmodule('net.2') as Linear;
      const geglu = (h: tf.Tensor): tf.Tensor => {
        const [hidden, gate] = tf.split(h, 2, -1);
        return tf.mul(hidden!, tf.mul(tf.mul(0.5, gate!), tf.add(1, tf.erf(tf.mul(gate!, Math.SQRT1_2)))));
      };
      const k0 = kernels(p0);
      const k2 = kernels(p2);
      const d0 = tl.layers.dense({ units: p0.outFeatures });
      const d2 = tl.layers.dense({ units: dim });
      tf.tidy(() => {
        tfLayer(d0, tf.zeros([1, dim]), [k0.io, p0.bias!.read()]);
        tfLayer(d2, tf.zeros([1, m.innerDim]), [k2.io, p2.bias!.read()]);
      });
      const viaOps = (layout: 'io' | 'oi') => (): tf.Tensor => {
        const h = project(k0, p0.bias!.read(), tf.reshape(x, [b * n, dim]), layout);
        return tf.reshape(project(k2, p2.bias!.read(), geglu(h), layout), [b, n, dim]);
      };
      return {
        ours: () => m.forward(x),
        refs: {
          'tfjs-layers Dense, GEGLU ops, Dense': () =>
            tf.reshape(d2.apply(geglu(d0.apply(tf.reshape(x, [b * n, dim])) as tf.Tensor)) as tf.Tensor, [b, n, dim]),
          'fused.matMul [in, out], GEGLU ops, fused.matMul': viaOps('io'),
          'matMul [out, in] transposeB + add, GEGLU ops, same': viaOps('oi'),
        },
        dispose: () => (disposeKernels(p0, k0), disposeKernels(p2, k2), m.dispose(), x.dispose(), d0.dispose(), d2.dispose()),
      };
    },
  });
  return { id: 'feed-forward', layer: `FeedForward(${dim}) (GEGLU, mult 4)`, cases: [mk(1, smoke ? 2 : 16, 'small'), mk(smoke ? 2 : 1, smoke ? 4 : 256, 'large')] };
}

/**
 * Seconds one case may take: cheap cases get up to 3× the requested rounds, slow ones (the cpu backend's
 * large matmuls) fewer, never below MIN_ROUNDS: a cpu call of 1–2 s varies by ±30% (garbage collection of
 * the backend's fresh arrays), and a median over 5 rounds still moved by 10% between runs.
 */
const CASE_BUDGET_S = 30;
const MIN_ROUNDS = 12;

/** Target length of one round (every timed variant called `calls` times, call by call). */
const ROUND_MS = 60;

/**
 * Variants timed call by call, alternating (ABCABC…, the start rotating every round), each call on its own
 * clock; a round's value for a variant is the median of its calls in that round, in ns. On a machine shared
 * with other work, a descheduling pause hits one call of one variant, which the median drops, and slow drift
 * hits every variant alike. Returns per variant the per-round values.
 */
function timeCallByCall(runs: Array<() => void>, rounds: number, calls: number): number[][] {
  const out = runs.map(() => [] as number[]);
  const times = runs.map(() => new Array<number>(calls));
  for (let round = -1; round < rounds; round++) {
    for (let c = 0; c < calls; c++) {
      for (let j = 0; j < runs.length; j++) {
        const k = (Math.max(round, 0) + j) % runs.length;
        const t0 = process.hrtime.bigint();
        runs[k]!();
        times[k]![c] = Number(process.hrtime.bigint() - t0);
      }
    }
    if (round >= 0) runs.forEach((_, k) => out[k]!.push(median(times[k]!)));
  }
  return out;
}

function timeOnce(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

interface CaseResult {
  row: Array<string | number>;
  ratio: number;
  diff: number;
  samples: Record<string, number[]>;
  leaked: number;
  wrong: string[];
}

function runCase(ctx: BenchContext, lb: LayerBench, c: Case): CaseResult {
  const built = c.build();
  const before = tf.memory().numTensors;
  const fns: Array<[string, Fn]> = [['ours', built.ours], ...Object.entries(built.refs)];
  // Output check first: which candidates compute the same thing as the layer.
  const ours = built.ours();
  const diffs = new Map<string, number>();
  for (const [name, fn] of fns.slice(1)) {
    const y = tf.tidy(fn);
    diffs.set(name, relDiff(ours, y));
    y.dispose();
  }
  ours.dispose();
  const valid = [...diffs].filter(([, d]) => d <= TOLERANCE).map(([n]) => n);
  const wrong = [...diffs].filter(([, d]) => !(d <= TOLERANCE)).map(([n, d]) => `${n} (max abs diff ${d.toExponential(2)})`);
  const screen = fns.map(([, fn]) => timeOnce(() => tf.tidy(fn).dispose()));
  // A candidate 3× slower than the fastest in one call cannot be the fastest: it is reported with that one
  // call's time and left out of the rounds, which it would otherwise make few and long.
  const fastestOnce = Math.min(...screen);
  const slow = new Set(fns.filter(([name], k) => name !== 'ours' && !ctx.smoke && screen[k]! > 3 * fastestOnce).map(([n]) => n));
  const timed = fns.filter(([name]) => !slow.has(name));
  const runs = timed.map(([name, fn]) => (name === 'ours' ? () => fn().dispose() : () => tf.tidy(fn).dispose()));
  const oneRound = timed.reduce((a, [name]) => a + screen[fns.findIndex(([n]) => n === name)]!, 0);
  const calls = ctx.smoke ? 1 : Math.max(3, Math.round(ROUND_MS / Math.max(oneRound, 1e-3)));
  const rounds = ctx.smoke ? Math.max(2, ctx.runs) : Math.max(MIN_ROUNDS, Math.min(3 * ctx.runs, Math.floor((CASE_BUDGET_S * 1e3) / (oneRound * calls))));
  const perRound = timeCallByCall(runs, rounds, calls);
  const samples: Record<string, number[]> = Object.fromEntries(timed.map(([name], k) => [name, perRound[k]!]));
  const leaked = tf.memory().numTensors - before;
  built.dispose();
  // The fastest valid candidate is picked by its median over the even rounds, and ours / it is taken round by
  // round over the odd ones. Picking the lowest of several noisy medians and then comparing with those very
  // samples biases the reference low (the winner's curse): identical computations would read 5–10% slower
  // on cpu, where one call varies by ±30%. (A per-round minimum over the candidates would be biased too.)
  const contenders = valid.filter((n) => !slow.has(n));
  const pick = (a: readonly number[]): number => median(a.filter((_, r) => r % 2 === 0));
  const judged = (a: readonly number[]): number[] => a.filter((_, r) => r % 2 === 1);
  const fastest = contenders.reduce((a, n) => (pick(samples[n]!) < pick(samples[a]!) ? n : a), contenders[0] ?? '');
  const ratio = fastest === '' ? Infinity : pairedRatio(judged(samples.ours!), judged(samples[fastest]!));
  const diff = valid.length === 0 ? Infinity : Math.max(...valid.map((n) => diffs.get(n)!));
  ctx.log(`${lb.id} ${c.batch}: ratio ${ratio.toFixed(3)} vs ${fastest} (${rounds} rounds)`);
  const ms = (name: string): number => (samples[name] === undefined ? NaN : median(samples[name]!) / 1e6);
  const others = Object.keys(built.refs)
    .map((n) => {
      const t = slow.has(n) ? `${(screen[fns.findIndex(([k]) => k === n)]! ).toPrecision(3)} ms (one call; over 3× the fastest, not timed further)` : `${ms(n).toPrecision(3)} ms`;
      return `${n}: ${t}${valid.includes(n) ? '' : ' (wrong output, not counted)'}`;
    })
    .join('; ');
  return {
    row: [c.batch, c.input, ms('ours'), fastest === '' ? 'none agrees' : fastest, ms(fastest), ratio, diff, others],
    ratio,
    diff,
    samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [`${c.batch}: ${k}`, v])),
    leaked,
    wrong,
  };
}

function layerSection(ctx: BenchContext, lb: LayerBench): SectionResult {
  const results = lb.cases.map((c) => runCase(ctx, lb, c));
  const wrong = results.flatMap((r) => r.wrong);
  return {
    id: lb.id,
    title: lb.layer,
    description:
      "The layer's forward against each equivalent tfjs computation with the same weights, timed call by call, alternating; " +
      "a round's time is a variant's median call in that round; the fastest candidate is the one with the lowest median " +
      'over the even rounds, and ratio = median over the odd rounds of ours / it in the same round (picking and judging on ' +
      'separate rounds, so that the noise that makes a candidate look fastest does not also make ours look slow). Output check: max abs diff / max(1, max |output|) against every candidate that agrees.' +
      (wrong.length > 0 ? ` Candidates that disagree with the layer (excluded): ${wrong.join('; ')}.` : ''),
    table: {
      columns: ['batch', 'input', 'ours (ms)', 'fastest equivalent', 'its time (ms)', 'ratio', 'max rel. diff', 'all candidates'],
      rows: results.map((r) => r.row),
    },
    samples: Object.assign({}, ...results.map((r) => r.samples)),
    metrics: Object.fromEntries(results.map((r, i) => [`ratio_${lb.cases[i]!.batch}`, r.ratio])),
    targets: results.map((r, i) => target(`${lb.layer}, ${lb.cases[i]!.batch} batch: ours / fastest`, r.ratio, TARGET_RATIO, '×')),
    check: {
      maxAbsDiff: Math.max(...results.map((r) => r.diff)),
      tolerance: TOLERANCE,
      against: 'every agreeing equivalent, as max abs diff / max(1, max |output|) (float32 rounding of reordered sums)',
      leakedTensors: results.reduce((a, r) => a + r.leaked, 0),
    },
  };
}

const REUPLOAD_BATCHES = [1, 4, 16, 64, 256] as const;

/** wasm's heap size, the truth about device bytes there (XNNPACK's packed copies are invisible to tfjs). */
function wasmHeapBytes(): number | undefined {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length;
}

/**
 * A Linear weight uploaded from host memory before every forward and disposed after it, as leaf-level
 * offloading does, in the two layouts: [in, out] (plain matMul; on wasm XNNPACK packs the fresh weight at
 * its first use) and PyTorch's [out, in] (transposeB; no packing, slower product). The break-even is the
 * smallest batch from which [in, out] is faster.
 */
async function reuploadSection(ctx: BenchContext): Promise<SectionResult> {
  const [i, o] = ctx.smoke ? [32, 32] : [1024, 1024];
  const mib = (i * o * 4) / 2 ** 20;
  const wIO = rand([i, o], 11);
  const hostIO = wIO.dataSync() as Float32Array;
  const wOI = tf.transpose(wIO);
  const hostOI = wOI.dataSync() as Float32Array;
  const heap0 = wasmHeapBytes();
  const before = tf.memory().numTensors;
  const rows: Array<Array<string | number>> = [];
  const samples: Record<string, number[]> = {};
  const metrics: Record<string, number> = {};
  let breakEven: number | undefined;
  let diff = 0;
  const batches = ctx.smoke ? [1, 4] : REUPLOAD_BATCHES;
  for (const batch of batches) {
    const x = rand([batch, i], 12);
    const viaIO = (): tf.Tensor => tf.tidy(() => tf.matMul(x, tf.tensor2d(hostIO, [i, o])));
    const viaOI = (): tf.Tensor => tf.tidy(() => tf.matMul(x, tf.tensor2d(hostOI, [o, i]), false, true));
    const resident = (): tf.Tensor => tf.matMul(x, wIO);
    const a = viaIO();
    const b = viaOI();
    diff = Math.max(diff, maxAbsDiff(a, b));
    tf.dispose([a, b]);
    const names = ['re-uploaded [in, out]', 're-uploaded [out, in] transposeB', 'resident [in, out]'] as const;
    const runs = [viaIO, viaOI, resident].map((f) => () => f().dispose());
    const oneRound = runs.reduce((a, f) => a + timeOnce(f), 0);
    const calls = ctx.smoke ? 1 : Math.max(3, Math.round(ROUND_MS / Math.max(oneRound, 1e-3)));
    const perRound = timeCallByCall(runs, ctx.runs, calls);
    const s: Record<string, number[]> = Object.fromEntries(names.map((n, k) => [n, perRound[k]!]));
    x.dispose();
    const io = s['re-uploaded [in, out]']!;
    const oi = s['re-uploaded [out, in] transposeB']!;
    const ratio = median(io.map((t, r) => t / oi[r]!));
    const overheadPerMiB = median(io.map((t, r) => (t - s['resident [in, out]']![r]!) / 1e6 / mib));
    if (breakEven === undefined && ratio < 1) breakEven = batch;
    metrics[`ratio_${batch}`] = ratio;
    for (const [k, v] of Object.entries(s)) samples[`batch ${batch}: ${k}`] = v;
    rows.push([batch, median(io) / 1e6, median(oi) / 1e6, ratio, median(s['resident [in, out]']!) / 1e6, overheadPerMiB]);
  }
  const leakedTensors = tf.memory().numTensors - before;
  const heap1 = wasmHeapBytes();
  tf.dispose([wIO, wOI]);
  metrics.breakEvenBatch = breakEven ?? Infinity;
  ctx.log(`reupload: break-even batch ${breakEven ?? 'none'}`);
  const heapNote = heap0 === undefined ? '' : ` The wasm heap grew by ${((heap1! - heap0) / 2 ** 20).toFixed(1)} MiB over the section.`;
  return {
    id: 'reupload',
    title: `Linear(${i}, ${o}) with its weight re-uploaded on every forward (${mib} MiB)`,
    description:
      'Upload the weight from a host Float32Array, one matMul, dispose both, per call (leaf-level offloading); timed call by ' +
      'call, alternating, as the layer sections. ' +
      "[in, out] is the layout Linear keeps on wasm and GPU backends; [out, in] with transposeB is PyTorch's, which Linear keeps on cpu. ratio = [in, out] / [out, in] per round; " +
      `"re-upload overhead" = ([in, out] re-uploaded − resident) per MiB of weight: upload plus, on wasm, XNNPACK's packing. ` +
      `Break-even batch (first measured batch where [in, out] is faster): ${breakEven ?? 'none in the measured range'}.` +
      heapNote,
    table: {
      columns: ['batch', 're-uploaded [in, out] (ms)', 're-uploaded [out, in] transposeB (ms)', 'ratio', 'resident [in, out] (ms)', 're-upload overhead (ms/MiB)'],
      rows,
    },
    samples,
    metrics,
    targets: [],
    check: { maxAbsDiff: diff, tolerance: TOLERANCE, against: 'the same product in the other layout', leakedTensors },
  };
}

export const LAYER_BENCHES = [
  linearBench,
  conv2dBench,
  convTranspose2dBench,
  groupNormBench,
  layerNormBench,
  rmsNormBench,
  embeddingBench,
  attentionBench,
  feedForwardBench,
];


export const layersBenchmark: Benchmark = {
  name: 'layers',
  description: 'each built-in layer against the fastest equivalent tfjs computation (target ≤ 1.05×), and the Linear re-upload break-even',
  async run(ctx) {
    const sections: SectionResult[] = [];
    for (const make of LAYER_BENCHES) sections.push(layerSection(ctx, make(ctx.smoke)));
    sections.push(await reuploadSection(ctx));
    return { name: 'layers', title: 'layers: built-in layers against the fastest equivalent tfjs computation', sections };
  },
};
