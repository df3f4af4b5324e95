/**
 * The `graph` benchmark: a real tfjs-converter GraphModel no one here wrote (the catalog's nsfwjs MobileNetV2
 * "mid", 16.4 MiB of float32 weights) wrapped with wrapGraphModel and run through `model.execute`:
 *
 * 1. what wrapping itself costs: unwrapped against wrapped with no strategy, one copy of the weights, wrapped or
 *    unwrapped (untimed) before each sample, interleaved round by round;
 * 2. resident against the pure offloading strategies (leaf + stream, block(1), disk + stream): time ratio to
 *    resident, device peak, weight bytes left on the device between calls, host bytes, and the output, which
 *    must be bitwise the resident one; and leaf + stream with the model wrapped with hostWeights: 'shipped' (the
 *    host keeps the shipped uint8 codes, the transfer worker dequantizes them), with the host bytes it saves.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  applyGroupOffloading,
  memory,
  unwrapGraphModel,
  wrapGraphModel,
  type GroupOffloadingOptions,
  type StrategyHandle,
} from '../src/index.js';
import type { Module } from '../src/models/Module.js';
import { loadPretrained } from '../src/zoo.js';
import {
  countOf,
  interleave,
  maxAbsDiff,
  median,
  pairedRatio,
  skippedForMissingPeer,
  target,
  type BenchContext,
  type Benchmark,
  type BenchResult,
  type SectionResult,
} from './framework.js';
import { aloneNote, deviceBaseline } from './peaks.js';
import { keepOnHost, maxAbsDiffToHost } from './hostReference.js';
import { measureUploadCost } from './uploadCost.js';
import { countOnloadedBytes } from './onloadCounter.js';

const MODEL = 'mobilenet-v2-mid-nsfw';
type Graph = Awaited<ReturnType<typeof loadPretrained<typeof MODEL>>>;

/** The model's input: one 224² RGB image, pixels 0–1 (as nsfwjs feeds it). */
function makeInput(): tf.Tensor {
  return tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 42);
}

/** Smoke runs only check that it runs: one round (an execute takes about 2 s on the cpu backend). */
function roundsFor(ctx: BenchContext): number {
  return ctx.smoke ? 1 : ctx.runs;
}

function leakedDuring(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}

/** Wrapping's own price: the executor's run unwrapped and wrapped with nothing applied (BENCHMARKS.md: ≤ 1.02×). */
function overheadSection(ctx: BenchContext, model: Graph): SectionResult {
  const iterations = ctx.smoke ? 1 : 3;
  const x = makeInput();
  const execute = (n: number): void => {
    for (let k = 0; k < n; k++) (model.execute(x) as tf.Tensor).dispose();
  };
  const deviceBefore = memory.stats().deviceBytes;
  const modules = wrapGraphModel(model).modules().length;
  const addedByWrapping = memory.stats().deviceBytes - deviceBefore;
  const variants = [
    { name: 'unwrapped execute', before: () => unwrapGraphModel(model), sample: execute },
    {
      name: 'wrapped execute, no strategy',
      before: () => {
        unwrapGraphModel(model);
        wrapGraphModel(model);
      },
      sample: execute,
    },
  ];
  let samples: Record<string, number[]> = {};
  let diff = NaN;
  const leakedTensors = leakedDuring(() => {
    samples = interleave(variants, { rounds: roundsFor(ctx), iterations, warmupRounds: ctx.smoke ? 0 : 2 });
    const outputs = variants.map((v) => {
      v.before();
      return model.execute(x) as tf.Tensor;
    });
    diff = maxAbsDiff(outputs[1]!, outputs[0]!);
    tf.dispose(outputs);
    unwrapGraphModel(model);
  });
  x.dispose();
  const ratio = pairedRatio(samples['wrapped execute, no strategy']!, samples['unwrapped execute']!);
  const ms = (v: string): number => median(samples[v]!) / 1e6;
  return {
    id: 'overhead',
    title: `Wrapping's own overhead (${MODEL}, model.execute)`,
    description:
      `One copy of ${MODEL} executing one [1, 224, 224, 3] input, ${countOf(iterations, 'call')} per sample, unwrapped and wrapped ` +
      `(${modules} modules, no strategy, no hook), wrapped or unwrapped untimed before each sample so both run the same weight ` +
      `tensors; interleaved round by round, the ratio is the median of per-round ratios. Wrapping added ${addedByWrapping} device bytes.`,
    table: {
      columns: ['variant', 'ms per execute', 'ratio to unwrapped'],
      rows: variants.map((v) => [v.name, ms(v.name), pairedRatio(samples[v.name]!, samples['unwrapped execute']!)]),
    },
    samples,
    metrics: { modules, deviceBytesAddedByWrapping: addedByWrapping, ratio_wrapped: ratio, msPerExecute_unwrapped: ms('unwrapped execute'), msPerExecute_wrapped: ms('wrapped execute, no strategy') },
    targets: [target('execute wrapped, no strategy / unwrapped', ratio, 1.02, '×')],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the unwrapped execute', leakedTensors },
  };
}

