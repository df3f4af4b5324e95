/**
 * `memhooks bench [names...]`: runs benchmarks from bench/ on one backend and writes
 * bench/results/<name>.{json,md} (BENCHMARKS.md).
 */
import type { Command } from 'commander';
import { mkdtemp } from 'node:fs/promises';
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
  /** Undefined: bench/results, or a fresh temp dir in smoke mode. */
  out?: string;
  runs?: string | number;
}

export function registerBenchCommand(program: Command, ctx: CommandContext): void {
  const list = BENCHMARK_NAMES.map((n) => `  ${n.padEnd(16)}${BENCHMARKS[n]!.description}`).join('\n');
  program
    .command('bench')
    .description('Run benchmarks and write bench/results/<name>.json (raw samples, machine info) and <name>.md (tables).')
    .argument('[names...]', `benchmarks to run (default: all): ${BENCHMARK_NAMES.join(', ')}`)
    .option('--smoke', 'tiny sizes and 2 rounds: only checks that the benchmarks run; writes to a temp dir unless --out is given')
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_DEFAULTS.backend)
    .option('--out <dir>', `results directory (default: ${BENCH_DEFAULTS.out})`)
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
    runs = Number(options.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new UsageError(`--runs needs a positive integer, got "${options.runs}".`);
    }
  }
  return { names, smoke: options.smoke === true, backend: options.backend as BenchBackend, out: options.out, runs };
}

export async function runBench(options: BenchOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const opts = validateBenchOptions(options);
  if (!opts.smoke && opts.runs < 5) io.err(`memhooks bench: warning: ${opts.runs} rounds; BENCHMARKS.md asks for at least 5.\n`);
  // Smoke runs are not measurements: they never overwrite bench/results unless --out says so.
  const out = opts.out ?? (opts.smoke ? await mkdtemp(join(os.tmpdir(), 'memhooks-bench-smoke-')) : BENCH_DEFAULTS.out);
  await useBackend(opts.backend);
  const machine = await machineInfo();
  io.out(`memhooks bench: ${opts.names.join(', ')} on ${machine.backend} (${machine.threads} thread(s)), ${opts.runs} rounds${opts.smoke ? ', smoke' : ''}\n`);
  let code: number = EXIT.OK;
  for (const name of opts.names) {
    const started = Date.now();
    io.out(`\n[${name}]\n`);
    const result = await BENCHMARKS[name]!.run({ smoke: opts.smoke, runs: opts.runs, backend: machine.backend, log: (l) => io.out(`${l}\n`) });
    const files = await writeResults(out, result, machine, { smoke: opts.smoke, runs: opts.runs });
    if (!opts.smoke) io.out(`\n${renderMarkdown(result, machine, { smoke: opts.smoke, runs: opts.runs })}\n`);
    io.out(`  wrote ${files.join(', ')} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    if (!checksPass(result)) {
      io.err(`memhooks bench: ${name}: an output check failed (an output differs from its baseline or a timing loop leaked tensors); see ${files[1]}.\n`);
      code = EXIT.FAILURE;
    }
  }
  return code;
}
