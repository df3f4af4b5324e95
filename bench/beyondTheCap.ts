/**
 * The `beyond-the-cap` benchmark: the zoo pipeline "xl", whose float32 weights (4.7 GB) are more than the
 * wasm heap can ever hold (4 GiB). Resident, it is refused up front by the device budget, with a clear
 * error and an intact heap. Generated straight into disk (no more than one shard of weights in host memory
 * at a time) and group-offloaded, it produces an image: read from the generated files (host tier), from
 * group files under offloadToDiskPath streamed by the transfer worker, and fp8-cast from the host. The smoke
 * run does the same with "tiny" under a budget set below its size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  DeviceBudgetExceededError,
  events,
  memory,
  type StrategyHandle,
  type TransferEvent,
} from '../src/index.js';
import {
  createDiffusionComponents,
  DIFFUSION_SIZES,
  diffusionParameterCounts,
  generateImage,
  type DiffusionComponents,
  type DiffusionSizeName,
  DIFFUSION_COMPONENT_NAMES,
} from '../src/zoo.js';
import type { BenchContext, Benchmark, SectionResult } from './framework.js';
import { FROM_START_NOTE, trackFromStart } from './peaks.js';

interface Run {
  name: string;
  ms: number;
  peakDeviceBytes: number;
  hostBytes: number;
  diskBytes: number;
  finite: boolean;
  shape: number[];
}

interface Build {
  ms: number;
  /** Most host bytes memhooks held (its ledger) when a shard was written: the shard buffer. */
  peakHeldBytes: number;
  /** Largest growth of the process' resident set over its size before building, sampled at each shard. */
  peakRssGrowth: number;
  fileBytes: number;
  shards: number;
}

const fileBytesUnder = (dir: string): number =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).reduce((n, e) => n + statSync(join(e.parentPath ?? e.path, e.name)).size, 0);

/** Generates the pipeline straight into `dir` (one sub-folder per component), measuring host memory at every shard. */
function buildOnDisk(size: DiffusionSizeName, dir: string, ctx: BenchContext): { c: DiffusionComponents; build: Build } {
  const rss0 = process.memoryUsage().rss;
  let peakHeldBytes = 0;
  let peakRssGrowth = 0;
  let shards = 0;
  const onShard = (e: TransferEvent): void => {
    if (e['to'] !== 'disk' || typeof e['hostBytesHeld'] !== 'number') return;
    shards++;
    peakHeldBytes = Math.max(peakHeldBytes, e['hostBytesHeld'] as number);
    peakRssGrowth = Math.max(peakRssGrowth, process.memoryUsage().rss - rss0);
  };
  events.on('offload', onShard);
  const t0 = performance.now();
  let c: DiffusionComponents;
  try {
    c = createDiffusionComponents(size, { tier: 'disk', dir, seed: 0 });
  } finally {
    events.off('offload', onShard);
  }
  const build = { ms: performance.now() - t0, peakHeldBytes, peakRssGrowth, fileBytes: fileBytesUnder(dir), shards };
  ctx.log(`built on disk in ${(build.ms / 1000).toFixed(1)} s: ${shards} shards, ${(build.fileBytes / 1e6).toFixed(0)} MB; host held at most ${(peakHeldBytes / 1e6).toFixed(1)} MB`);
  return { c, build };
}

type Variant = 'host' | 'disk' | 'fp8';

/**
 * Applies the strategies to the disk-tier components, generates one image (one step), and takes the group
 * offloading off again (every weight goes back to its generated file; the fp8 run, last, leaves its codes
 * on the host and the caller disposes the components).
 */
