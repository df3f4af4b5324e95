/**
 * The `prefetch` benchmark (BENCHMARKS.md): how close streamed group offloading gets to its physical floor
 * as the ratio of transfer to compute varies with the batch size (small batch → transfer-bound, large
 * batch → compute-bound), on a 24-block model.
 *
 * Floor, per BENCHMARKS.md for a single-threaded backend: max(compute + serial transfer, overlappable
 * transfer). For host-tier float32 weights on wasm nothing can run off the kernels' thread: the transfer is
 * the copy into the wasm heap plus XNNPACK's re-pack of each matmul weight at its first use, both serial.
 * "transfer alone" measures exactly that: every block's weights uploaded and used once on a single row,
 * minus the same single-row forward with the weights resident.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, events, Linear, Module, ModuleList, type StrategyHandle, type TransferEvent } from '../src/index.js';
import { interleave, maxAbsDiff, median, pairedRatio, target, type BenchContext, type Benchmark, type SectionResult, type Variant } from './framework.js';
import { FROM_START_NOTE, trackFromStart } from './peaks.js';

/** `blocks` Linear(dim, dim) layers with a ReLU between them. */
export class BlockStack extends Module {
  blocks: ModuleList<Linear>;
  constructor(readonly dim: number, count: number) {
    super();
    this.blocks = new ModuleList(Array.from({ length: count }, () => new Linear(dim, dim)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const b of this.blocks) h = tf.relu(b.forward(h));
    return h;
  }
}

/** A copy of `src` with the same weights. */
export function cloneStack(src: BlockStack): BlockStack {
  const copy = new BlockStack(src.dim, src.blocks.length);
  for (const [path, p] of copy.namedParameters()) p.assign(src.getParameter(path).read());
  return copy;
}

/** Most weight bytes on the device at once during fn, counted from onload/offload events. */
export function peakOnloadedBytes(fn: () => void): number {
  let now = 0;
  let peak = 0;
  const on = (e: TransferEvent) => (peak = Math.max(peak, (now += e.bytes)));
  const off = (e: TransferEvent) => (now -= e.bytes);
  events.on('onload', on);
  events.on('offload', off);
  try {
    fn();
  } finally {
    events.off('onload', on);
    events.off('offload', off);
  }
  return peak;
}

const weightBytes = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);
const ms = (ns: number): number => ns / 1e6;

/** The serial transfer of `model`'s weights: each block uploaded and used once on one row (the re-pack), then dropped. */
function transferOnce(model: BlockStack, row: tf.Tensor): void {
  tf.tidy(() => {
    let h = row;
    for (const b of model.blocks) {
      for (const p of b.parameters()) p.toDevice({ keepHostCopy: true });
      h = b.forward(h);
      for (const p of b.parameters()) p.toHost();
    }
    h.dataSync();
  });
}

