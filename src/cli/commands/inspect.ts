/**
 * `memhooks inspect <zoo size | real model>`: the module tree with parameter bytes, and the device map that
 * inferAutoDeviceMap would pick under `--max-memory`.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { fromPretrained } from '../../io/checkpoints/fromPretrained.js';
import type { Module } from '../../models/Module.js';
import { wrapLayersModel } from '../../models/wrap/wrapLayersModel.js';
import { PRETRAINED_NAMES, type PretrainedName } from '../../models/zoo/catalog.js';
import { createDiffusionComponents } from '../../models/zoo/diffusion/components.js';
import { DIFFUSION_SIZE_NAMES } from '../../models/zoo/diffusion/sizes.js';
import { loadPretrained } from '../../models/zoo/loadPretrained.js';
import { useBackend } from '../../runtime/backends.js';
import { formatBytes } from '../../runtime/format.js';
import { parseSize } from '../../runtime/size.js';
import { cleanDeviceMap, inferAutoDeviceMap } from '../../strategies/device-map/infer.js';
import { EXIT, UsageError, type CommandContext } from '../io.js';
import { checkBackend, CLI_BACKENDS as BENCH_BACKENDS, zooSizeOf } from '../choices.js';

interface InspectOptions {
  maxMemory?: string;
  depth: string;
  backend: string;
  json?: boolean;
}

export function registerInspectCommand(program: Command, ctx: CommandContext): void {
  program
    .command('inspect')
    .description('Show a model as memhooks sees it: the module tree with parameter bytes, and the device map inferred under --max-memory.')
    .argument('<model>', `a zoo pipeline size (${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}), a real model (${PRETRAINED_NAMES.join(', ')}), or a folder written by savePretrained`)
    .option('--max-memory <budgets>', 'budgets per device for the inferred device map, e.g. device=200MB,host=2GB')
    .option('--depth <n>', 'tree depth to print (0: components only)', '2')
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_BACKENDS.wasm)
    .option('--json', 'print the tree and the map as JSON')
    .addHelpText('after', '\nExamples:\n  memhooks inspect zoo:small --max-memory device=20MB,host=1GB\n  memhooks inspect upscaler-esrgan-2x --depth 1\n')
    .action(async (model: string, opts: InspectOptions) => {
      ctx.setExitCode(await runInspect(model, opts, ctx));
    });
}

/** `device=2GB,host=8GB` → { device: 2e9, host: 8e9 }; a malformed entry is a usage error naming it. */
export function parseMaxMemory(text: string): Record<string, number> {
  const budgets: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [device, size, extra] = part.split('=');
    if (!device || !size || extra !== undefined) throw new UsageError(`--max-memory entry "${part}" must be device=size, e.g. device=2GB.`);
    try {
      budgets[device.trim()] = parseSize(size.trim(), `--max-memory ${device}`);
    } catch (cause) {
      throw new UsageError(`--max-memory entry "${part}": ${(cause as Error).message}`);
    }
  }
  return budgets;
}

async function load(model: string): Promise<Array<[string, Module]>> {
  const size = zooSizeOf(model);
  // On the host: inspecting must not need the device, whatever the size.
  if (size !== undefined) return Object.entries(createDiffusionComponents(size, { tier: 'host' }));
  if ((PRETRAINED_NAMES as readonly string[]).includes(model)) return [[model, wrapLayersModel(await loadPretrained(model as PretrainedName))]];
  if (existsSync(model)) return [[model, await fromPretrained(undefined, model, { deviceMap: { "": "host" } })]];
  throw new UsageError(
    `"${model}" is no zoo size, real model or folder. Zoo: ${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}; real models: ${PRETRAINED_NAMES.join(', ')}.`,
  );
}

async function runInspect(model: string, opts: InspectOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const depth = /^\d+$/.test(opts.depth) ? Number(opts.depth) : NaN;
  if (!Number.isSafeInteger(depth)) throw new UsageError(`--depth needs a non-negative integer, got "${opts.depth}".`);
  checkBackend(opts.backend);
  const maxMemory = opts.maxMemory === undefined ? undefined : parseMaxMemory(opts.maxMemory);
  await useBackend(opts.backend);
  const roots = await load(model);
  try {
    const report = roots.map(([name, root]) => {
      const fp = root.memoryFootprint();
      const tree = root
        .toString()
        .split('\n')
        .filter((line) => line.length - line.trimStart().length <= 2 * depth);
      const map = maxMemory === undefined ? undefined : cleanDeviceMap(inferAutoDeviceMap(root, { maxMemory }));
      return { name, className: root.constructor.name, bytes: fp.device + fp.host + fp.disk, tree, deviceMap: map };
    });
    if (opts.json === true) {
      io.out(`${JSON.stringify({ model, maxMemory, components: report }, null, 2)}\n`);
      return EXIT.OK;
    }
    const total = report.reduce((n, r) => n + r.bytes, 0);
    io.out(`${model}: ${formatBytes(total)} of weights in ${report.length} component(s)\n`);
    for (const r of report) {
      io.out(`\n${r.name} (${r.className}, ${formatBytes(r.bytes)})\n${r.tree.map((l) => `  ${l}`).join('\n')}\n`);
      if (r.deviceMap !== undefined) {
        io.out(`  device map under ${opts.maxMemory}:\n`);
        for (const [path, device] of Object.entries(r.deviceMap)) io.out(`    ${path === '' ? '(all)' : path} → ${device}\n`);
      }
    }
    return EXIT.OK;
  } finally {
    for (const [, root] of roots) root.dispose();
  }
}