function offloaded(name: string, variant: Variant, c: DiffusionComponents, size: DiffusionSizeName, scratch: string, ctx: BenchContext): Run {
  let t0 = performance.now();
  const handles: StrategyHandle[] = [];
  try {
    for (const key of DIFFUSION_COMPONENT_NAMES) {
      if (variant === 'fp8') applyLayerwiseCasting(c[key], { storageDtype: 'float8_e4m3fn' });
      handles.push(
        applyGroupOffloading(c[key], {
          offloadType: 'block_level',
          numBlocksPerGroup: 1,
          useStream: true,
          ...(variant === 'disk' ? { offloadToDiskPath: join(scratch, 'groups', key) } : {}),
        }),
      );
    }
    ctx.log(`${name}: strategies applied in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const { latentSize, promptTokens } = DIFFUSION_SIZES[size];
    t0 = performance.now();
    // Every weight is on disk or the host between uses: the peak from the call's start is the pipeline's alone.
    const { result: image, peakDeviceBytes } = trackFromStart(() => generateImage(c, { steps: 1, latentSize, promptTokens, seed: 1 }));
    const values = image.dataSync();
    const ms = performance.now() - t0;
    const stats = memory.stats();
    const run = { name, ms, peakDeviceBytes, hostBytes: stats.hostBytes, diskBytes: stats.diskBytes, finite: values.every(Number.isFinite), shape: image.shape };
    image.dispose();
    ctx.log(`${name}: one image in ${(ms / 1000).toFixed(1)} s, peak device ${(peakDeviceBytes / 1e6).toFixed(0)} MB, host ${(stats.hostBytes / 1e6).toFixed(0)} MB`);
    return run;
  } finally {
    // Removing group offloading sends each weight back to its generated file: nothing comes onto the device.
    for (const h of handles.reverse()) h.remove();
  }
}

/** Asks for the pipeline resident and returns the refusal; then checks that the backend still computes. */
function resident(size: DiffusionSizeName): { refused: boolean; message: string; heapIntact: boolean } {
  let message = '';
  let refused = false;
  try {
    const c = createDiffusionComponents(size);
    for (const key of DIFFUSION_COMPONENT_NAMES) c[key].dispose();
  } catch (error) {
    refused = error instanceof DeviceBudgetExceededError;
    message = (error as Error).message;
  }
  const probe = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.fill([3, 2], 2)).dataSync()[0]);
  return { refused, message, heapIntact: probe === 6 };
}

export const beyondTheCapBenchmark: Benchmark = {
  name: 'beyond-the-cap',
  description: 'A pipeline bigger than the 4 GiB wasm heap: refused resident, runs group-offloaded from disk (and with fp8 casting)',
  async run(ctx: BenchContext) {
    const size: DiffusionSizeName = ctx.smoke ? 'tiny' : 'xl';
    const bytes = diffusionParameterCounts(size).total * 4;
    // The smoke run emulates the cap: a budget below tiny's weights.
    if (ctx.smoke) memory.setDeviceBudget(Math.floor(bytes / 2));
    try {
      const refusal = resident(size);
      ctx.log(`resident: ${refusal.refused ? 'refused' : 'NOT refused'}: ${refusal.message.slice(0, 160)}…`);
      const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-beyond-'));
      let build: Build;
      let runs: Run[];
      try {
        const built = buildOnDisk(size, join(scratch, 'weights'), ctx);
        build = built.build;
        try {
          runs = [
            offloaded('group block(1) + stream, host tier reading the generated files', 'host', built.c, size, scratch, ctx),
            offloaded('group block(1) + stream, from group files (offloadToDiskPath)', 'disk', built.c, size, scratch, ctx),
            offloaded('fp8 casting + group block(1) + stream, codes on the host', 'fp8', built.c, size, scratch, ctx),
          ];
        } finally {
          for (const key of DIFFUSION_COMPONENT_NAMES) built.c[key].dispose();
        }
      } finally {
        // The generated files are ours here (a scratch folder): removed with it.
        rmSync(scratch, { recursive: true, force: true });
      }
      const ok = refusal.refused && refusal.heapIntact && runs.every((r) => r.finite);
      const MB = 1e6;
      const section: SectionResult = {
        id: 'xl',
        title: `Zoo pipeline "${size}": ${(bytes / 1e9).toFixed(2)} GB of float32 weights on ${ctx.backend}`,
        description:
          `Resident: createDiffusionComponents("${size}") is refused by the device budget before any weight is made (${refusal.refused ? 'refused' : 'not refused'}; ` +
          `the backend computes correctly afterwards: ${refusal.heapIntact}). Message: "${refusal.message}" ` +
          'Offloaded: generated straight into disk (see the next section), then every component group-offloaded at block level (one block per group) with useStream: ' +
          'float32 read from the generated files (host tier: nothing kept in host memory between uses), float32 from group files written under offloadToDiskPath ' +
          '(streamed by the transfer worker; "disk MB" counts those files, not the generated ones), and fp8 codes (cast from the files) on the host. ' +
          'Group offloading is removed between runs: the weights go back to their files, never onto the device. ' +
          'One Euler step and the VAE decode, timed once (a measurement of feasibility, not a median). ' +
          FROM_START_NOTE,
        table: {
          columns: ['variant', 's per image (1 step)', 'peak device MB', 'host MB held', 'disk MB', 'output'],
          rows: [
            ['resident', '—', '—', '—', '—', refusal.refused ? 'refused up front' : 'not refused'],
            ...runs.map((r) => [r.name, r.ms / 1000, r.peakDeviceBytes / MB, r.hostBytes / MB, r.diskBytes / MB, r.finite ? `[${r.shape.join(', ')}], finite` : 'NOT finite']),
          ],
        },
        samples: Object.fromEntries(runs.map((r) => [r.name, [r.ms * 1e6]])),
        metrics: Object.fromEntries(runs.flatMap((r, i) => [[`msPerImage_${i}`, r.ms], [`peakDeviceMB_${i}`, r.peakDeviceBytes / MB]])),
        targets: [],
        // Pass/fail of the whole point: refused resident, completed offloaded with finite output.
        check: { maxAbsDiff: ok ? 0 : Infinity, tolerance: 0, against: 'refusal resident, finite output offloaded', leakedTensors: 0 },
      };
      const generated: SectionResult = {
        id: 'generate',
        title: `Generating "${size}" straight into disk`,
        description:
          `createDiffusionComponents("${size}", { tier: 'disk', dir }): each weight is generated, joins a shard buffer (64 MiB by default) and is written with its shard ` +
          '(atomically: temp file, fsync, rename), then released. "host held" is what memhooks held in host memory (its ledger) when each shard was written: ' +
          'one shard buffer, not the model. "RSS growth" is the largest growth of the process resident set over its size before building, sampled at each shard ' +
          '(it includes garbage not yet collected). Timed once.',
        table: {
          columns: ['float32 weights MB', 'files MB', 'shards', 'build s', 'peak host held MB', 'peak RSS growth MB'],
          rows: [[bytes / MB, build.fileBytes / MB, build.shards, build.ms / 1000, build.peakHeldBytes / MB, build.peakRssGrowth / MB]],
        },
        samples: { build: [build.ms * 1e6] },
        metrics: { buildMs: build.ms, peakHostHeldMB: build.peakHeldBytes / MB, peakRssGrowthMB: build.peakRssGrowth / MB, filesMB: build.fileBytes / MB, modelMB: bytes / MB },
        targets: [],
        // The point: host memory held while generating stays far below the model (a tenth at most).
        check: { maxAbsDiff: build.peakHeldBytes <= bytes / 10 || ctx.smoke ? 0 : Infinity, tolerance: 0, against: 'peak host held ≤ a tenth of the model', leakedTensors: 0 },
      };
      return { name: 'beyond-the-cap', title: 'beyond-the-cap: a pipeline larger than the wasm heap', sections: [section, generated] };
    } finally {
      if (ctx.smoke) memory.setDeviceBudget(undefined);
    }
  },
};