async function point(ctx: BenchContext, base: BlockStack, batch: number): Promise<SectionResult> {
  const x = tf.randomNormal([batch, base.dim], 0, 1, 'float32', 29);
  const row = tf.randomNormal([1, base.dim], 0, 1, 'float32', 31);
  const resident = cloneStack(base);
  const shipped = cloneStack(base);
  for (const p of shipped.parameters()) p.toHost();
  const leaf = cloneStack(base);
  const block = cloneStack(base);
  const handles: StrategyHandle[] = [
    applyGroupOffloading(leaf, { offloadType: 'leaf_level', useStream: true }),
    applyGroupOffloading(block, { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }),
  ];
  const run = (m: Module) => (n: number) => {
    for (let i = 0; i < n; i++) tf.tidy(() => void (m.forward(x) as tf.Tensor).dataSync());
  };
  const variants: Variant[] = [
    { name: 'resident', sample: run(resident) },
    { name: 'resident, one row', sample: (n) => { for (let i = 0; i < n; i++) tf.tidy(() => void (resident.forward(row) as tf.Tensor).dataSync()); } },
    { name: 'transfer alone, one row', sample: (n) => { for (let i = 0; i < n; i++) transferOnce(shipped, row); } },
    { name: 'leaf + stream', sample: run(leaf) },
    { name: 'block + stream', sample: run(block) },
  ];
  const refOut = resident.forward(x) as tf.Tensor;
  // First forwards record the execution order; prefetch works from the second on.
  for (const m of [leaf, block]) (m.forward(x) as tf.Tensor).dispose();
  const leafOut = leaf.forward(x) as tf.Tensor;
  const blockOut = block.forward(x) as tf.Tensor;
  const diff = Math.max(maxAbsDiff(refOut, leafOut), maxAbsDiff(refOut, blockOut));
  const tensors = tf.memory().numTensors;
  const samples = interleave(variants, { rounds: ctx.runs, iterations: 1, warmupRounds: 2 });
  const leaked = tf.memory().numTensors - tensors;
  const med = (k: string) => median(samples[k]!);
  const compute = med('resident');
  // Serial transfer per round: uploads and first uses minus the same one-row compute, paired round by round.
  const serialRounds = samples['transfer alone, one row']!.map((t, i) => Math.max(0, t - samples['resident, one row']![i]!));
  const serial = median(serialRounds);
  const floorRounds = samples['resident']!.map((c, i) => c + serialRounds[i]!);
  const floor = median(floorRounds);
  const total = weightBytes(base);
  const deviceLeaf = peakOnloadedBytes(() => (leaf.forward(x) as tf.Tensor).dispose());
  const deviceBlock = peakOnloadedBytes(() => (block.forward(x) as tf.Tensor).dispose());
  // From the start of the forward: the resident copies and the outputs above stay on the device meanwhile.
  const peakLeaf = trackFromStart(() => (leaf.forward(x) as tf.Tensor).dispose()).peakDeviceBytes;
  const leafVsFloor = pairedRatio(samples['leaf + stream']!, floorRounds);
  const blockVsFloor = pairedRatio(samples['block + stream']!, floorRounds);
  const row_ = (name: string, vsFloor: number | string, weights: number | string) => [
    name,
    ms(med(name)),
    pairedRatio(samples[name]!, samples['resident']!),
    vsFloor,
    typeof vsFloor === 'number' ? 1 / vsFloor : '',
    weights,
  ];
  const result: SectionResult = {
    id: `batch-${batch}`,
    title: `batch ${batch}`,
    description:
      `${base.blocks.length} × Linear(${base.dim}, ${base.dim}) (${(total / 2 ** 20).toFixed(1)} MiB of float32 weights), input [${batch}, ${base.dim}]. ` +
      `compute ${ms(compute).toFixed(2)} ms, serial transfer ${ms(serial).toFixed(2)} ms (upload + XNNPACK re-pack), overlappable transfer 0 ms ` +
      `(host-tier float32: nothing for the worker to do), floor = compute + serial = ${ms(floor).toFixed(2)} ms. ` +
      `Device weight bytes: the most bytes onloaded at once during a forward. leafPeakDeviceBytes (JSON): ${FROM_START_NOTE}`,
    table: {
      columns: ['variant', 'ms', '× resident', '× floor', 'efficiency', 'device weight bytes % of resident'],
      rows: [
        row_('resident', '', 100),
        ['transfer alone (serial)', ms(serial), '', '', '', ''],
        ['floor: max(compute + serial, overlappable)', ms(floor), '', 1, 1, ''],
        row_('leaf + stream', leafVsFloor, (100 * deviceLeaf) / total),
        row_('block + stream', blockVsFloor, (100 * deviceBlock) / total),
      ],
    },
    samples,
    metrics: {
      batch,
      computeMs: ms(compute),
      serialTransferMs: ms(serial),
      floorMs: ms(floor),
      leafStreamMs: ms(med('leaf + stream')),
      blockStreamMs: ms(med('block + stream')),
      leafVsFloor,
      blockVsFloor,
      leafEfficiency: 1 / leafVsFloor,
      blockEfficiency: 1 / blockVsFloor,
      leafDeviceWeightFraction: deviceLeaf / total,
      blockDeviceWeightFraction: deviceBlock / total,
      leafPeakDeviceBytes: peakLeaf,
      residentWeightBytes: total,
    },
    targets: [
      target('leaf + stream vs floor', leafVsFloor, 1.1, '×'),
      target('leaf + stream device weight bytes', (100 * deviceLeaf) / total, 10, '% of resident'),
    ],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the resident model', leakedTensors: leaked },
  };
  handles.forEach((h) => h.remove());
  for (const m of [resident, shipped, leaf, block]) m.dispose();
  tf.dispose([x, row, refOut, leafOut, blockOut]);
  return result;
}

export const prefetchBenchmark: Benchmark = {
  name: 'prefetch',
  description: 'streamed group offloading (leaf and block level) against max(compute + serial transfer, overlappable transfer), batch sweep on a 24-block model',
  async run(ctx) {
    const dim = ctx.smoke ? 32 : 512;
    const batches = ctx.smoke ? [1, 8] : [1, 16, 64, 256];
    const base = new BlockStack(dim, 24);
    const sections: SectionResult[] = [];
    for (const batch of batches) {
      const s = await point(ctx, base, batch);
      ctx.log(`  batch ${batch}: leaf + stream ${s.metrics.leafVsFloor!.toFixed(3)}× floor, block + stream ${s.metrics.blockVsFloor!.toFixed(3)}× floor`);
      sections.push(s);
    }
    base.dispose();
    return { name: 'prefetch', title: 'prefetch: streamed group offloading against its floor', sections };
  },
};
