/**
 * `memhooks bench [names...]`: runs benchmarks from bench/ on one backend and writes
 * bench/results/<name>.{json,md} (BENCHMARKS.md).
 */
import type { Command } from 'commander';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { BENCHMARK_NAMES, BENCHMARKS, checksPass, machineInfo, renderMarkdown, writeResults } from '../../../bench/index.js';
import { useBackend } from '../../runtime/backends.js';
import { EXIT, unknownChoice, UsageError, type CommandContext } from '../io.js';

/** Backends the benchmarks run on: both ship inside their npm packages (no native download). */
export const BENCH_BACKENDS = { wasm: 'wasm', cpu: 'cpu' } as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[keyof typeof BENCH_BACKENDS];

export const BENCH_DEFAULTS = { backend: BENCH_BACKENDS.wasm, out: 'bench/results', runs: 21, smokeRuns: 2 } as const;

export interface BenchOptions {
  names: string[];
  smoke?: boolean;
  backend: string;
  /** Undefined: bench/results, or (smoke) a temporary directory removed at the end. */
  out?: string;
  runs?: string | number;
}

export function registerBenchCommand(program: Command, ctx: CommandContext): void {
  const list = BENCHMARK_NAMES.map((n) => `  ${n.padEnd(16)}${BENCHMARKS[n]!.description}`).join('\n');
  program
    .command('bench')
    .description('Run benchmarks and write bench/results/<name>.json (raw samples, machine info) and <name>.md (tables).')
    .argument('[names...]', `benchmarks to run (default: all): ${BENCHMARK_NAMES.join(', ')}`)
    .option('--smoke', 'tiny sizes and 2 rounds: only checks that the benchmarks run; results are discarded unless --out is given')
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_DEFAULTS.backend)
    .option('--out <dir>', `results directory, relative to the current directory (default: ${BENCH_DEFAULTS.out})`)
    .option('--runs <n>', `measured rounds per variant, after a warm-up (default: ${BENCH_DEFAULTS.runs}, smoke ${BENCH_DEFAULTS.smokeRuns})`)
    .addHelpText('after', `\nBenchmarks:\n${list}\n\nExamples:\n  memhooks bench                 # the full suite on wasm\n  memhooks bench hooks --backend cpu\n  memhooks bench --smoke         # seconds; CI\n`)
    .action(async (names: string[], opts: Omit<BenchOptions, 'names'>) => {
      ctx.setExitCode(await runBench({ names, ...opts }, ctx));
    });
}

interface ValidatedOptions {
  names: string[];
  smoke: boolean;
  backend: BenchBackend;
  out: string | undefined;
  runs: number;
}

/** Checks everything before running anything; throws UsageError (exit 2) with the valid choices. */
export function validateBenchOptions(options: BenchOptions): ValidatedOptions {
  const names = options.names.length === 0 ? [...BENCHMARK_NAMES] : [...new Set(options.names)];
  for (const name of names) {
    if (!(name in BENCHMARKS)) throw unknownChoice('benchmark', 'benchmarks', name, BENCHMARK_NAMES);
  }
  const backends = Object.values(BENCH_BACKENDS) as string[];
  if (!backends.includes(options.backend)) throw unknownChoice('backend', 'backends', options.backend, backends);
  let runs: number = options.smoke === true ? BENCH_DEFAULTS.smokeRuns : BENCH_DEFAULTS.runs;
  if (options.runs !== undefined) {
    runs = /^\d+$/.test(String(options.runs)) ? Number(options.runs) : NaN;
    if (!Number.isSafeInteger(runs) || runs < 1) {
      throw new UsageError(`--runs needs a positive integer, got "${options.runs}".`);
    }
  }
  return { names, smoke: options.smoke === true, backend: options.backend as BenchBackend, out: options.out, runs };
}

export async function runBench(options: BenchOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const opts = validateBenchOptions(options);
  if (!opts.smoke && opts.runs < 5) io.err(`memhooks bench: warning: ${opts.runs} rounds; BENCHMARKS.md asks for at least 5.\n`);
  // Smoke runs are not measurements: they never overwrite bench/results unless --out says so; without it,
  // their files go to a temporary directory that is removed at the end.
  const scratch = opts.out === undefined && opts.smoke ? await mkdtemp(join(os.tmpdir(), 'memhooks-bench-smoke-')) : undefined;
  const out = opts.out ?? scratch ?? BENCH_DEFAULTS.out;
  try {
    await assertWritableDirectory(out);
    return await runAll(opts, out, ctx);
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

async function runAll(opts: ValidatedOptions, out: string, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  await useBackend(opts.backend);
  const machine = await machineInfo();
  io.out(`memhooks bench: ${opts.names.join(', ')} on ${machine.backend} (${machine.threads} thread(s)), ${opts.runs} rounds${opts.smoke ? ', smoke' : ''}\n`);
  let code: number = EXIT.OK;
  for (const name of opts.names) {
    const started = Date.now();
    io.out(`\n[${name}]\n`);
    const result = await BENCHMARKS[name]!.run({ smoke: opts.smoke, runs: opts.runs, backend: machine.backend, log: (l) => io.out(`${l}\n`) });
    const passed = checksPass(result);
    // A run whose output check failed never replaces the results of a good one: it is written beside them.
    const files = await writeResults(out, result, machine, { smoke: opts.smoke, runs: opts.runs }, passed ? '' : '.failed');
    if (!opts.smoke) io.out(`\n${renderMarkdown(result, machine, { smoke: opts.smoke, runs: opts.runs })}\n`);
    io.out(`  ${opts.out === undefined && opts.smoke ? 'checked (smoke results are discarded)' : `wrote ${files.join(', ')}`} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    if (!passed) {
      io.err(`memhooks bench: ${name}: an output check failed (an output differs from its baseline or a timing loop leaked tensors); see ${files[1]}.\n`);
      code = EXIT.FAILURE;
    }
  }
  return code;
}
