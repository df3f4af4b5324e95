/**
 * The benchmark suite (BENCHMARKS.md "The suite"). Add a benchmark by writing bench/<name>.ts that exports
 * a `Benchmark` and listing it here; the CLI (`memhooks bench`) picks it up, with its description in --help.
 */
import type { Benchmark } from './framework.js';
import { hooksBenchmark } from './hooks.js';
import { strategiesBenchmark } from './strategies.js';
import { beyondTheCapBenchmark } from './beyondTheCap.js';
import { layersBenchmark } from './layers.js';
import { castingBenchmark } from './casting.js';
import { prefetchBenchmark } from './prefetch.js';
import { diskBenchmark } from './disk.js';
import { attentionBenchmark } from './attention.js';
import { tilingBenchmark } from './tiling.js';

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
};

export const BENCHMARK_NAMES: readonly string[] = Object.keys(BENCHMARKS);

/** What `memhooks bench` runs without names: the main job. `memhooks bench all` runs the suite. */
export const DEMO_BENCHMARKS: readonly string[] = [strategiesBenchmark.name];

export * from './framework.js';
