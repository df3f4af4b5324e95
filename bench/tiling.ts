/**
 * The `tiling` benchmark (BENCHMARKS.md): the real 2× ESRGAN upscaler (a wrapped tfjs LayersModel, run
 * through predict) on growing images, untiled vs tiled vs tiled + batch-sliced: peak device bytes, time,
 * and how far the tiled output is from the untiled one (max and mean abs difference, seam ratio).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import {
  applyBatchSlicing,
  applyTiling,
  measureSeams,
  memory,
  unwrapLayersModel,
  wrapLayersModel,
  type StrategyHandle,
  type TilingOptions,
  type WrappedModel,
} from '../src/index.js';
import { formatBytes } from '../src/base/format.js';
import { loadPretrained } from '../src/zoo.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { countOf, interleave, maxAbsDiff, median, pairedRatio, type BenchContext, type Benchmark, type SectionResult } from './framework.js';

const BATCH = 2;
const VARIANTS = ['untiled', 'tiled', 'tiled + sliced'] as const;
type Variant = (typeof VARIANTS)[number];

/** A smooth photo-like test image in 0–255 (waves and a little fixed noise). */
function photo(batch: number, size: number): tf.Tensor4D {
  const data = new Float32Array(batch * size * size * 3);
  let seed = 99;
  let i = 0;
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let k = 0; k < 3; k++) {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          const v = 0.5 + 0.25 * Math.sin(0.11 * y + 0.7 * k + b) + 0.2 * Math.cos(0.07 * x - 0.4 * k) + (seed / 2147483648 - 0.5) * 0.05;
          data[i++] = 255 * v;
        }
  return tf.tensor4d(data, [batch, size, size, 3]);
}

function apply(root: WrappedModel, v: Variant, tiling: TilingOptions): StrategyHandle[] {
  if (v === 'untiled') return [];
  const handles = [applyTiling(root, tiling)];
  if (v === 'tiled + sliced') handles.push(applyBatchSlicing(root, { sliceSize: 1 }));
  return handles;
}

function meanAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]! - y[i]!);
  return s / x.length;
}

async function section(ctx: BenchContext, size: number, tiling: TilingOptions): Promise<SectionResult> {
  const model = await loadPretrained('upscaler-esrgan-2x');
  const root = wrapLayersModel(model);
  const x = photo(BATCH, size);
  const run = (): tf.Tensor => model.predict(x) as tf.Tensor;
  const peaks: Partial<Record<Variant, number>> = {};
  const outs: Partial<Record<Variant, tf.Tensor>> = {};
  for (const v of VARIANTS) {
    const handles = apply(root, v, tiling);
    const base = memory.stats().deviceBytes;
    const { result, peakDeviceBytes } = memory.track(run);
    peaks[v] = peakDeviceBytes - base;
    outs[v] = result;
    handles.reverse().forEach((h) => h.remove());
  }
  const rounds = ctx.smoke ? ctx.runs : Math.min(ctx.runs, size >= 128 ? 5 : 9);
  const before = tf.memory().numTensors;
  let active: StrategyHandle[] = [];
  const samples = interleave(
    VARIANTS.map((v) => ({
      name: v,
      before: () => {
        active.reverse().forEach((h) => h.remove());
        active = apply(root, v, tiling);
      },
      sample: (iterations: number) => {
        for (let i = 0; i < iterations; i++) run().dispose();
      },
    })),
    { rounds, iterations: 1 },
  );
  active.reverse().forEach((h) => h.remove());
  const leakedTensors = tf.memory().numTensors - before;
  const ref = outs.untiled!;
  const metrics: Record<string, number> = {};
  const baseSeams = measureSeams(ref, size, size, tiling).ratio;
  const rows = VARIANTS.map((v) => {
    const ms = median(samples[v]!) / 1e6;
    const seams = measureSeams(outs[v]!, size, size, tiling).ratio;
    const diff = maxAbsDiff(outs[v]!, ref);
    metrics[`ms_${v}`] = ms;
    metrics[`peakBytes_${v}`] = peaks[v]!;
    metrics[`timeRatio_${v}`] = pairedRatio(samples[v]!, samples.untiled!);
    metrics[`maxAbsDiff_${v}`] = diff;
    metrics[`seamRatio_${v}`] = seams;
    // An image of one tile has no tile borders: no seam ratio.
    return [v, ms, metrics[`timeRatio_${v}`]!, formatBytes(peaks[v]!), peaks[v]! / peaks.untiled!, diff, meanAbsDiff(outs[v]!, ref), size <= tiling.tileSize ? '—' : seams];
  });
  const worst = Math.max(metrics['maxAbsDiff_tiled']!, metrics['maxAbsDiff_tiled + sliced']!);
  tf.dispose([x, ...Object.values(outs)]);
  unwrapLayersModel(model);
  model.dispose();
  return {
    id: `s${size}`,
    title: `${BATCH} × ${size}×${size} → ${2 * size}×${2 * size}`,
    description:
      `The ESRGAN 2× upscaler (wrapped, through predict) on a batch of ${BATCH} smooth test photos (0–255). Tiled: tileSize ` +
      `${tiling.tileSize}, tileOverlap ${tiling.tileOverlap}, outputScale 2; sliced: one image at a time. Peak = device bytes ` +
      `above the start during one predict (memory.track). Seam ratio = mean |Δ| of adjacent pixels across tile borders / ` +
      `elsewhere; the untiled row gives the image's own ratio at the same places${size <= tiling.tileSize ? ' (none here: the image is one tile, so it runs untiled)' : ` (${baseSeams.toFixed(3)})`}. ${countOf(rounds, 'interleaved round')}.`,
    table: {
      columns: ['variant', 'ms per predict', 'time / untiled', 'peak', 'peak / untiled', 'max abs diff', 'mean abs diff', 'seam ratio'],
      rows,
    },
    samples,
    metrics,
    targets: [],
    // Tiling is lossy where the upscaler's receptive field crosses a cut edge (docs/activations.md); a few
    // grey levels at worst, mean well below one. 32 of 255 flags a broken blend, not that.
    check: { maxAbsDiff: worst, tolerance: 32, against: 'the untiled predict (0–255 scale)', leakedTensors },
  };
}

