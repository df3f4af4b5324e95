/**
 * The `memhooks` command line. Each command lives in its own file under commands/ and exports a
 * `register*Command(program, ctx)`; this file only assembles them and maps failures to exit codes.
 */
// The command line runs on Node: register its platform (src/base/platform) before any other module runs.
import '../base/platform/useNode.js';
import { Command, CommanderError } from 'commander';
import { loadBenchSuite, type BenchSuite } from './benchSuite.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerShardCommand } from './commands/shard.js';
import { registerTraceCommand } from './commands/trace.js';
import { EXIT, processIO, UsageError, type CliIO, type CommandContext } from './io.js';

export interface CliOptions {
  /** Shown by --version. The bin passes the package's version: no module path works in both builds. */
  version?: string;
}

export function createProgram(ctx: CommandContext, bench: BenchSuite, options: CliOptions = {}): Command {
  const program = new Command('memhooks')
    .description('Run TensorFlow.js models bigger than the device: memory hooks, benchmarks and tools.')
    .version(options.version ?? 'dev', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: ctx.io.out, writeErr: ctx.io.err })
    .exitOverride();
  // One file each under commands/, registered here.
  registerBenchCommand(program, ctx, bench);
  registerInspectCommand(program, ctx);
  registerPlanCommand(program, ctx);
  registerShardCommand(program, ctx);
  registerTraceCommand(program, ctx);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and resolves to the exit code; never exits the process. */
export async function main(argv: readonly string[], io: CliIO = processIO, options: CliOptions = {}): Promise<number> {
  let exitCode: number = EXIT.OK;
  const ctx: CommandContext = { io, setExitCode: (code) => void (exitCode = Math.max(exitCode, code)) };
  try {
    // The benchmarks are a separate entry point (bench/), loaded at run time; they list themselves in --help.
    await createProgram(ctx, await loadBenchSuite(), options).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

function exitCodeFor(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help); --help and --version are successes.
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof UsageError) {
    io.err(`memhooks: ${error.message}\n`);
    return EXIT.USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`memhooks: ${message}\n`);
  if (process.env.MEMHOOKS_DEBUG && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
  else io.err('(set MEMHOOKS_DEBUG=1 for the stack trace)\n');
  return EXIT.FAILURE;
}
