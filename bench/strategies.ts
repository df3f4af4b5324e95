/**
 * The `strategies` benchmark: the Flux-style table of BENCHMARKS.md on the zoo diffusion pipeline. Every
 * strategy is applied to the same three components (text encoder, denoiser, VAE decoder), one image is
 * generated untimed (streams record their order, XNNPACK packs), one timed, and the strategy is removed
 * again; the variants take turns round by round, so that the machine's drift hits them all alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  DiffusionPipeline,
  type DiffusionComponents,
  type DiffusionSizeName,
  DIFFUSION_COMPONENT_NAMES,
} from '../src/zoo.js';
import {
  memory,
  type GroupOffloadingOptions,
} from '../src/index.js';
import { countOf, median, type BenchContext, type Benchmark, type SectionResult, type Target } from './framework.js';
import { measureUploadCost } from './uploadCost.js';
import { scatterSvg, type ChartPoint } from './chart.js';
import { UPSCALER_VARIANTS, upscalerSection } from './upscalerSection.js';
import { aloneNote, deviceBaseline, trackAbove } from './peaks.js';
import { keepOnHost, maxAbsDiffToHost } from './hostReference.js';
import { countOnloadedBytes } from './onloadCounter.js';

interface StrategyVariant {
  name: string;
  /** Whether the strategy moves weights onto the device during a run (then it has a transfer floor). */
  moves: boolean;
  /** Applies the strategy through the pipeline's switches, as a user would. */
  apply(p: DiffusionPipeline, scratch: string): void;
  /** Its removal leaves the decoded (rounded) weights: the exact ones are put back after it. */
  lossy?: boolean;
}


const BLOCK = { offloadType: 'block_level', numBlocksPerGroup: 1 } as const;
const LEAF = { offloadType: 'leaf_level' } as const;

/** Group offloading of every component (to disk: the pipeline gives each component a folder of its own). */
function group(p: DiffusionPipeline, options: GroupOffloadingOptions, scratch?: string): void {
  p.enableGroupOffload(scratch === undefined ? options : { ...options, offloadToDiskPath: scratch });
}

function cast(p: DiffusionPipeline, storageDtype: 'float8_e4m3fn' | 'bfloat16'): void {
  for (const name of DIFFUSION_COMPONENT_NAMES) p.enableLayerwiseCasting(name, { storageDtype });
}

export const OFFLOADING_VARIANTS: readonly StrategyVariant[] = [
  { name: 'resident', moves: false, apply: () => {} },
  { name: 'model offload', moves: true, apply: (p) => p.enableModelCpuOffload() },
  { name: 'sequential offload', moves: true, apply: (p) => p.enableSequentialCpuOffload() },
  { name: 'group block(1)', moves: true, apply: (p) => group(p, BLOCK) },
  { name: 'group block(1) + stream', moves: true, apply: (p) => group(p, { ...BLOCK, useStream: true }) },
  { name: 'group leaf', moves: true, apply: (p) => group(p, LEAF) },
  { name: 'group leaf + stream', moves: true, apply: (p) => group(p, { ...LEAF, useStream: true }) },
  { name: 'disk block(1)', moves: true, apply: (p, scratch) => group(p, BLOCK, scratch) },
  { name: 'disk block(1) + stream', moves: true, apply: (p, scratch) => group(p, { ...BLOCK, useStream: true }, scratch) },
];

export const CASTING_VARIANTS: readonly StrategyVariant[] = [
  { name: 'resident', moves: false, apply: () => {} },
  { name: 'casting fp8 (e4m3fn)', moves: false, lossy: true, apply: (p) => cast(p, 'float8_e4m3fn') },
  { name: 'casting bf16', moves: false, lossy: true, apply: (p) => cast(p, 'bfloat16') },
  {
    name: 'casting fp8 + group leaf + stream',
    moves: true,
    lossy: true,
    apply(p) {
      cast(p, 'float8_e4m3fn');
      group(p, { ...LEAF, useStream: true });
    },
  },
];

interface Measured {
  ms: number[];
  peakDeviceBytes: number;
  hostBytes: number;
  onloadBytes: number;
  maxAbsDiff: number;
}

export interface StrategiesOptions {
  size: DiffusionSizeName;
  steps: number;
  rounds: number;
}

/**
 * Generates one image per variant per round (after one untimed image each), interleaved round by round.
 * Peaks count from `leftover`, the device bytes held before the pipeline was made (host bytes from
 * `hostLeftover`); the reference image waits on the host, so that a peak is the pipeline's alone.
 */