/** CRC-32 (PNG's chunk checksum). */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A minimal RGB PNG (8 bits per channel, no filter): enough for one figure, no dependency. */
function png(width: number, height: number, rgb: Uint8Array): Buffer {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array())]);
}

/**
 * bench/results/tiling-seams.png: one 64×64 photo upscaled untiled, with butted tiles (no overlap), with
 * blended tiles, and |blended − untiled| × 8, side by side (first image of the batch). Returns the seam ratios.
 */
async function seamFigure(path: string): Promise<Record<string, number>> {
  const size = 64;
  const model = await loadPretrained('upscaler-esrgan-2x');
  const root = wrapLayersModel(model);
  const x = photo(1, size);
  const butted: TilingOptions = { tileSize: 32, tileOverlap: 0, outputScale: 2 };
  const blended: TilingOptions = { tileSize: 32, tileOverlap: 0.25, outputScale: 2 };
  const untiled = model.predict(x) as tf.Tensor;
  const runTiled = (o: TilingOptions): tf.Tensor => {
    const h = applyTiling(root, o);
    try {
      return model.predict(x) as tf.Tensor;
    } finally {
      h.remove();
    }
  };
  const a = runTiled(butted);
  const b = runTiled(blended);
  const diff = tf.tidy(() => tf.mul(tf.abs(tf.sub(b, untiled)), 8));
  const panels = [untiled, a, b, diff].map((t) => t.dataSync());
  const w = 2 * size;
  const gap = 4;
  const width = 4 * w + 3 * gap;
  const rgb = new Uint8Array(width * w * 3).fill(255);
  panels.forEach((p, i) => {
    for (let y = 0; y < w; y++)
      for (let xx = 0; xx < w; xx++)
        for (let k = 0; k < 3; k++) rgb[(y * width + i * (w + gap) + xx) * 3 + k] = Math.max(0, Math.min(255, Math.round(p[(y * w + xx) * 3 + k]!)));
  });
  await writeFileAtomic(path, png(width, w, rgb));
  const ratios = {
    untiled: measureSeams(untiled, size, size, blended).ratio,
    butted: measureSeams(a, size, size, butted).ratio,
    untiledAtButtedBorders: measureSeams(untiled, size, size, butted).ratio,
    blended: measureSeams(b, size, size, blended).ratio,
  };
  tf.dispose([x, untiled, a, b, diff]);
  unwrapLayersModel(model);
  model.dispose();
  return ratios;
}

export const tilingBenchmark: Benchmark = {
  name: 'tiling',
  description: 'the real ESRGAN upscaler: peak bytes and time vs image size, untiled vs tiled vs tiled + sliced',
  async run(ctx) {
    const sizes = ctx.smoke ? [24] : [32, 64, 128];
    const tiling: TilingOptions = { tileSize: ctx.smoke ? 16 : 32, tileOverlap: 0.25, outputScale: 2 };
    const sections: SectionResult[] = [];
    for (const size of sizes) {
      ctx.log(`tiling: ${size}×${size}`);
      sections.push(await section(ctx, size, tiling));
    }
    if (!ctx.smoke && existsSync('bench/results')) {
      const ratios = await seamFigure('bench/results/tiling-seams.png');
      ctx.log(`tiling: wrote bench/results/tiling-seams.png; seam ratios ${JSON.stringify(ratios)}`);
      const first = sections[0]!;
      first.metrics = { ...first.metrics, ...Object.fromEntries(Object.entries(ratios).map(([k, v]) => [`figureSeamRatio_${k}`, v])) };
      first.description +=
        ` Figure [tiling-seams.png](tiling-seams.png) (one 64×64 photo, tiles of 32): untiled | butted tiles (overlap 0) | blended (0.25) | ` +
        `8 × |blended − untiled|. Seam ratios there: butted ${ratios.butted.toFixed(3)} (untiled at the same borders ` +
        `${ratios.untiledAtButtedBorders.toFixed(3)}), blended ${ratios.blended.toFixed(3)} (untiled ${ratios.untiled.toFixed(3)}).`;
    }
    return { name: 'tiling', title: 'Tiling and slicing on a real upscaler: memory and time', sections };
  },
};
