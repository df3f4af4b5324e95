/**
 * The `casting` benchmark (BENCHMARKS.md): what layerwise casting costs.
 *
 * 1. decode: ms per million weights for each storage dtype and decode site: the bare JS loop (what a
 *    worker runs), the host site (read the packed codes, decode, make the float32 tensor) and the device
 *    site (unpack with int32 ops, gather from a lookup table);
 * 2. forward: a 52 M-parameter MLP, resident float32 against fp8 and bf16 casting and fp8 casting + leaf-level
 *    group offloading with stream, from host memory and from disk (the transfer worker reads and decodes the
 *    next layer while one computes), at a transfer-bound and compute-bound batches. Its weights are
 *    pre-rounded to float8_e4m3fn values, which every storage dtype holds exactly, so every variant must
 *    give the resident output bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { bytesPerCode, LOW_PRECISION_DTYPES } from '../src/dtypes/formats.js';
import { DECODE_WORKER_SOURCE } from '../src/dtypes/workerSource.js';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  events,
  Linear,
  memory,
  Module,
  ModuleList,
  Parameter,
  type LowPrecisionDtype,
  type TransferEvent,
} from '../src/index.js';
import { decodeInto } from '../src/dtypes/decode.js';
import { decodeOnDevice, decodeOnHost } from '../src/strategies/layerwise-casting/decodeSites.js';
import { decodePacked, encodePacked } from '../src/dtypes/bulk.js';
import { countOf, interleave, maxAbsDiff, median, pairedRatio, target, type BenchContext, type Benchmark, type SectionResult, type Variant } from './framework.js';
import { measureUploadCost } from './uploadCost.js';

const SITES = ['JS loop', 'worker', 'host site', 'device site'] as const;

/**
 * A worker thread running the decoder source (DECODE_WORKER_SOURCE, what a transfer worker embeds) over
 * SharedArrayBuffers; the main thread posts a job and blocks on Atomics.wait, as a hook waiting for a
 * prefetch would. Its time includes the hand-off.
 */
class DecodeWorker {
  private readonly worker = new Worker(
    `${DECODE_WORKER_SOURCE}
     const { parentPort } = require('node:worker_threads');
     parentPort.on('message', ({ dtype, codes, out, flag, n, bytes }) => {
       const view = bytes === 2 ? new Uint16Array(codes, 0, n) : new Uint8Array(codes, 0, n);
       decodeInto(dtype, view, new Float32Array(out, 0, n));
       const f = new Int32Array(flag);
       Atomics.store(f, 0, 1);
       Atomics.notify(f, 0);
     });`,
    { eval: true },
  );
  private readonly flag = new SharedArrayBuffer(4);

