/**
 * The benchmarks (bench/) are not part of the library: they compile on their own into dist/<format>/bench,
 * beside dist/<format>/src, and `memhooks bench` loads them at run time. This file is the CLI's side of that
 * boundary: what the CLI calls (BenchSuite), and the loader. bench/suite.ts declares its export as a
 * BenchSuite, so the type checker keeps both sides in step without the library importing bench/.
 */
import type { DiffusionSizeName } from '../zoo/diffusion/sizes.js';

/** A table of results, drawn by the CLI on a terminal. */
export interface ResultTable {
  columns: string[];
  rows: Array<Array<string | number>>;
}

/** What the CLI passes to a benchmark (bench/framework.ts calls it BenchContext). */
export interface BenchRunContext {
  /** Tiny sizes and rounds: only checks that the benchmark runs. */
  readonly smoke: boolean;
  /** Measured rounds per variant (after the warm-up). */
  readonly runs: number;
  /** The active tfjs backend (already set up). */
  readonly backend: string;
  /** Zoo pipeline size for benchmarks that run it (`--size`; default 'small', smoke runs use 'tiny'). */
  readonly size?: DiffusionSizeName;
  /** Progress lines for the person watching. */
  log(line: string): void;
  /** How far a long benchmark is (units of work done of total); a progress bar on a terminal, nothing elsewhere. */
  progress?(done: number, total: number): void;
}

/** One benchmark's results; the CLI passes them back to the suite (checks, files, tables) and prints them as JSON. */
export type BenchOutcome = object;

export interface BenchMachine {
  backend: string;
  threads: number;
}

export interface BenchEntry {
  readonly description: string;
  prepare?(): Promise<void>;
  run(ctx: BenchRunContext): Promise<BenchOutcome>;
}

export interface BenchRun {
  smoke: boolean;
  runs: number;
}

export interface BenchSuite {
  readonly BENCHMARKS: Readonly<Record<string, BenchEntry>>;
  readonly BENCHMARK_NAMES: readonly string[];
  readonly DEMO_BENCHMARKS: readonly string[];
  checksPass(result: BenchOutcome): boolean;
  countOf(n: number, noun: string): string;
  machineInfo(): Promise<BenchMachine>;
  writeResults(dir: string, result: BenchOutcome, machine: BenchMachine, run: BenchRun, suffix?: string): Promise<string[]>;
  renderMarkdown(result: BenchOutcome, machine: BenchMachine, run: BenchRun, table?: (t: ResultTable) => string[]): string;
}

/**
 * Relative to this file, the suite's entry is at the same place in the sources (src/cli → bench/suite.ts)
 * and in each build (dist/<format>/src/cli → dist/<format>/bench/suite.js). Held in a variable so that
 * neither the compiler nor the dependency checker follows it into the library.
 */
const SUITE_ENTRY = '../../bench/suite.js';

/** Loads bench/ (once); a missing build of it is an error that says how to get it. */
export async function loadBenchSuite(): Promise<BenchSuite> {
  let loaded: { BENCH_SUITE?: BenchSuite };
  try {
    loaded = (await import(SUITE_ENTRY)) as { BENCH_SUITE?: BenchSuite };
  } catch (cause) {
    const code = (cause as { code?: unknown } | null)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw cause;
    if (!String((cause as Error).message).includes('suite')) throw cause;
    throw new Error(`the benchmarks are not built (${SUITE_ENTRY} next to the CLI is missing). Run \`npm run build\` in the package directory.`, { cause });
  }
  if (loaded.BENCH_SUITE === undefined) throw new Error(`${SUITE_ENTRY} does not export BENCH_SUITE: the benchmarks and the CLI are from different builds.`);
  return loaded.BENCH_SUITE;
}