function measure(
  variants: readonly StrategyVariant[],
  p: DiffusionPipeline,
  o: StrategiesOptions,
  ctx: BenchContext,
  step: () => void,
  leftover: number,
  hostLeftover: number,
): Map<string, Measured> {
  const c = p.components;
  // generate() ends with maybeFreeModelHooks, as a pipeline call does: model offload leaves the device empty.
  const gen = (): tf.Tensor => p.generate({ steps: o.steps, seed: 7 });
  const reference = keepOnHost(gen());
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-bench-strategies-'));
  const results = new Map<string, Measured>(variants.map((v) => [v.name, { ms: [], peakDeviceBytes: 0, hostBytes: 0, onloadBytes: 0, maxAbsDiff: 0 }]));
  const exact = variants.some((v) => v.lossy) ? snapshot(c) : undefined;
  // Bytes moved onto the device by one call (onloads and immediate prefetches).
  const onloaded = countOnloadedBytes();
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const v of variants) {
        const r = results.get(v.name)!;
        v.apply(p, scratch);
        try {
          tf.dispose(gen());
          onloaded.reset();
          const t0 = performance.now();
          const { result: image, peakDeviceBytes } = trackAbove(leftover, gen);
          image.dataSync();
          r.ms.push(performance.now() - t0);
          r.peakDeviceBytes = Math.max(r.peakDeviceBytes, peakDeviceBytes);
          r.hostBytes = Math.max(r.hostBytes, memory.stats().hostBytes - hostLeftover);
          r.onloadBytes = onloaded.bytes;
          r.maxAbsDiff = Math.max(r.maxAbsDiff, maxAbsDiffToHost(image, reference));
          image.dispose();
        } finally {
          p.removeAllHooks();
          if (v.lossy) exact!.restore();
        }
        step();
      }
      ctx.log(`round ${round + 1}/${o.rounds}`);
    }
  } finally {
    onloaded.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return results;
}

/**
 * Exact host copies of every weight, to undo the rounding that removing a casting strategy leaves (it is
 * lossy once). Kept on the host so that they do not count in any variant's device peak.
 */
function snapshot(c: DiffusionComponents): { restore(): void } {
  const saved = DIFFUSION_COMPONENT_NAMES.flatMap((name) => c[name].parameters().map((p) => [p, p.read().dataSync().slice()] as const));
  return {
    restore: () =>
      saved.forEach(([p, data]) => {
        const t = tf.tensor(data, p.shape as number[], p.dtype);
        p.assign(t);
        t.dispose();
      }),
  };
}

const MB = 1e6;
/** fp8 e4m3 keeps 3 mantissa bits (relative error up to 1/16 per weight); through the pipeline that stays well below this. */
const CASTING_TOLERANCE = 0.5;

function section(
  id: string,
  title: string,
  description: string,
  variants: readonly StrategyVariant[],
  results: Map<string, Measured>,
  msPerByte: number,
  steps: number,
  tolerance: number,
  targets: (m: Record<string, number>) => Target[],
): SectionResult {
  const resident = results.get('resident')!;
  const residentMs = median(resident.ms);
  const metrics: Record<string, number> = { residentMsPerImage: residentMs };
  let worst = 0;
  const rows = variants.map((v) => {
    const r = results.get(v.name)!;
    const ms = median(r.ms);
    // Per round ratios to the resident image of the same round, then their median: drift cancels.
    const ratio = median(r.ms.map((t, i) => t / resident.ms[i]!));
    // Floor on a single-threaded backend: compute plus the serial transfer of the bytes this strategy moved.
    const floor = residentMs + r.onloadBytes * msPerByte;
    const efficiency = v.moves ? floor / ms : NaN;
    const key = v.name.replace(/[^a-z0-9]+/gi, '_');
    metrics[`ratio_${key}`] = ratio;
    metrics[`peakDeviceMB_${key}`] = r.peakDeviceBytes / MB;
    if (v.moves) metrics[`efficiency_${key}`] = efficiency;
    worst = Math.max(worst, r.maxAbsDiff);
    return [
      v.name,
      ms / steps,
      ratio,
      v.moves ? efficiency : '—',
      r.peakDeviceBytes / MB,
      r.hostBytes / MB,
      r.onloadBytes / MB,
      r.maxAbsDiff,
    ];
  });
  return {
    id,
    title,
    description,
    table: {
      columns: ['strategy', 'ms per step', 'ratio to resident', 'efficiency', 'peak device MB', 'host MB', 'MB onloaded per image', 'max abs diff'],
      rows,
    },
    samples: Object.fromEntries([...results].map(([k, r]) => [k, r.ms.map((x) => x * 1e6)])),
    metrics,
    targets: targets(metrics),
    check: { maxAbsDiff: worst, tolerance, against: 'the resident pipeline', leakedTensors: 0 },
  };
}

