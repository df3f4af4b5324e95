/**
 * `memhooks plan <zoo size | catalog model> --budget 300MB`: runs the memory planner (docs/planner.md) on the model
 * and prints plan.describe(): the chosen strategies, the predicted peak device and host bytes and time, and the
 * table of the candidates considered. `--verify` then applies the plan, runs the sample and prints the measurement.
 */
import type { Command } from 'commander';
import { formatNumber } from '../../base/format.js';
import { useBackend } from '../../runtime/backends.js';
import { parseSize } from '../../runtime/size.js';
import { checkBackend, CLI_BACKENDS } from '../choices.js';
import { EXIT, unknownChoice, UsageError, type CommandContext } from '../io.js';
import { loadPlanSubject, planModelsHelp, type SubjectPlanOptions } from '../planSubjects.js';

interface PlanCommandOptions {
  budget?: string;
  hostBudget?: string;
  allowLossy?: string;
  offloadDir?: string;
  margin?: string;
  steps: string;
  side: string;
  backend: string;
  verify?: boolean;
}

const LOSSY = ['bf16', 'fp8'] as const;

/** Decimal megabytes, as the plan's own description writes them (docs/planner.md). */
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;

export function registerPlanCommand(program: Command, ctx: CommandContext): void {
  program
    .command('plan')
    .description('Plan memory for a device budget: the fastest strategies that fit, predicted peak and time, and every candidate considered.')
    .argument('<model>', planModelsHelp())
    .option('--budget <size>', 'device budget the plan must fit (required), e.g. 300MB, 1.5GiB or a number of bytes')
    .option('--host-budget <size>', 'host memory the plan may use; when short, disk candidates come in (with --offload-dir)')
    .option('--allow-lossy <dtype>', `also consider layerwise casting, which changes the outputs: ${LOSSY.join(' | ')}`)
    .option('--offload-dir <dir>', 'folder for the disk candidates')
    .option('--margin <fraction>', 'fraction of the budget kept free (default: the planner\'s, see docs/planner.md)')
    .option('--steps <n>', 'zoo pipelines: denoising steps of the sample call', '2')
    .option('--side <px>', 'catalog models whose input size is free: image side of the sample call', '64')
    .option('--backend <name>', `tfjs backend: ${Object.values(CLI_BACKENDS).join(' | ')}`, CLI_BACKENDS.wasm)
    .option('--verify', 'apply the plan, run the sample once and print measured against predicted')
    .addHelpText('after', '\nExamples:\n  memhooks plan zoo:small --budget 30MB\n  memhooks plan zoo:base --budget 300MB --allow-lossy fp8\n  memhooks plan mobilenet-v2-mid-nsfw --budget 15MB --verify\n')
    .action(async (model: string, opts: PlanCommandOptions) => {
      ctx.setExitCode(await runPlanCommand(model, opts, ctx));
    });
}

function size(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  // A bare number is bytes, as parseSize takes it; the CLI only ever gets text.
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  try {
    return parseSize(value, option);
  } catch (cause) {
    throw new UsageError(`${option} "${text}": ${(cause as Error).message}`);
  }
}

function positiveInteger(text: string, option: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option} needs a whole number ≥ 1, got "${text}".`);
  return n;
}

/** Every option checked before the backend starts or the model loads. */
function planOptions(opts: PlanCommandOptions): SubjectPlanOptions {
  if (opts.budget === undefined) throw new UsageError('--budget is required: the device budget the plan must fit, e.g. --budget 300MB.');
  const deviceBudget = size(opts.budget, '--budget')!;
  if (deviceBudget === 0) throw new UsageError('--budget must be more than 0 bytes.');
  const hostBudget = size(opts.hostBudget, '--host-budget');
  if (opts.allowLossy !== undefined && !(LOSSY as readonly string[]).includes(opts.allowLossy)) throw unknownChoice('lossy dtype', 'dtypes', opts.allowLossy, LOSSY);
  let margin: number | undefined;
  if (opts.margin !== undefined) {
    margin = Number(opts.margin);
    if (opts.margin.trim() === '' || !(margin >= 0 && margin < 1)) throw new UsageError(`--margin needs a fraction from 0 up to (not including) 1, got "${opts.margin}".`);
  }
  return {
    deviceBudget,
    ...(hostBudget === undefined ? {} : { hostBudget }),
    ...(opts.allowLossy === undefined ? {} : { allowLossy: opts.allowLossy as (typeof LOSSY)[number] }),
    ...(opts.offloadDir === undefined ? {} : { offloadDir: opts.offloadDir }),
    ...(margin === undefined ? {} : { margin }),
  };
}

async function runPlanCommand(model: string, opts: PlanCommandOptions, ctx: CommandContext): Promise<number> {
  const options = planOptions(opts);
  const steps = positiveInteger(opts.steps, '--steps');
  const side = positiveInteger(opts.side, '--side');
  checkBackend(opts.backend);
  await useBackend(opts.backend);
  const subject = await loadPlanSubject(model, { steps, side });
  try {
    const plan = await subject.plan(options);
    ctx.io.out(`memhooks plan: ${subject.label} (${mb(subject.weightBytes)} of weights) on ${opts.backend}, device budget ${mb(options.deviceBudget as number)}, planned on ${subject.call}\n\n`);
    ctx.io.out(`${plan.describe().trimEnd()}\n`);
    if (opts.verify !== true) return EXIT.OK;
    const m = await plan.verify();
    const bitwise = m.bitwise === undefined ? '' : `; output ${m.bitwise ? 'bitwise equal to' : 'differs from'} resident`;
    ctx.io.out(
      `\nverified: peak ${mb(m.measured.peakDeviceBytes)} (predicted ${mb(m.predicted.peakDeviceBytes)}, ` +
        `${m.withinBudget ? 'within' : 'OVER'} the budget), ${formatNumber(m.measured.ms)} ms (predicted ${formatNumber(m.predicted.ms)} ms)${bitwise}\n`,
    );
    return m.withinBudget ? EXIT.OK : EXIT.FAILURE;
  } finally {
    subject.dispose();
  }
}
