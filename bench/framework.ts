/**
 * The benchmark framework: interleaved timing, medians, machine info, and the results files.
 *
 * Rules (BENCHMARKS.md): times are medians of at least 5 runs after a warm-up; variants that are compared
 * are measured side by side in the same process, interleaved round by round (with a rotating start) so
 * that drift of this shared machine hits every variant alike; ratios are the median of per-round ratios.
 * Every benchmark also reports the max abs difference of its output against the un-hooked baseline.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BenchRunContext } from '../src/cli/benchSuite.js';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES, MemhooksError } from '../src/base/errors.js';
import { formatNumber } from '../src/base/format.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { importOptionalPeer, type OptionalPeer } from '../src/runtime/optionalPeers.js';

/** What the CLI passes to a benchmark: the CLI's side declares it (src/cli/benchSuite.ts). */
export type BenchContext = BenchRunContext;

/** One variant of an interleaved comparison. `sample(n)` runs the operation n times in its own tight loop. */
export interface Variant {
  readonly name: string;
  /** Runs before each sample of this variant, untimed (e.g. switching the memory tracker on or off). */
  before?(): void;
  sample(iterations: number): void;
}

export interface TimingOptions {
  /** Measured rounds; each round takes one sample of every variant. */
  rounds: number;
  /** Operations per sample; a sample's value is the mean time per operation in ns. */
  iterations: number;
  /** Unmeasured rounds first, so that the JIT and the backend settle. */
  warmupRounds?: number;
}

/** Raw samples (ns per operation) per variant, in round order. */
export type Samples = Record<string, number[]>;

/**
 * Measures every variant `rounds` times, interleaved: round r runs the variants starting at index
 * r mod n, so no variant always goes first (right after another's garbage) or last.
 */
export function interleave(variants: readonly Variant[], options: TimingOptions): Samples {
  const { rounds, iterations, warmupRounds = 1 } = options;
  const samples: Samples = Object.fromEntries(variants.map((v) => [v.name, [] as number[]]));
  for (let round = -warmupRounds; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(Math.max(round, 0) + k) % variants.length]!;
      v.before?.();
      const t0 = process.hrtime.bigint();
      v.sample(iterations);
      const ns = Number(process.hrtime.bigint() - t0) / iterations;
      if (round >= 0) samples[v.name]!.push(ns);
    }
  }
  return samples;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median over rounds of a[r] / b[r]: a ratio measured side by side, round by round. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

/** Max abs difference between two tensors (or nested arrays of them), read back synchronously. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.size !== b.size) return Infinity;
  const x = a.dataSync();
  const y = b.dataSync();
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= max)) max = d; // NaN propagates as "not <=".
  }
  return max;
}

export interface Target {
  what: string;
  /** The target as written in BENCHMARKS.md, e.g. "≤ 100 ns". */
  target: string;
  measured: number;
  unit: string;
  /** measured must be ≤ limit. */
  limit: number;
  pass: boolean;
}

export function target(what: string, measured: number, limit: number, unit: string): Target {
  const shown = unit === '×' ? `≤ ${limit}×` : `≤ ${limit} ${unit}`;
  return { what, target: shown, measured, unit, limit, pass: measured <= limit };
}

/** One table of a benchmark's report. */
export interface Table {
  columns: string[];
  rows: Array<Array<string | number>>;
}

export interface SectionResult {
  id: string;
  title: string;
  /** What was timed, in one or two sentences (goes under the heading). */
  description: string;
  table: Table;
  samples: Samples;
  /** Derived numbers (medians, ratios) by name, for programs reading the JSON. */
  metrics: Record<string, number>;
  targets: Target[];
  /** Max abs difference of the output against the un-hooked baseline; must be within `tolerance`. */
  check: { maxAbsDiff: number; tolerance: number; against: string; leakedTensors?: number };
  /** Set when the section was skipped (e.g. a model that is not available yet). */
  skipped?: string;
}

export interface BenchResult {
  name: string;
  title: string;
  sections: SectionResult[];
  /** An SVG picture of the results, written beside them as `<name>.svg`. */
  svg?: string;
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /**
   * Loads what the benchmark needs beyond memhooks (an optional peer); throws a MemhooksError naming the
   * package when it is missing. The CLI calls it for every benchmark it was asked for before running any.
   */
  prepare?(): Promise<void>;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/**
 * A benchmark whose module imports an optional peer at its top: listed (name, description) without
 * loading it, so that the suite and the CLI load without the peer; the module is imported on prepare/run.
 */
export function lazyBenchmark(entry: { name: string; description: string; peer: OptionalPeer; load: () => Promise<Benchmark> }): Benchmark {
  const load = (): Promise<Benchmark> => importOptionalPeer(entry.peer, `The ${entry.name} benchmark`, entry.load);
  return {
    name: entry.name,
    description: entry.description,
    prepare: async () => void (await load()),
    run: async (ctx) => (await load()).run(ctx),
  };
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  totalMemoryBytes: number;
  platform: string;
  arch: string;
  node: string;
  tfjs: string;
  backend: string;
  threads: number;
  date: string;
}

/** The wasm backend reports its thread count (tfjs turns threads off under Node); cpu runs on one. */
export async function machineInfo(): Promise<MachineInfo> {
  const backend = tf.getBackend();
  let threads = 1;
  if (backend === 'wasm') {
    try {
      const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
      threads = wasm.getThreadsCount?.() ?? 1;
    } catch {
      threads = 1;
    }
  }
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    platform: os.platform(),
    arch: os.arch(),
    node: process.version,
    tfjs: tf.version_core,
    backend,
    threads,
    date: new Date().toISOString(),
  };
}

