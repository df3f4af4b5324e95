/**
 * The benchmark suite (BENCHMARKS.md "The suite"). Add a benchmark by writing bench/<name>.ts that exports
 * a `Benchmark` and listing it here; the CLI (`memhooks bench`) picks it up, with its description in --help.
 */
import type { Benchmark } from './framework.js';
import { hooksBenchmark } from './hooks.js';

export const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  [hooksBenchmark.name]: hooksBenchmark,
};

export const BENCHMARK_NAMES: readonly string[] = Object.keys(BENCHMARKS);

export * from './framework.js';