interface GraphVariant {
  name: string;
  /** Whether it moves weights onto the device during a call (then it has a transfer floor). */
  moves: boolean;
  /** How the model is wrapped for it (wrapGraphModel's hostWeights; 'float32' when absent). */
  hostWeights?: 'shipped';
  apply(root: Module, scratch: string): StrategyHandle[];
}

/**
 * The module whose children are MobileNetV2's blocks. A graph has no ModuleList, and the root's children are a
 * wrapper scope holding nearly every weight and the input scope: block(1) on the bare root would be one group
 * of everything, so the blocks are named (blockModules), one group each; the few other weights (the input
 * scaling) form the root's rest group, onloaded for the whole call.
 */
const BLOCKS_PATH = 'sequential.predict.MobilenetV2';

function blockOne(root: Module): GroupOffloadingOptions {
  const blockModules = root.getSubmodule(BLOCKS_PATH).namedChildren().map(([name]) => `${BLOCKS_PATH}.${name}`);
  return { offloadType: 'block_level', numBlocksPerGroup: 1, blockModules };
}

const LEAF_STREAM = { offloadType: 'leaf_level', useStream: true } as const;
const SHIPPED = 'leaf + stream, shipped uint8 on the host';
const group = (root: Module, options: GroupOffloadingOptions): StrategyHandle[] => [applyGroupOffloading(root, options)];

const VARIANTS: readonly GraphVariant[] = [
  { name: 'resident', moves: false, apply: () => [] },
  { name: 'group leaf + stream', moves: true, apply: (root) => group(root, LEAF_STREAM) },
  { name: 'group block(1)', moves: true, apply: (root) => group(root, blockOne(root)) },
  { name: 'disk leaf + stream', moves: true, apply: (root, scratch) => group(root, { ...LEAF_STREAM, offloadToDiskPath: scratch }) },
  { name: SHIPPED, moves: true, hostWeights: 'shipped', apply: (root) => group(root, LEAF_STREAM) },
];

interface Measured {
  ns: number[];
  peakAlone: number;
  peakFromStart: number;
  weightBytesBetween: number;
  hostBytes: number;
  onloadBytes: number;
  diff: number;
}

const MB = 1e6;

/**
 * Every variant applied to the wrapped model, one untimed execute (streams record their order, XNNPACK packs),
 * one timed execute, then removed; variants take turns round by round (rotating start) so drift hits all alike.
 */
