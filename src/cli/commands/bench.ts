/**
 * `memhooks bench [names...]`: runs benchmarks from bench/ on one backend and writes
 * bench/results/<name>.{json,md} (BENCHMARKS.md). The suite is loaded at run time (../benchSuite.ts): it
 * is a separate entry point, never compiled into the library.
 */
import type { Command } from 'commander';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchSuite } from '../benchSuite.js';
import { DIFFUSION_SIZE_NAMES, type DiffusionSizeName } from '../../zoo/diffusion/sizes.js';
import { useBackend } from '../../runtime/backends.js';
import { checkBackend, CLI_BACKENDS, type CliBackend } from '../choices.js';
import { progressBar, terminalTable } from '../terminal.js';
import { EXIT, unknownChoice, UsageError, type CommandContext } from '../io.js';

/** Backends the benchmarks run on (the CLI's backends). */
export const BENCH_BACKENDS = CLI_BACKENDS;
export type BenchBackend = CliBackend;

export const BENCH_DEFAULTS = { backend: BENCH_BACKENDS.wasm, out: 'bench/results', runs: 21, smokeRuns: 2, size: 'small' } as const;

export interface BenchOptions {
  names: string[];
  smoke?: boolean;
  backend: string;
  /** Undefined: bench/results, or (smoke) a temporary directory removed at the end. */
  out?: string;
  runs?: string | number;
  /** Zoo pipeline size for the benchmarks that use it (strategies). */
  size?: string;
  /** Print the results as JSON on stdout instead of tables. */
  json?: boolean;
}

export function registerBenchCommand(program: Command, ctx: CommandContext, suite: BenchSuite): void {
  const { BENCHMARK_NAMES, BENCHMARKS, DEMO_BENCHMARKS } = suite;
  const list = BENCHMARK_NAMES.map((n) => `  ${n.padEnd(16)}${BENCHMARKS[n]!.description}`).join('\n');
  program
    .command('bench')
    .description('Run benchmarks and write bench/results/<name>.json (raw samples, machine info) and <name>.md (tables).')
    .argument('[names...]', `benchmarks to run, or "all" (default: ${DEMO_BENCHMARKS.join(', ')}): ${BENCHMARK_NAMES.join(', ')}`)
    .option('--smoke', `tiny sizes and at most ${BENCH_DEFAULTS.smokeRuns} rounds: only checks that the benchmarks run; results are discarded unless --out is given`)
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_DEFAULTS.backend)
    .option('--out <dir>', `results directory, relative to the current directory (default: ${BENCH_DEFAULTS.out})`)
    .option('--size <name>', `zoo pipeline size for the strategies benchmark: ${DIFFUSION_SIZE_NAMES.join(' | ')}`, BENCH_DEFAULTS.size)
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option('--runs <n>', `at most this many measured rounds per variant, after a warm-up; a benchmark may use fewer, and its tables say how many (default: ${BENCH_DEFAULTS.runs}, smoke ${BENCH_DEFAULTS.smokeRuns})`)
    .addHelpText('after', `\nBenchmarks:\n${list}\n\nExamples:\n  memhooks bench                 # the main job: every strategy on the zoo pipeline, on wasm\n  memhooks bench all             # the full suite\n  memhooks bench hooks --backend cpu\n  memhooks bench --smoke         # seconds; CI\n`)
    .action(async (names: string[], opts: Omit<BenchOptions, 'names'>) => {
      ctx.setExitCode(await runBench({ names, ...opts }, ctx, suite));
    });
}

interface ValidatedOptions {
  names: string[];
  smoke: boolean;
  backend: BenchBackend;
  out: string | undefined;
  runs: number;
  size: DiffusionSizeName;
  json: boolean;
}

/** Checks everything before running anything; throws UsageError (exit 2) with the valid choices. */
export function validateBenchOptions(options: BenchOptions, suite: BenchSuite): ValidatedOptions {
  const { BENCHMARK_NAMES, BENCHMARKS, DEMO_BENCHMARKS } = suite;
  const requested = options.names.length === 0 ? [...DEMO_BENCHMARKS] : options.names;
  const names = requested.includes('all') ? [...BENCHMARK_NAMES] : [...new Set(requested)];
  for (const name of names) {
    if (!(name in BENCHMARKS)) throw unknownChoice('benchmark', 'benchmarks', name, BENCHMARK_NAMES);
  }
  const backend = checkBackend(options.backend);
  let runs: number = options.smoke === true ? BENCH_DEFAULTS.smokeRuns : BENCH_DEFAULTS.runs;
  if (options.runs !== undefined) {
    runs = /^\d+$/.test(String(options.runs)) ? Number(options.runs) : NaN;
    if (!Number.isSafeInteger(runs) || runs < 1) {
      throw new UsageError(`--runs needs a positive integer, got "${options.runs}".`);
    }
  }
  const size = options.size ?? BENCH_DEFAULTS.size;
  if (!(DIFFUSION_SIZE_NAMES as readonly string[]).includes(size)) throw unknownChoice('size', 'sizes', size, DIFFUSION_SIZE_NAMES);
  return { names, smoke: options.smoke === true, backend, out: options.out, runs, size: size as DiffusionSizeName, json: options.json === true };
}

