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
import { DiffusionPipeline, type DiffusionSizeName } from '../src/zoo.js';
import { memory } from '../src/index.js';
import { CASTING_VARIANTS, OFFLOADING_VARIANTS, type StrategyVariant } from './strategyVariants.js';
import { measureVariants, type Measured } from './measureVariants.js';
import { countOf, median, type BenchContext, type Benchmark, type SectionResult, type Target } from './framework.js';
import { measureUploadCost } from './uploadCost.js';
import { scatterSvg, type ChartPoint } from './chart.js';
import { UPSCALER_VARIANTS, upscalerSection } from './upscalerSection.js';
import { aloneNote, deviceBaseline } from './peaks.js';

// The variants live in strategyVariants.ts, which imports nothing of Node's: the browser benchmark's page runs them too.
export { OFFLOADING_VARIANTS, CASTING_VARIANTS, type StrategyVariant } from './strategyVariants.js';

export type { Measured } from './measureVariants.js';

export interface StrategiesOptions {
  size: DiffusionSizeName;
  steps: number;
  rounds: number;
}

/** The variants measured on `p`, in a scratch folder that is removed afterwards (the disk variants write there). */
function measure(
  variants: readonly StrategyVariant[],
  p: DiffusionPipeline,
  o: StrategiesOptions,
  ctx: BenchContext,
  step: () => void,
  leftover: number,
  hostLeftover: number,
): Map<string, Measured> {
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-bench-strategies-'));
  try {
    return measureVariants(variants, p, { steps: o.steps, rounds: o.rounds, leftover, hostLeftover, scratch, step, log: (l) => ctx.log(l) });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const MB = 1e6;
/** fp8 e4m3 keeps 3 mantissa bits (relative error up to 1/16 per weight); through the pipeline that stays well below this. */
export const CASTING_TOLERANCE = 0.5;

export function section(
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
