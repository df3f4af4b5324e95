/**
 * The real-model part of the main job: the 2× ESRGAN upscaler from npm (a tfjs LayersModel no one here
 * wrote) on one image, resident, group-offloaded, tiled, and both: the README's quick start, measured.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, applyTiling, wrapLayersModel, type StrategyHandle } from '../src/index.js';
import { loadPretrained } from '../src/zoo.js';
import type { Module } from '../src/models/Module.js';
import { countOf, median, skippedForMissingPeer, type BenchContext, type SectionResult } from './framework.js';
import { aloneNote, deviceBaseline, trackAbove } from './peaks.js';
import { keepOnHost, maxAbsDiffToHost } from './hostReference.js';

interface UpscalerVariant {
  name: string;
  apply(root: Module, tile: number): StrategyHandle[];
}

const VARIANTS: readonly UpscalerVariant[] = [
  { name: 'resident', apply: () => [] },
  { name: 'group leaf + stream', apply: (root) => [applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true })] },
  { name: 'tiling', apply: (root, tile) => [applyTiling(root, { tileSize: tile, outputScale: 2 })] },
  {
    name: 'group leaf + stream + tiling',
    apply: (root, tile) => [applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true }), applyTiling(root, { tileSize: tile, outputScale: 2 })],
  },
];

/** Variants measured per round (for progress). */
export const UPSCALER_VARIANTS = VARIANTS.length;

export interface UpscalerSectionOptions {
  /** Image side in pixels (default 256, 48 for a smoke run); tiles are half of it. */
  side?: number;
  /** Only these variants, by name (default: all; 'resident' is always measured, ratios need it). */
  variants?: readonly string[];
}

/**
 * Measures the upscaler as the README's quick start does in a fresh app: whatever the caller left on the
 * device (the strategies benchmark's zoo pipeline, say) is subtracted from every peak, and the reference
 * output waits on the host, so a peak counts the upscaler's weights, its input image and the activations.
 */
export async function upscalerSection(ctx: BenchContext, rounds: number, step: () => void = () => {}, options: UpscalerSectionOptions = {}): Promise<SectionResult> {
  const side = options.side ?? (ctx.smoke ? 48 : 256);
  const tile = side / 2;
  const variants = VARIANTS.filter((v) => v.name === 'resident' || options.variants === undefined || options.variants.includes(v.name));
  const leftover = deviceBaseline();
  // Without tfjs-layers (an optional peer) the zoo sections still run: this one is reported as skipped.
  let model: Awaited<ReturnType<typeof loadPretrained>>;
  try {
    model = await loadPretrained('upscaler-esrgan-2x');
  } catch (error) {
    const skipped = skippedForMissingPeer('upscaler', 'The real 2× ESRGAN upscaler (upscaler-esrgan-2x from npm)', error);
    if (skipped !== undefined) return skipped;
    throw error;
  }
  const root = wrapLayersModel(model);
  const image = tf.randomUniform([1, side, side, 3], 0, 255, 'float32', 1);
  const reference = keepOnHost(model.predict(image) as tf.Tensor);
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  const peaks: Record<string, number> = {};
  const diffs: Record<string, number> = {};
  const before = tf.memory().numTensors;
  let leaked = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const handles = v.apply(root, tile);
        try {
          tf.dispose(model.predict(image) as tf.Tensor); // untimed: streams record their order
          const t0 = performance.now();
          const { result, peakDeviceBytes } = trackAbove(leftover, () => model.predict(image) as tf.Tensor);
          result.dataSync();
          samples[v.name]!.push((performance.now() - t0) * 1e6);
          peaks[v.name] = Math.max(peaks[v.name] ?? 0, peakDeviceBytes);
          diffs[v.name] = Math.max(diffs[v.name] ?? 0, maxAbsDiffToHost(result, reference));
          result.dispose();
        } finally {
          for (const h of handles.reverse()) h.remove();
        }
        step();
      }
      ctx.log(`upscaler round ${r + 1}/${rounds}`);
    }
    leaked = tf.memory().numTensors - before;
  } finally {
    image.dispose();
    model.dispose();
  }
  const base = samples['resident']!;
  const rows = variants.map((v) => {
    const s = samples[v.name]!;
    return [v.name, median(s) / 1e6, median(s.map((t, i) => t / base[i]!)), peaks[v.name]! / 1e6, peaks[v.name]! / peaks['resident']!, diffs[v.name]!];
  });
  // Offloading alone is exact; tiling is within a few grey levels (of 255) near tile borders.
  const exact = diffs['group leaf + stream'] ?? 0;
  const tiled = Math.max(diffs['tiling'] ?? 0, diffs['group leaf + stream + tiling'] ?? 0);
  return {
    id: 'upscaler',
    title: `The real 2× ESRGAN upscaler (upscaler-esrgan-2x from npm), one ${side}² image`,
    description:
      `model.predict on a wrapped tfjs LayersModel, ${tile}-pixel tiles with 25 % overlap blended, ${countOf(rounds, 'round')} interleaved after an untimed predict. ` +
      `Group offloading alone is bitwise exact (max abs diff ${exact}); tiling differs from the untiled image near tile borders ` +
      `(the upscaler sees farther than the overlap): at most ${tiled.toPrecision(2)} grey levels of 255 here. ` +
      aloneNote(leftover),
    table: { columns: ['variant', 'ms per image', 'ratio to resident', 'peak device MB', 'peak / resident', 'max abs diff'], rows },
    samples,
    metrics: {
      ...Object.fromEntries(
        variants.flatMap((v) => {
          const key = v.name.replace(/[^a-z0-9]+/gi, '_');
          return [
            [`ratio_${key}`, median(samples[v.name]!.map((t, i) => t / base[i]!))],
            [`peakDeviceBytes_${key}`, peaks[v.name]!],
          ];
        }),
      ),
      leftoverDeviceBytes: leftover,
    },
    targets: [],
    // The exact part is checked exactly; the tiled part against the bound the tests state (16 grey levels).
    check: { maxAbsDiff: exact === 0 && tiled < 16 ? 0 : Math.max(exact, tiled), tolerance: 0, against: 'resident predict (offloading exact, tiling < 16/255)', leakedTensors: leaked },
  };
}
