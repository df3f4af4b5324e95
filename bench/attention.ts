/**
 * The `attention` benchmark (BENCHMARKS.md): 'naive' vs 'sliced' vs 'chunked' attention processors, peak
 * device bytes and time per forward of one Attention layer, at N = 1k, 4k and 16k tokens.
 *
 * Targets: 'chunked' ≤ 1.3× 'naive' time wherever naive fits; 'chunked' peak ≤ 10% of naive's at N = 4096.
 * Naive is skipped, and says why, where its N × N matrices cannot fit under the device budget (on wasm the
 * default budget keeps below the 4 GiB heap cap, whose overflow corrupts memory instead of failing).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Attention, memory, setAttentionProcessor } from '../src/index.js';
import { DEFAULT_BLOCK_SIZE, DEFAULT_SLICE_SIZE } from '../src/strategies/attention/processors.js';
import { formatBytes } from '../src/base/format.js';
import {
  countOf,
  interleave,
  maxAbsDiff,
  median,
  pairedRatio,
  target,
  type BenchContext,
  type Benchmark,
  type SectionResult,
  type Target,
} from './framework.js';

const HEADS = 4;
const DIM_HEAD = 16;
const DIM = HEADS * DIM_HEAD;
const PROCESSORS = ['naive', 'sliced', 'chunked'] as const;
type Name = (typeof PROCESSORS)[number];

/**
 * Bytes naive needs beyond its inputs. On wasm it runs one head at a time (scores and their softmax,
 * [N, N] float32 each, alive together); elsewhere all heads at once (scores, their sum with a mask or the
 * scaled copy, softmax: three [1, heads, N, N]). A quarter more for the smaller temporaries.
 */
function naiveNeeds(n: number): number {
  const matrices = tf.getBackend() === 'wasm' ? 2 : 3 * HEADS;
  return 1.25 * matrices * n * n * 4;
}

/** The room left under the device budget (wasm's default when none is set; 4 GiB elsewhere as a sanity cap). */
function room(): number {
  return (memory.deviceBudget ?? 4 * 2 ** 30) - memory.stats().deviceBytes;
}

function forward(attn: Attention, x: tf.Tensor): void {
  const out = attn.forward(x);
  out.dataSync();
  out.dispose();
}

async function section(ctx: BenchContext, n: number): Promise<SectionResult> {
  const attn = new Attention(DIM, { heads: HEADS, dimHead: DIM_HEAD });
  const x = tf.randomNormal([1, n, DIM], 0, 1, 'float32', 7);
  const naiveFits = naiveNeeds(n) <= room();
  const names = PROCESSORS.filter((p) => p !== 'naive' || naiveFits);
  const use = (p: Name): (() => void) => {
    const handle = setAttentionProcessor(attn, p);
    return () => handle.remove();
  };
  // Peak and output of each processor, measured alone (untimed).
  const peaks: Partial<Record<Name, number>> = {};
  const outputs: Partial<Record<Name, tf.Tensor>> = {};
  for (const p of names) {
    const undo = use(p);
    const base = memory.stats().deviceBytes;
    const { result, peakDeviceBytes } = memory.track(() => attn.forward(x));
    peaks[p] = peakDeviceBytes - base;
    outputs[p] = result;
    undo();
  }
  // Heavy sizes get fewer rounds (a 16k forward takes seconds); never fewer than 5.
  const rounds = ctx.smoke ? ctx.runs : n >= 16384 ? Math.min(ctx.runs, 5) : n >= 4096 ? Math.min(ctx.runs, 7) : Math.min(ctx.runs, 11);
  const before = tf.memory().numTensors;
  const samples = interleave(
    names.map((p) => {
      let undo: (() => void) | undefined;
      return {
        name: p,
        before: () => {
          undo?.();
          undo = use(p);
        },
        sample: (iterations: number) => {
          for (let i = 0; i < iterations; i++) forward(attn, x);
          undo?.();
          undo = undefined;
        },
      };
    }),
    // At 16k the untimed peak pass above already ran each processor once: no further warm-up round.
    { rounds, iterations: 1, warmupRounds: n >= 16384 ? 0 : 1 },
  );
  const leakedTensors = tf.memory().numTensors - before;
  const reference: Name = naiveFits ? 'naive' : 'sliced';
  const ref = outputs[reference]!;
  const scale = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]!);
  let worst = 0;
  for (const p of names) worst = Math.max(worst, maxAbsDiff(outputs[p]!, ref));
  const metrics: Record<string, number> = {};
  const rows = names.map((p) => {
    const ms = median(samples[p]!) / 1e6;
    metrics[`ms_${p}`] = ms;
    metrics[`peakBytes_${p}`] = peaks[p]!;
    const timeRatio = naiveFits ? pairedRatio(samples[p]!, samples.naive!) : NaN;
    const peakRatio = naiveFits ? peaks[p]! / peaks.naive! : NaN;
    if (naiveFits) {
      metrics[`timeRatio_${p}`] = timeRatio;
      metrics[`peakRatio_${p}`] = peakRatio;
    }
    return [p, ms, naiveFits ? timeRatio : '—', formatBytes(peaks[p]!), naiveFits ? peakRatio : '—'];
  });
  if (!naiveFits) rows.unshift(['naive', 'skipped', '—', `needs ≥ ${formatBytes(naiveNeeds(n))}`, '—']);
  const targets: Target[] = [];
  if (naiveFits) targets.push(target(`'chunked' time / 'naive' at N = ${n}`, metrics.timeRatio_chunked!, 1.3, '×'));
  if (naiveFits && n === 4096) targets.push(target(`'chunked' peak / 'naive' at N = ${n}`, metrics.peakRatio_chunked!, 0.1, '×'));
  tf.dispose(Object.values(outputs));
  x.dispose();
  attn.dispose();
  return {
    id: `n${n}`,
    title: `N = ${n.toLocaleString('en-US')} tokens`,
    description:
      `One Attention layer (dim ${DIM}, ${HEADS} heads × ${DIM_HEAD}), batch 1, forward including the projections; ` +
      `'sliced' with ${DEFAULT_SLICE_SIZE} query rows per slice, 'chunked' with ${DEFAULT_BLOCK_SIZE} key rows per block. ` +
      `Peak = device bytes above the start during one forward (memory.track). ${countOf(rounds, 'interleaved round')}` +
      (n >= 16384 ? ' (the untimed peak pass is the warm-up).' : '.') +
      (naiveFits ? '' : ` 'naive' is skipped: its N × N matrices need ${formatBytes(naiveNeeds(n))}, more than the device budget leaves (${formatBytes(room())}).`),
    table: { columns: ['processor', 'ms per forward', 'time / naive', 'peak', 'peak / naive'], rows },
    samples,
    metrics,
    targets,
    check: { maxAbsDiff: worst, tolerance: 1e-5 * scale, against: `'${reference}' (1e-5 of its max|output| ${scale.toPrecision(3)})`, leakedTensors },
  };
}

export const attentionBenchmark: Benchmark = {
  name: 'attention',
  description: "naive vs sliced vs chunked attention: peak bytes and time at N = 1k, 4k, 16k tokens",
  async run(ctx) {
    const sizes = ctx.smoke ? [256] : [1024, 4096, 16384];
    const sections: SectionResult[] = [];
    for (const n of sizes) {
      ctx.log(`attention: N = ${n}`);
      sections.push(await section(ctx, n));
    }
    return { name: 'attention', title: 'Attention processors: memory and time', sections };
  },
};