  decode(dtype: LowPrecisionDtype, codes: SharedArrayBuffer, out: SharedArrayBuffer, n: number): void {
    const f = new Int32Array(this.flag);
    Atomics.store(f, 0, 0);
    this.worker.postMessage({ dtype, codes, out, flag: this.flag, n, bytes: bytesPerCode(dtype) });
    Atomics.wait(f, 0, 0, 60_000);
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

function sharedCopy(codes: Uint16Array | Uint8Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(codes.byteLength);
  new Uint8Array(shared).set(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength));
  return shared;
}

function leaked(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}

async function decodeSection(ctx: BenchContext): Promise<SectionResult> {
  const n = ctx.smoke ? 4096 : 2 ** 21;
  const rounds = Math.min(ctx.runs, 7);
  const values = tf.tidy(() => tf.mul(tf.randomNormal([n], 0, 1, 'float32', 13), 0.05)).dataSync() as Float32Array;
  const params = new Map<LowPrecisionDtype, Parameter>();
  const out = new Float32Array(n);
  const worker = new DecodeWorker();
  const shared = new SharedArrayBuffer(n * 4);
  const variants: Variant[] = [];
  for (const dtype of LOW_PRECISION_DTYPES) {
    const p = new Parameter(tf.tensor1d(values)).castStorage(dtype);
    params.set(dtype, p);
    const codes = encodePacked(dtype, values).codes;
    const sharedCodes = sharedCopy(codes);
    variants.push(
      { name: `${dtype} JS loop`, sample: (k) => { for (let i = 0; i < k; i++) decodeInto(dtype, codes, out); } },
      { name: `${dtype} worker`, sample: (k) => { for (let i = 0; i < k; i++) worker.decode(dtype, sharedCodes, shared, n); } },
      { name: `${dtype} host site`, sample: (k) => { for (let i = 0; i < k; i++) decodeOnHost(p).dispose(); } },
      { name: `${dtype} device site`, sample: (k) => { for (let i = 0; i < k; i++) decodeOnDevice(p).dispose(); } },
    );
  }
  let samples: Record<string, number[]> = {};
  const leakedTensors = leaked(() => {
    samples = interleave(variants, { rounds, iterations: 1 });
  });
  const msPerMillion = (name: string): number => median(samples[name]!) / 1e6 / (n / 1e6);
  const metrics: Record<string, number> = {};
  const rows = LOW_PRECISION_DTYPES.map((dtype) => {
    const row: Array<string | number> = [dtype];
    for (const site of SITES) {
      const v = msPerMillion(`${dtype} ${site}`);
      metrics[`msPerMillion_${dtype}_${site.replace(' ', '_')}`] = v;
      row.push(v);
    }
    const ratio = pairedRatio(samples[`${dtype} device site`]!, samples[`${dtype} host site`]!);
    metrics[`deviceOverHost_${dtype}`] = ratio;
    row.push(ratio);
    return row;
  });
  // The sites must agree bit for bit (and with the pure decoder and the worker's).
  let diff = 0;
  for (const [dtype, p] of params) {
    const host = decodeOnHost(p);
    const device = decodeOnDevice(p);
    const pure = tf.tensor1d(decodePacked(encodePacked(dtype, values)));
    worker.decode(dtype, sharedCopy(encodePacked(dtype, values).codes), shared, n);
    const fromWorker = tf.tensor1d(new Float32Array(shared).slice());
    diff = Math.max(diff, maxAbsDiff(host, device), maxAbsDiff(host, pure), maxAbsDiff(host, fromWorker));
    tf.dispose([host, device, pure, fromWorker]);
    p.dispose();
  }
  await worker.close();
  return {
    id: 'decode',
    title: 'Decode cost per storage dtype and site',
    description:
      `${n.toLocaleString('en-US')} weights (normal, σ 0.05), one decode per sample, medians of ${countOf(rounds, 'interleaved round')}. "JS loop": decodeInto over typed arrays, what the ` +
      'host site runs. "worker": the same loop on a worker thread over SharedArrayBuffers (DECODE_WORKER_SOURCE), hand-off ' +
      'included; it runs beside the kernels. "host site": read the packed codes from the backend, decode, make the float32 tensor ' +
      '(the decode site memhooks picks on cpu and wasm). "device site": int32 unpacking and a lookup-table gather with tfjs ops.',
    table: { columns: ['storage dtype', 'JS loop (ms / M weights)', 'worker (ms / M)', 'host site (ms / M)', 'device site (ms / M)', 'device / host'], rows },
    samples,
    metrics,
    targets: [],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'each other and the pure decoder', leakedTensors },
  };
}

