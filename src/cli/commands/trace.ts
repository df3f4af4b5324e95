/**
 * `memhooks trace <model> --strategy <preset> --out trace.json`: one run under memory.trace, written as a
 * Chrome trace-event file (open it in Perfetto or chrome://tracing): a slice per module forward, the
 * transfers, and device/host byte counters.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import type { Module } from '../../models/Module.js';
import { wrapLayersModel } from '../../adapters/layers-model/wrapLayersModel.js';
import { PRETRAINED_MODELS, PRETRAINED_LAYERS_NAMES, type LayersPretrainedName } from '../../zoo/catalog.js';
import { DiffusionPipeline } from '../../zoo/diffusion/DiffusionPipeline.js';
import { DIFFUSION_SIZE_NAMES } from '../../zoo/diffusion/sizes.js';
import { loadPretrained } from '../../zoo/loadPretrained.js';
import { useBackend } from '../../runtime/backends.js';
import { memory } from '../../diagnostics/memory.js';
import { applyPreset, STRATEGY_PRESET_NAMES } from '../presets.js';
import { EXIT, unknownChoice, UsageError, type CommandContext } from '../io.js';
import { checkBackend, CLI_BACKENDS as BENCH_BACKENDS, zooSizeOf } from '../choices.js';

interface TraceOptions {
  strategy: string;
  out: string;
  backend: string;
}

export function registerTraceCommand(program: Command, ctx: CommandContext): void {
  program
    .command('trace')
    .description('Trace one run of a model under a strategy: module slices, transfers and memory counters as a Chrome trace (Perfetto).')
    .argument('<model>', `zoo:<size> (${DIFFUSION_SIZE_NAMES.join(', ')}: one image, 2 steps) or a real model (${PRETRAINED_LAYERS_NAMES.join(', ')}: one predict)`)
    .option('--strategy <name>', `strategy applied to every component: ${STRATEGY_PRESET_NAMES.join(' | ')}`, 'resident')
    .option('--out <file>', 'where to write the trace', 'trace.json')
    .option('--backend <name>', `tfjs backend: ${Object.values(BENCH_BACKENDS).join(' | ')}`, BENCH_BACKENDS.wasm)
    .addHelpText('after', '\nExample:\n  memhooks trace zoo:small --strategy group-leaf-stream --out trace.json   # then open it in https://ui.perfetto.dev\n')
    .action(async (model: string, opts: TraceOptions) => {
      ctx.setExitCode(await runTraceCommand(model, opts, ctx));
    });
}

/** The roots to hook, what one run is, and how to release everything. */
interface Target {
  roots: Module[];
  run(): tf.Tensor;
  dispose(): void;
}

async function target(model: string): Promise<Target> {
  const size = zooSizeOf(model);
  if (size !== undefined) {
    // On the host, so that any size can be traced with an offloading strategy; resident onloads it first.
    const pipe = DiffusionPipeline.create(size, { tier: 'host' });
    return { roots: Object.values(pipe.components), run: () => pipe.generate({ steps: 2 }), dispose: () => pipe.dispose() };
  }
  if (!(PRETRAINED_LAYERS_NAMES as readonly string[]).includes(model)) {
    throw new UsageError(`"${model}" is no zoo size or real model. Zoo: ${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}; real models: ${PRETRAINED_LAYERS_NAMES.join(', ')}.`);
  }
  const layers = await loadPretrained(model as LayersPretrainedName);
  const root = wrapLayersModel(layers);
  const shape = PRETRAINED_MODELS[model as LayersPretrainedName].inputShape.map((d, i) => (d === null ? (i === 0 ? 1 : 64) : d));
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
  return { roots: [root], run: () => layers.predict(x) as tf.Tensor, dispose: () => (x.dispose(), layers.dispose()) };
}

async function runTraceCommand(model: string, opts: TraceOptions, ctx: CommandContext): Promise<number> {
  if (!STRATEGY_PRESET_NAMES.includes(opts.strategy)) throw unknownChoice('strategy', 'strategies', opts.strategy, STRATEGY_PRESET_NAMES);
  checkBackend(opts.backend);
  await useBackend(opts.backend);
  const t = await target(model);
  try {
    // Host-tier weights: a resident run needs them on the device first.
    if (opts.strategy === 'resident') for (const root of t.roots) for (const p of root.parameters()) p.toDevice();
    const undo = applyPreset(opts.strategy, t.roots);
    try {
      const doc = memory.trace(() => tf.dispose(t.run()), { modules: t.roots });
      await writeFileAtomic(opts.out, JSON.stringify(doc));
      const slices = doc.traceEvents.filter((e) => e.ph === 'X' || e.ph === 'B').length;
      ctx.io.out(`memhooks trace: ${model} with ${opts.strategy} on ${opts.backend}: ${doc.traceEvents.length} events (${slices} slices) → ${opts.out}\n`);
      return EXIT.OK;
    } finally {
      undo();
    }
  } finally {
    t.dispose();
  }
}