/** Time ratio against peak device MB, one point per strategy (resident once). */
export function strategiesChart(sections: SectionResult[], size: string): string {
  const points: ChartPoint[] = [];
  sections.forEach((s, group) => {
    for (const row of s.table.rows) {
      if (group > 0 && row[0] === 'resident') continue;
      points.push({ label: String(row[0]), x: Number(row[4]), y: Number(row[2]), group });
    }
  });
  return scatterSvg(points, {
    title: `Zoo pipeline "${size}" on wasm: time vs device memory`,
    xLabel: 'peak device MB (the pipeline alone on the device)',
    yLabel: 'time per image / resident',
    legend: ['offloading (bitwise)', 'layerwise casting'],
  });
}

export const strategiesBenchmark: Benchmark = {
  name: 'strategies',
  description: 'The main job: every strategy on the zoo diffusion pipeline (time per step, ratio to resident, efficiency, peak device and host MB) and on the real ESRGAN upscaler',
  async run(ctx: BenchContext) {
    const size: DiffusionSizeName = ctx.smoke ? 'tiny' : (ctx.size ?? 'small');
    const o: StrategiesOptions = { size, steps: 2, rounds: ctx.smoke ? 1 : Math.min(ctx.runs, 5) };
    const msPerByte = measureUploadCost(ctx.smoke ? 1 : 8) / 2 ** 20;
    const upscalerRounds = ctx.smoke ? 1 : 3;
    const total = o.rounds * (OFFLOADING_VARIANTS.length + CASTING_VARIANTS.length) + upscalerRounds * UPSCALER_VARIANTS;
    let done = 0;
    const step = (): void => ctx.progress?.(++done, total);
    const leftover = deviceBaseline();
    const hostLeftover = memory.stats().hostBytes;
    const p = DiffusionPipeline.create(size, { seed: 0 });
    const before = tf.memory().numTensors;
    let sections: SectionResult[];
    try {
      ctx.log(`zoo pipeline "${size}": ${o.steps} steps per image, ${countOf(o.rounds, 'round')}`);
      const offloading = measure(OFFLOADING_VARIANTS, p, o, ctx, step, leftover, hostLeftover);
      const casting = measure(CASTING_VARIANTS, p, o, ctx, step, leftover, hostLeftover);
      const leaked = tf.memory().numTensors - before;
      const common =
        `Zoo pipeline "${size}" (${o.steps} Euler steps, then the VAE), one image per variant per round after an untimed one, ${countOf(o.rounds, 'round')} interleaved. ` +
        `Efficiency = floor / measured, floor = resident time + bytes onloaded × the upload cost measured in this run (${(msPerByte * 2 ** 20).toFixed(2)} ms per MiB: copy into the backend and, on wasm, XNNPACK's re-pack), the single-thread floor of BENCHMARKS.md. ` +
        `${aloneNote(leftover)} Host MB is what memhooks holds in host memory (above the ${hostLeftover} bytes it held before). The floor is an estimate from one large ` +
        'matrix\'s upload cost: an efficiency above 1 means the strategy beat it (small weights upload for less per MiB).';
      const castingDescription =
        `${common} Casting is lossy: images (values of order 1) differ from resident by the max abs diff shown; the check allows ${CASTING_TOLERANCE}.`;
      sections = [
        section('offloading', 'Offloading (bitwise)', common, OFFLOADING_VARIANTS, offloading, msPerByte, o.steps, 0, () => []),
        // The casting targets are the casting benchmark's (a compute-bound batch); this table only reports.
        section('casting', 'Layerwise casting (lossy)', castingDescription, CASTING_VARIANTS, casting, msPerByte, o.steps, CASTING_TOLERANCE, () => []),
      ];
      for (const s of sections) s.check.leakedTensors = leaked;
    } finally {
      p.dispose();
    }
    const svg = strategiesChart(sections, size);
    // After the pipeline is gone: the upscaler is measured as the quick start runs it, alone on the device.
    sections.push(await upscalerSection(ctx, upscalerRounds, step));
    return { name: 'strategies', title: 'strategies: every strategy on the zoo diffusion pipeline, and on a real upscaler', sections, svg };
  },
};