export async function runBench(options: BenchOptions, ctx: CommandContext, suite: BenchSuite): Promise<number> {
  const { io } = ctx;
  const opts = validateBenchOptions(options, suite);
  // Optional peers are loaded now, so that a missing one stops the run before minutes of measuring.
  for (const name of opts.names) await suite.BENCHMARKS[name]!.prepare?.();
  if (!opts.smoke && opts.runs < 5) io.err(`memhooks bench: warning: ${opts.runs} rounds; BENCHMARKS.md asks for at least 5.\n`);
  // Smoke runs are not measurements: they never overwrite bench/results unless --out says so; without it,
  // their files go to a temporary directory that is removed at the end.
  const scratch = opts.out === undefined && opts.smoke ? await mkdtemp(join(os.tmpdir(), 'memhooks-bench-smoke-')) : undefined;
  const out = opts.out ?? scratch ?? BENCH_DEFAULTS.out;
  try {
    await assertWritableDirectory(out);
    return await runAll(opts, out, ctx, suite);
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/** Fails before any benchmark runs, rather than after minutes of measuring, when results cannot be written. */
async function assertWritableDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    await access(dir, constants.W_OK);
  } catch (cause) {
    throw new UsageError(`--out ${dir} is not a writable directory (${(cause as Error).message}).`);
  }
}

async function runAll(opts: ValidatedOptions, out: string, ctx: CommandContext, suite: BenchSuite): Promise<number> {
  const { io } = ctx;
  const { BENCHMARKS, checksPass, countOf, machineInfo, renderMarkdown, writeResults } = suite;
  // With --json, stdout carries only the JSON document; progress and tables go to stderr.
  const say = opts.json ? io.err : io.out;
  await useBackend(opts.backend);
  const machine = await machineInfo();
  say(
    `memhooks bench: ${opts.names.join(', ')} on ${machine.backend} (${countOf(machine.threads, 'thread')}), ${opts.smoke ? 'smoke run, ' : ''}` +
      `at most ${countOf(opts.runs, 'round')} per variant (each table says how many it measured)\n`,
  );
  let code: number = EXIT.OK;
  const results = [];
  for (const name of opts.names) {
    const started = Date.now();
    say(`\n[${name}]\n`);
    const run = { smoke: opts.smoke, runs: opts.runs };
    // On a terminal a benchmark that reports progress gets a bar, which then stands for its progress lines.
    const tty = io.isTTY === true && !opts.json;
    const bar = tty ? progressBar(name) : undefined;
    let barShown = false;
    const log = (line: string): void => {
      if (!barShown) say(`${line}\n`);
    };
    const progress = (done: number, total: number): void => {
      barShown = bar !== undefined;
      bar?.update(done, total);
    };
    let result;
    try {
      result = await BENCHMARKS[name]!.run({ ...run, size: opts.size, backend: machine.backend, log, progress });
    } finally {
      bar?.stop();
    }
    const passed = checksPass(result);
    // A run whose output check failed never replaces the results of a good one: it is written beside them.
    const files = await writeResults(out, result, machine, run, passed ? '' : '.failed');
    results.push(result);
    // The tables, also in a smoke run: a user sees numbers (tiny sizes, few rounds: not measurements).
    if (!opts.json) say(`\n${renderMarkdown(result, machine, run, tty ? terminalTable : undefined)}\n`);
    say(`  ${opts.out === undefined && opts.smoke ? 'checked (smoke results are discarded)' : `wrote ${files.join(', ')}`} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    if (!passed) {
      io.err(`memhooks bench: ${name}: an output check failed (an output differs from its baseline or a timing loop leaked tensors); see ${files[1]}.\n`);
      code = EXIT.FAILURE;
    }
  }
  if (opts.json) io.out(`${JSON.stringify({ machine, run: { smoke: opts.smoke, runs: opts.runs, size: opts.size }, results }, null, 2)}\n`);
  return code;
}