function strategiesSection(ctx: BenchContext, model: Graph, leftover: number): SectionResult {
  const hostLeftover = memory.stats().hostBytes;
  let root = wrapGraphModel(model);
  let wrappedAs: 'float32' | 'shipped' = 'float32';
  const x = makeInput();
  const reference = keepOnHost(model.execute(x) as tf.Tensor);
  const residentWeightBytes = root.memoryFootprint().device;
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-bench-graph-'));
  const results = new Map<string, Measured>(
    VARIANTS.map((v) => [v.name, { ns: [], peakAlone: 0, peakFromStart: 0, weightBytesBetween: 0, hostBytes: 0, onloadBytes: 0, diff: 0 }]),
  );
  // The serial part of a transfer on this backend (on wasm: the copy into the heap and XNNPACK's re-pack).
  const msPerMiB = measureUploadCost(ctx.smoke ? 1 : 5);
  // Bytes moved onto the device by one call (onloads and immediate prefetches).
  const onloaded = countOnloadedBytes();
  const rounds = roundsFor(ctx);
  const before = tf.memory().numTensors;
  let leaked = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(round + k) % VARIANTS.length]!;
        const r = results.get(v.name)!;
        // Untimed: the shipped row needs the model wrapped with hostWeights: 'shipped', the others the default.
        if ((v.hostWeights ?? 'float32') !== wrappedAs) {
          wrappedAs = v.hostWeights ?? 'float32';
          unwrapGraphModel(model);
          root = wrapGraphModel(model, { hostWeights: wrappedAs });
        }
        const handles = v.apply(root, scratch);
        try {
          tf.dispose(model.execute(x) as tf.Tensor);
          onloaded.reset();
          const atStart = memory.stats().deviceBytes;
          const t0 = process.hrtime.bigint();
          const { result, peakDeviceBytes } = memory.track(() => model.execute(x) as tf.Tensor);
          result.dataSync();
          r.ns.push(Number(process.hrtime.bigint() - t0));
          r.peakAlone = Math.max(r.peakAlone, peakDeviceBytes - leftover);
          r.peakFromStart = Math.max(r.peakFromStart, peakDeviceBytes - atStart);
          r.weightBytesBetween = Math.max(r.weightBytesBetween, root.memoryFootprint().device);
          r.hostBytes = Math.max(r.hostBytes, memory.stats().hostBytes - hostLeftover);
          r.onloadBytes = onloaded.bytes;
          r.diff = Math.max(r.diff, maxAbsDiffToHost(result, reference));
          result.dispose();
        } finally {
          for (const h of handles.reverse()) h.remove();
        }
      }
      ctx.log(`graph round ${round + 1}/${rounds}`);
    }
    leaked = tf.memory().numTensors - before;
  } finally {
    onloaded.stop();
    x.dispose();
    unwrapGraphModel(model);
    rmSync(scratch, { recursive: true, force: true });
  }
  const resident = results.get('resident')!;
  const residentMs = median(resident.ns) / 1e6;
  const metrics: Record<string, number> = { residentWeightBytes, leftoverDeviceBytes: leftover, msPerExecute_resident: residentMs, uploadMsPerMiB: msPerMiB };
  const rows = VARIANTS.map((v) => {
    const r = results.get(v.name)!;
    const ratio = pairedRatio(r.ns, resident.ns);
    const key = v.name.replace(/[^a-z0-9]+/gi, '_');
    const ms = median(r.ns) / 1e6;
    // Single-thread floor: the resident compute plus the serial upload of the bytes this call moved.
    const floor = residentMs + (r.onloadBytes / 2 ** 20) * msPerMiB;
    if (v.moves) Object.assign(metrics, { [`floorMs_${key}`]: floor, [`efficiency_${key}`]: floor / ms, [`ratioToFloor_${key}`]: ms / floor });
    Object.assign(metrics, {
      [`onloadBytes_${key}`]: r.onloadBytes,
      [`ratio_${key}`]: ratio,
      [`peakDeviceBytes_${key}`]: r.peakAlone,
      [`peakFromStartBytes_${key}`]: r.peakFromStart,
      [`weightBytesBetweenCalls_${key}`]: r.weightBytesBetween,
      [`hostBytes_${key}`]: r.hostBytes,
      [`maxAbsDiff_${key}`]: r.diff,
    });
    return [v.name, ms, ratio, v.moves ? floor : '—', v.moves ? floor / ms : '—', r.onloadBytes / MB, r.peakAlone / MB, r.peakFromStart / MB, r.weightBytesBetween / MB, r.hostBytes / MB, r.diff];
  });
  const worst = Math.max(...[...results.values()].map((r) => r.diff));
  const floatHost = results.get('group leaf + stream')!.hostBytes;
  const shippedHost = results.get(SHIPPED)!.hostBytes;
  metrics['hostBytesSaved_shipped'] = floatHost - shippedHost;
  return {
    id: 'strategies',
    title: `Strategies through the graph (${MODEL}, model.execute)`,
    description:
      `The wrapped model executing one [1, 224, 224, 3] input; each strategy applied, one untimed execute, one timed (read back), ` +
      `then removed; block(1) is one group per MobileNetV2 block (\`blockModules\`: the children of \`${BLOCKS_PATH}\`). ` +
      `${countOf(rounds, 'round')}, the variants interleaved with a rotating start; ratios are medians of per-round ` +
      `ratios to resident. Resident weights: ${(residentWeightBytes / MB).toFixed(1)} MB. ${aloneNote(leftover)} ` +
      'Peak added by the call: memory.track\'s peak above the device bytes when the timed execute started (for resident that leaves out ' +
      'its weights). Weight MB between calls: the tree\'s device footprint after the call; host MB: the ledger\'s host bytes above ' +
      'the start of the section (pinned copies and staging). ' +
      `"${SHIPPED}": the model wrapped with hostWeights: 'shipped', so the host keeps each weight's shipped uint8 codes and the ` +
      `transfer worker dequantizes them into the staging slots; host MB ${(shippedHost / MB).toFixed(2)} against ` +
      `${(floatHost / MB).toFixed(2)} for the float32 leaf + stream row: ${((floatHost - shippedHost) / MB).toFixed(2)} MB saved. ` +
      `Floor (single thread, BENCHMARKS.md): resident compute + MiB onloaded × ${msPerMiB.toFixed(3)} ms per MiB, the serial upload cost ` +
      'measured in the same run (uploadCost.ts: heap copy and XNNPACK re-pack on wasm); efficiency = floor / measured.',
    table: {
      columns: ['variant', 'ms per execute', 'ratio to resident', 'floor ms', 'efficiency', 'MB onloaded per call', 'peak device MB', 'peak added by the call MB', 'weight MB between calls', 'host MB', 'max abs diff'],
      rows,
    },
    samples: Object.fromEntries([...results].map(([name, r]) => [name, r.ns])),
    metrics,
    targets: [target('group leaf + stream / its floor', metrics['ratioToFloor_group_leaf_stream']!, 1.1, '×')],
    // Offloading only moves the same float32 bits: every row must equal resident exactly.
    check: { maxAbsDiff: worst, tolerance: 0, against: 'resident execute (offloading moves the same bits)', leakedTensors: leaked },
  };
}

export const graphBenchmark: Benchmark = {
  name: 'graph',
  description: `a real GraphModel (${MODEL}) wrapped: wrapping overhead vs unwrapped (target ≤ 1.02×), then resident, leaf + stream, block(1), disk + stream, and leaf + stream with the shipped uint8 codes on the host`,
  async run(ctx): Promise<BenchResult> {
    const title = 'graph: a real GraphModel wrapped';
    const leftover = deviceBaseline();
    let model: Graph;
    try {
      model = await loadPretrained(MODEL);
    } catch (error) {
      const skipped = skippedForMissingPeer('graph', `${MODEL} (a tfjs-converter GraphModel)`, error);
      if (skipped !== undefined) return { name: 'graph', title, sections: [skipped] };
      throw error;
    }
    try {
      const overhead = overheadSection(ctx, model);
      ctx.log(`  ${overhead.title}: done`);
      const strategies = strategiesSection(ctx, model, leftover);
      ctx.log(`  ${strategies.title}: done`);
      return { name: 'graph', title, sections: [overhead, strategies] };
    } finally {
      model.dispose();
    }
  },
};