export interface RunInfo {
  smoke: boolean;
  runs: number;
}

/**
 * Writes `<dir>/<name>.json` (raw samples + machine info) and `<dir>/<name>.md` (the tables) for the
 * default wasm backend, `<name>.<backend>.*` for another, so that one backend's run never replaces
 * another's; `suffix` marks runs whose output check failed.
 */
export async function writeResults(dir: string, result: BenchResult, machine: MachineInfo, run: RunInfo, suffix = ''): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stem = `${result.name}${machine.backend === 'wasm' ? '' : `.${machine.backend}`}${suffix}`;
  const json = join(dir, `${stem}.json`);
  const md = join(dir, `${stem}.md`);
  // Atomic: an interrupted run never leaves a half-written result beside the committed ones.
  const { svg: _picture, ...data } = result;
  await writeFileAtomic(json, JSON.stringify({ ...data, machine, run }, null, 2) + '\n');
  await writeFileAtomic(md, renderMarkdown(result, machine, run));
  if (result.svg === undefined) return [json, md];
  const svg = join(dir, `${stem}.svg`);
  await writeFileAtomic(svg, result.svg);
  return [json, md, svg];
}

/**
 * The results as Markdown (the committed .md files). `table` renders each table; the CLI passes a terminal
 * renderer (cli-table3) when it writes to a terminal.
 */
export function renderMarkdown(result: BenchResult, machine: MachineInfo, run: RunInfo, table: (t: Table) => string[] = renderTable): string {
  const lines: string[] = [`# ${result.title}`, ''];
  lines.push(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, tfjs ${machine.tfjs} on \`${machine.backend}\` ` +
      `(${countOf(machine.threads, 'thread')}), ${machine.date.slice(0, 10)}. ` +
      `${roundsSentence(result)}${run.smoke ? ' (smoke run: tiny sizes, not a measurement)' : ''}.`,
    '',
  );
  for (const s of result.sections) {
    lines.push(`## ${s.title}`, '');
    if (s.skipped !== undefined) {
      lines.push(`Skipped: ${s.skipped}`, '');
      continue;
    }
    lines.push(s.description, '', ...table(s.table), '');
    if (s.targets.length > 0) {
      lines.push(
        ...table({
          columns: ['target', 'goal', 'measured', 'met'],
          rows: s.targets.map((t) => [t.what, t.target, `${fmt(t.measured)}${t.unit === '×' ? '×' : ` ${t.unit}`}`, t.pass ? 'yes' : '**no**']),
        }),
        '',
      );
    }
    const leaks = s.check.leakedTensors === undefined ? '' : `; tensors leaked while timing: ${s.check.leakedTensors}`;
    lines.push(`Output check: max abs diff ${s.check.maxAbsDiff} against ${s.check.against} (tolerance ${s.check.tolerance})${leaks}.`, '');
  }
  return lines.join('\n');
}

/** "1 round", "2 rounds". */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * The rounds a section measured, read from its samples (its most-sampled variant): what the table is a
 * median of, whatever `--runs` asked for (a benchmark may cap it, and smoke runs use fewer).
 */
export function roundsOf(section: SectionResult): number {
  return Math.max(0, ...Object.values(section.samples).map((s) => s.length));
}

/** How many rounds the result's tables are medians of, counted from the samples. */
function roundsSentence(result: BenchResult): string {
  const counts = result.sections.filter((s) => s.skipped === undefined).map(roundsOf).filter((n) => n > 0);
  if (counts.length === 0) return 'No timed rounds';
  const [low, high] = [Math.min(...counts), Math.max(...counts)];
  const after = 'after a warm-up';
  if (low !== high) return `Medians of ${low} to ${high} interleaved rounds ${after} (by section)`;
  return low === 1 ? `One timed round ${after}` : `Medians of ${low} interleaved rounds ${after}`;
}

export function renderTable(table: Table): string[] {
  const cell = (v: string | number): string => (typeof v === 'number' ? fmt(v) : v);
  return [
    `| ${table.columns.join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Integers from 100 up, else four significant digits: one formatter for the CLI's tables and these files. */
export const fmt = formatNumber;

/**
 * The section to report when `error` says an optional peer is missing (PEER_DEPENDENCY_MISSING): skipped,
 * with the error's message (which package, how to install it) as the reason; undefined for other errors.
 */
export function skippedForMissingPeer(id: string, title: string, error: unknown): SectionResult | undefined {
  if (!(error instanceof MemhooksError) || error.code !== ERROR_CODES.PEER_DEPENDENCY_MISSING) return undefined;
  return {
    id,
    title,
    description: '',
    table: { columns: [], rows: [] },
    samples: {},
    metrics: {},
    targets: [],
    check: { maxAbsDiff: 0, tolerance: 0, against: 'nothing: the section did not run' },
    skipped: error.message,
  };
}

/** True when every section's output check is within tolerance (skipped sections pass). */
export function checksPass(result: BenchResult): boolean {
  return result.sections.every(
    (s) => s.skipped !== undefined || (s.check.maxAbsDiff <= s.check.tolerance && (s.check.leakedTensors ?? 0) === 0),
  );
}