/** A stack of square Linear layers with ReLU: 8 × 2560² ≈ 52.4 M parameters (smoke: 2 × 64²). */
class Mlp extends Module {
  layers: ModuleList<Linear>;
  constructor(dim: number, depth: number) {
    super();
    this.layers = new ModuleList(Array.from({ length: depth }, () => new Linear(dim, dim)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const layer of this.layers) h = tf.relu(layer.forward(h));
    return h;
  }
}

/** Rounds every weight to a float8_e4m3fn value, so that no storage dtype loses anything. */
function roundWeightsToFp8(m: Module): void {
  for (const p of m.parameters()) {
    const rounded = decodePacked(encodePacked('float8_e4m3fn', p.read().dataSync() as Float32Array));
    const t = tf.tensor(rounded, p.shape as number[]);
    p.assign(t);
    t.dispose();
  }
}

function copyInto(from: Module, to: Module): void {
  const target = to.parameters();
  from.parameters().forEach((p, i) => target[i]!.assign(p.read()));
}

const HOST_STREAM = 'fp8 casting + leaf offload + stream';
const DISK_STREAM = 'fp8 casting + leaf offload + disk + stream';

/** Which storage dtype a variant decodes on the main thread (host site), for its transfer floor. */
const DTYPE_OF: Record<string, LowPrecisionDtype | undefined> = {
  'fp8 casting': 'float8_e4m3fn',
  'bf16 casting': 'bfloat16',
};
/** Variants whose decode runs on the transfer worker, beside the kernels: only the upload stays serial. */
const WORKER_DECODED = new Set([HOST_STREAM, DISK_STREAM]);
/**
 * The variants timed at each batch after the first (a forward takes seconds there; the full benchmark must stay
 * within minutes): at the compute-bound batch everything but bf16 (whose cost differs from fp8's only by the
 * decode, measured above); at the largest only the comparison the target needs.
 */
const AT_COMPUTE_BOUND = new Set(['resident float32', 'fp8 casting', HOST_STREAM, DISK_STREAM]);
const AT_LARGEST = new Set(['resident float32', HOST_STREAM]);

/** How many weights were decoded on the worker during `fn` (from the 'cast' events). */
function workerDecodes(fn: () => void): number {
  let n = 0;
  const on = (e: TransferEvent): void => {
    if (e.site === 'worker') n++;
  };
  events.on('cast', on);
  try {
    fn();
  } finally {
    events.off('cast', on);
  }
  return n;
}

async function forwardSection(ctx: BenchContext, hostDecodeMsPerMillion: Record<string, number>): Promise<SectionResult> {
  const dim = ctx.smoke ? 64 : 2560;
  const depth = ctx.smoke ? 2 : 8;
  // 16: transfer-bound; 512: compute-bound (compute ≫ transfer); 1024: where a fixed serial upload per forward
  // weighs half as much again (only the variants of the target are timed there).
  const batches = ctx.smoke ? [2, 8] : [16, 512, 1024];
  const rounds = Math.min(ctx.runs, 5);
  const resident = new Mlp(dim, depth);
  roundWeightsToFp8(resident);
  const params = resident.parameters().reduce((n, p) => n + p.size, 0);
  const make = (): Mlp => {
    const m = new Mlp(dim, depth);
    copyInto(resident, m);
    return m;
  };
  const fp8 = make();
  const bf16 = make();
  const offloaded = make();
  const fromDisk = make();
  const diskDir = fs.mkdtempSync(join(os.tmpdir(), 'memhooks-bench-casting-'));
  const handles = [
    applyLayerwiseCasting(fp8, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null }),
    applyLayerwiseCasting(bf16, { storageDtype: 'bfloat16', skipModulesPattern: null }),
    applyLayerwiseCasting(offloaded, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null }),
  ];
  handles.push(applyGroupOffloading(offloaded, { offloadType: 'leaf_level', useStream: true }));
  handles.push(applyLayerwiseCasting(fromDisk, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null }));
  handles.push(applyGroupOffloading(fromDisk, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: diskDir }));
  const diskFileBytes = fs.readdirSync(diskDir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + fs.statSync(join(diskDir, f)).size, 0);
  const allModels: Array<[string, Mlp]> = [['resident float32', resident], ['fp8 casting', fp8], ['bf16 casting', bf16], [HOST_STREAM, offloaded], [DISK_STREAM, fromDisk]];
  const rows: Array<Array<string | number>> = [];
  // The serial transfer of a cast forward on this backend: the host decode of every weight, then the upload
  // of its float32 copy and (wasm) XNNPACK's packing of it at first use. Measured alone, in this run.
  const uploadMsPerMiB = measureUploadCost(ctx.smoke ? 2 : 7);
  const float32MiB = (params * 4) / 2 ** 20;
  const serialMs = (dtype: LowPrecisionDtype): number => (hostDecodeMsPerMillion[dtype]! * params) / 1e6 + uploadMsPerMiB * float32MiB;
  const metrics: Record<string, number> = { parameters: params, uploadMsPerMiB, diskFileBytes, diskShareOfFloat32: diskFileBytes / (params * 4) };
  const allSamples: Record<string, number[]> = {};
  let diff = 0;
  let leakedTensors = 0;
  const targets = [];
  for (const batch of batches) {
    const index = batches.indexOf(batch);
    const only = ctx.smoke || index === 0 ? undefined : index === batches.length - 1 ? AT_LARGEST : AT_COMPUTE_BOUND;
    const models = only === undefined ? allModels : allModels.filter(([name]) => only.has(name));
    const x = tf.randomNormal([batch, dim], 0, 1, 'float32', batch);
    const expected = resident.forward(x) as tf.Tensor;
    const memoryOf = new Map<string, { between: number; peak: number }>();
    for (const [name, m] of models) {
      // Untimed: the first forward records the stream order and lets XNNPACK pack; then the bytes on the
      // device between forwards and at the peak of one (after the first batch, that tracked forward is the warm-up).
      if (index === 0) tf.dispose(m.forward(x));
      const before = memory.stats().deviceBytes;
      let tracked: { result: tf.Tensor; peakDeviceBytes: number } | undefined;
      const decodes = workerDecodes(() => (tracked = memory.track(() => m.forward(x) as tf.Tensor)));
      if (WORKER_DECODED.has(name)) metrics[`workerDecodedLayers_${name}_${batch}`] = decodes;
      const { result, peakDeviceBytes } = tracked!;
      diff = Math.max(diff, maxAbsDiff(result, expected));
      result.dispose();
      memoryOf.set(name, { between: m.memoryFootprint().device, peak: peakDeviceBytes - before });
    }
    const variants: Variant[] = models.map(([name, m]) => ({
      name: `${name} @${batch}`,
      sample: (k) => { for (let i = 0; i < k; i++) (m.forward(x) as tf.Tensor).dispose(); },
    }));
    let samples: Record<string, number[]> = {};
    leakedTensors += leaked(() => {
      samples = interleave(variants, { rounds, iterations: 1 });
    });
    Object.assign(allSamples, samples);
    const base = samples[`resident float32 @${batch}`]!;
    for (const [name] of models) {
      const s = samples[`${name} @${batch}`]!;
      const ratio = pairedRatio(s, base);
      const mem = memoryOf.get(name)!;
      const residentBytes = memoryOf.get('resident float32')!.between;
      metrics[`ms_${name}_${batch}`] = median(s) / 1e6;
      metrics[`ratio_${name}_${batch}`] = ratio;
      metrics[`weightBytesBetween_${name}`] = mem.between;
      const dtype = DTYPE_OF[name];
      // Floor: compute (the resident forward) plus the serial transfer, which nothing overlaps on one thread.
      // With the decode on the worker, only the upload of the float32 values (and the re-pack) stays serial.
      const serial = dtype !== undefined ? serialMs(dtype) : WORKER_DECODED.has(name) ? uploadMsPerMiB * float32MiB : 0;
      const floor = median(base) / 1e6 + serial;
      const efficiency = floor / (median(s) / 1e6);
      metrics[`efficiency_${name}_${batch}`] = efficiency;
      const host = name === HOST_STREAM ? offloaded.memoryFootprint().host / 2 ** 20 : 0;
      const disk = name === DISK_STREAM ? diskFileBytes / 2 ** 20 : 0;
      rows.push([batch, name, median(s) / 1e6, ratio, floor, efficiency, mem.between / 2 ** 20, (mem.between / residentBytes) * 100, mem.peak / 2 ** 20, host, disk]);
    }
    if (batch >= batches[1]!) {
      targets.push(target(`${HOST_STREAM} / resident at batch ${batch} (compute-bound)`, metrics[`ratio_${HOST_STREAM}_${batch}`]!, 1.1, '×'));
    }
    if (batch === batches[1]) {
      const share = memoryOf.get(HOST_STREAM)!.between / memoryOf.get('resident float32')!.between;
      targets.push(target('device weight bytes of fp8 + leaf offload, share of resident', share * 100, 25, '%'));
    }
    tf.dispose([x, expected]);
  }
  for (const h of handles.reverse()) h.remove();
  for (const [, m] of allModels) m.dispose();
  fs.rmSync(diskDir, { recursive: true, force: true });
  return {
    id: 'forward',
    title: `Forward overhead on a ${(params / 1e6).toFixed(1)} M-parameter MLP`,
    description:
      `${depth} Linear(${dim}, ${dim}) + ReLU layers, float32 input [batch, ${dim}]. Casting alone decodes each layer's weights on the host before ` +
      `its forward (on wasm that adds the float32 upload and XNNPACK's re-pack of the fresh weight). With leaf offload + stream, the transfer ` +
      `worker decodes the next layer's codes (read from the host copy, or from its safetensors file on disk) while one computes; the main ` +
      `thread uploads the codes and the float32 values. Medians of ${countOf(rounds, 'interleaved round')}; ${ctx.smoke ? 'every variant at every batch' : `bf16 at batch ${batches[0]} only, and at batch ${batches[batches.length - 1]} only the target's comparison`}. ` +
      `Floor = resident forward + serial transfer: for host-site decoding, the decode of every weight (section ` +
      `above) + upload and first-use packing of the float32 bytes (measured alone: ${uploadMsPerMiB.toFixed(2)} ms per MiB); for worker ` +
      `decoding, the upload and packing only (the decode runs beside the kernels). Efficiency = floor / measured. Device MiB between ` +
      'forwards is memoryFootprint().device; peak is memory.track during one forward, above what was on the device before it. Disk MiB: ' +
      `the group files (${((diskFileBytes / (params * 4)) * 100).toFixed(1)}% of the float32 bytes).`,
    table: { columns: ['batch', 'variant', 'ms per forward', 'ratio to resident', 'floor (ms)', 'efficiency', 'device weight MiB between forwards', '% of resident', 'peak MiB in a forward', 'host MiB', 'disk MiB'], rows },
    samples: allSamples,
    metrics,
    targets,
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the resident float32 forward (weights pre-rounded to fp8 values)', leakedTensors },
  };
}

export const castingBenchmark: Benchmark = {
  name: 'casting',
  description: 'Layerwise casting: decode cost per dtype and site, forward overhead on a 52 M-parameter MLP.',
  async run(ctx: BenchContext) {
    ctx.log('casting: decode sites');
    const decode = await decodeSection(ctx);
    ctx.log('casting: forward overhead');
    const hostMs = Object.fromEntries(LOW_PRECISION_DTYPES.map((d) => [d, decode.metrics[`msPerMillion_${d}_host_site`]!]));
    const forward = await forwardSection(ctx, hostMs);
    return { name: 'casting', title: 'Layerwise casting', sections: [decode, forward] };
  },
};
