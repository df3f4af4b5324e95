/**
 * `memhooks inspect <zoo size | real model | folder>`: the module tree with parameter bytes, and the device
 * map that inferAutoDeviceMap would pick under `--max-memory` (or, with `--device-map auto` alone, under the
 * default budgets, which it prints).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { checkpointTree } from '../../io/checkpoints/describeCheckpoint.js';
import type { Module } from '../../models/Module.js';
import { wrapLayersModel } from '../../adapters/layers-model/wrapLayersModel.js';
import { PRETRAINED_LAYERS_NAMES, type LayersPretrainedName } from '../../zoo/catalog.js';
import { createDiffusionComponents } from '../../zoo/diffusion/components.js';
import { DIFFUSION_SIZE_NAMES } from '../../zoo/diffusion/sizes.js';
import { loadPretrained } from '../../zoo/loadPretrained.js';
import { useBackend } from '../../runtime/backends.js';
import { formatBytes } from '../../base/format.js';
import { parseSize } from '../../runtime/size.js';
import { cleanDeviceMap, inferAutoDeviceMap } from '../../strategies/device-map/infer.js';
import { defaultMaxMemory, type DefaultMaxMemory } from '../../strategies/device-map/maxMemory.js';
import { EXIT, UsageError, type CommandContext } from '../io.js';
import { checkBackend, CLI_BACKENDS as BENCH_BACKENDS, zooSizeOf } from '../choices.js';
import { disposeAll, loadFolder, type InspectedComponent } from './inspectFolder.js';
import { isInspectUrl, loadUrl } from './inspectUrl.js';

interface InspectOptions {
  maxMemory?: string;
  deviceMap?: string;
  depth: string;
  backend: string;
  json?: boolean;
}

export function registerInspectCommand(program: Command, ctx: CommandContext): void {
  program
    .command('inspect')
    .description('Show a model as memhooks sees it: the module tree with parameter bytes, and the device map inferred under --max-memory.')
    .argument('<model>', `a zoo pipeline size (${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}), a real model (${PRETRAINED_LAYERS_NAMES.join(', ')}), or a folder written by savePretrained (or its http(s) URL: read from the headers alone)`)
    .option('--max-memory <budgets>', 'budgets per device for the inferred device map, e.g. device=200MB,host=2GB')
    .option('--device-map <auto>', "'auto': infer the device map; without --max-memory, under the device budget (else the host's free memory) and the host's free memory, both printed")
    .option('--depth <n>', 'tree depth to print (0: components only)', '2')
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_BACKENDS.wasm)
    .option('--json', 'print the tree and the map as JSON')
    .addHelpText('after', '\nExamples:\n  memhooks inspect zoo:small --max-memory device=20MB,host=1GB\n  memhooks inspect zoo:small --device-map auto\n  memhooks inspect ./my-model --depth 3\n  memhooks inspect https://example.com/models/my-pipeline/\n  memhooks inspect upscaler-esrgan-2x --depth 1\n')
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

async function load(model: string): Promise<InspectedComponent[]> {
  const size = zooSizeOf(model);
  const modules = (entries: Array<[string, Module]>): InspectedComponent[] => entries.map(([name, root]) => ({ name, kind: 'module', root }));
  // On the host: inspecting must not need the device, whatever the size.
  if (size !== undefined) return modules(Object.entries(createDiffusionComponents(size, { tier: 'host' })));
  if ((PRETRAINED_LAYERS_NAMES as readonly string[]).includes(model)) return modules([[model, wrapLayersModel(await loadPretrained(model as LayersPretrainedName))]]);
  if (isInspectUrl(model)) return loadUrl(model);
  if (existsSync(model)) return loadFolder(model);
  throw new UsageError(
    `"${model}" is no zoo size, real model, folder or http(s) URL. Zoo: ${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}; real models: ${PRETRAINED_LAYERS_NAMES.join(', ')}.`,
  );
}

async function runInspect(model: string, opts: InspectOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const depth = /^\d+$/.test(opts.depth) ? Number(opts.depth) : NaN;
  if (!Number.isSafeInteger(depth)) throw new UsageError(`--depth needs a non-negative integer, got "${opts.depth}".`);
  checkBackend(opts.backend);
  if (opts.deviceMap !== undefined && opts.deviceMap !== 'auto') throw new UsageError(`--device-map accepts only "auto", got "${opts.deviceMap}".`);
  const maxMemory = opts.maxMemory === undefined ? undefined : parseMaxMemory(opts.maxMemory);
  await useBackend(opts.backend);
  // Read after the backend is active: its default budget (wasm's) depends on it.
  const maxMemoryUsed = maxMemory === undefined && opts.deviceMap === 'auto' ? defaultMaxMemory() : undefined;
  const budgets = maxMemory ?? (maxMemoryUsed === undefined ? undefined : { device: maxMemoryUsed.device.bytes, host: maxMemoryUsed.host.bytes });
  const components = await load(model);
  try {
    const shown = (lines: string[]) => lines.filter((line) => line.length - line.trimStart().length <= 2 * depth);
    const report = components.map((c) => {
      if (c.kind === 'checkpoint') {
        const { summary } = c;
        return { name: c.name, className: c.className, bytes: summary.bytes, tree: shown(checkpointTree(summary, c.className)), deviceMap: undefined, source: c.kind, note: c.note, weights: summary.tensors };
      }
      const fp = c.root.memoryFootprint();
      const map = budgets === undefined ? undefined : cleanDeviceMap(inferAutoDeviceMap(c.root, { maxMemory: budgets }));
      return { name: c.name, className: c.root.constructor.name, bytes: fp.device + fp.host + fp.disk, tree: shown(c.root.toString().split('\n')), deviceMap: map, source: c.kind };
    });
    if (opts.json === true) {
      io.out(`${JSON.stringify({ model, maxMemory, maxMemoryUsed, components: report }, null, 2)}\n`);
      return EXIT.OK;
    }
    const total = report.reduce((n, r) => n + r.bytes, 0);
    io.out(`${model}: ${formatBytes(total)} of weights in ${report.length} component(s)\n`);
    for (const r of report) {
      const fromCheckpoint = r.source === 'checkpoint' ? ', from the checkpoint' : '';
      io.out(`\n${r.name} (${r.className}, ${formatBytes(r.bytes)}${fromCheckpoint})\n${r.tree.map((l) => `  ${l}`).join('\n')}\n`);
      if (r.note !== undefined) io.out(`  Read from the safetensors headers alone: ${r.note}.\n`);
      if (r.deviceMap !== undefined) {
        io.out(`  device map ${maxMemoryUsed === undefined ? `under ${opts.maxMemory}` : `(auto) under ${describeDefaults(maxMemoryUsed)}`}:\n`);
        for (const [path, device] of Object.entries(r.deviceMap)) io.out(`    ${path === '' ? '(all)' : path} → ${device}\n`);
      }
    }
    return EXIT.OK;
  } finally {
    disposeAll(components);
  }
}

/** `device=3 GiB (wasm default budget), host=12.5 GiB (free host memory)`: the numbers and where they came from. */
function describeDefaults(used: DefaultMaxMemory): string {
  return `device=${formatBytes(used.device.bytes)} (${used.device.source}), host=${formatBytes(used.host.bytes)} (${used.host.source})`;
}
