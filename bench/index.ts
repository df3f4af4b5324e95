/**
 * The benchmark suite (BENCHMARKS.md "The suite"). Add a benchmark by writing bench/<name>.ts that exports
 * a `Benchmark` and listing it here; the CLI (`memhooks bench`) picks it up, with its description in --help.
 * A benchmark whose module imports an optional peer at its top is listed with lazyBenchmark instead, so
 * that the suite, and with it the CLI, loads without that peer.
 */
import { lazyBenchmark, type Benchmark } from './framework.js';
import { hooksBenchmark } from './hooks.js';
import { strategiesBenchmark } from './strategies.js';
import { beyondTheCapBenchmark } from './beyondTheCap.js';
import { castingBenchmark } from './casting.js';
import { prefetchBenchmark } from './prefetch.js';
import { diskBenchmark } from './disk.js';
import { attentionBenchmark } from './attention.js';
import { tilingBenchmark } from './tiling.js';
import { graphBenchmark } from './graph.js';
import { plannerBenchmark } from './planner.js';

/** browserStrategies.ts drives Debian's chromium through playwright and Vite (dev tools): loaded only when it runs. */
const browserBenchmark: Benchmark = {
  name: 'browser',
  description: 'the strategies table on webgl in headless Chromium (Debian chromium, SwiftShader): peak and held GPU bytes, time, output diff',
  prepare: async () => (await import('./browserStrategies.js')).browserBenchmark.prepare?.(),
  run: async (ctx) => (await import('./browserStrategies.js')).browserBenchmark.run(ctx),
};

/** browserDisk.ts drives Debian's chromium through playwright and Vite (dev tools): loaded only when it runs. */
const browserDiskBenchmark: Benchmark = {
  name: 'browser-disk',
  description: 'a model bigger than the tab: the zoo xl pipeline generated into OPFS and group-offloaded in a Worker of headless Chromium on webgl (JS heap, GPU bytes, time)',
  prepare: async () => (await import('./browserDisk.js')).browserDiskBenchmark.prepare?.(),
  run: async (ctx) => (await import('./browserDisk.js')).browserDiskBenchmark.run(ctx),
};

/** layers.ts imports @tensorflow/tfjs-layers (it times tfjs-layers' own layers): loaded only when it runs. */
const layersBenchmark = lazyBenchmark({
  name: 'layers',
  description: 'each built-in layer against the fastest equivalent tfjs computation (target ≤ 1.05×), and the Linear re-upload break-even',
  peer: '@tensorflow/tfjs-layers',
  load: async () => (await import('./layers.js')).layersBenchmark,
});

export const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  // First: the main job (`memhooks bench` runs the suite in this order).
  [strategiesBenchmark.name]: strategiesBenchmark,
  [beyondTheCapBenchmark.name]: beyondTheCapBenchmark,
  [hooksBenchmark.name]: hooksBenchmark,
  [layersBenchmark.name]: layersBenchmark,
  [castingBenchmark.name]: castingBenchmark,
  [prefetchBenchmark.name]: prefetchBenchmark,
  [diskBenchmark.name]: diskBenchmark,
  [attentionBenchmark.name]: attentionBenchmark,
  [tilingBenchmark.name]: tilingBenchmark,
  [graphBenchmark.name]: graphBenchmark,
  [plannerBenchmark.name]: plannerBenchmark,
  [browserBenchmark.name]: browserBenchmark,
  [browserDiskBenchmark.name]: browserDiskBenchmark,
};

export const BENCHMARK_NAMES: readonly string[] = Object.keys(BENCHMARKS);

/** What `memhooks bench` runs without names: the main job. `memhooks bench all` runs the suite. */
export const DEMO_BENCHMARKS: readonly string[] = [strategiesBenchmark.name];

export * from './framework.js';
