/**
 * The `casting` benchmark (BENCHMARKS.md): what layerwise casting costs.
 *
 * 1. decode: ms per million weights for each storage dtype and decode site: the bare JS loop (what a
 *    worker runs), the host site (read the packed codes, decode, make the float32 tensor) and the device
 *    site (unpack with int32 ops, gather from a lookup table);
 * 2. forward: a 52 M-parameter MLP, resident float32 against fp8 and bf16 casting and fp8 casting + leaf-level
 *    group offloading with stream, at a transfer-bound and a compute-bound batch. Its weights are
 *    pre-rounded to float8_e4m3fn values, which every storage dtype holds exactly, so every variant must
 *    give the resident output bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Worker } from 'node:worker_threads';
import {
  bytesPerCode,
  DECODE_WORKER_SOURCE,
  applyGroupOffloading,
  applyLayerwiseCasting,
  decodeInto,
  decodeOnDevice,
  decodeOnHost,
  decodePacked,
  encodePacked,
  Linear,
  LOW_PRECISION_DTYPES,
  memory,
  Module,
  ModuleList,
  Parameter,
  type LowPrecisionDtype,
} from '../src/index.js';
import { interleave, maxAbsDiff, median, pairedRatio, target, type BenchContext, type Benchmark, type SectionResult, type Variant } from './framework.js';
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
      `${n.toLocaleString('en-US')} weights (normal, σ 0.05), one decode per sample, medians of ${rounds} interleaved rounds. "JS loop": decodeInto over typed arrays, what the ` +
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

/** Which storage dtype a variant decodes, for its transfer floor. */
const DTYPE_OF: Record<string, LowPrecisionDtype | undefined> = {
  'fp8 casting': 'float8_e4m3fn',
  'bf16 casting': 'bfloat16',
  'fp8 casting + leaf offload + stream': 'float8_e4m3fn',
};

async function forwardSection(ctx: BenchContext, hostDecodeMsPerMillion: Record<string, number>): Promise<SectionResult> {
  const dim = ctx.smoke ? 64 : 2560;
  const depth = ctx.smoke ? 2 : 8;
  const batches = ctx.smoke ? [2, 8] : [16, 512];
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
  const handles = [
    applyLayerwiseCasting(fp8, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null }),
    applyLayerwiseCasting(bf16, { storageDtype: 'bfloat16', skipModulesPattern: null }),
    applyLayerwiseCasting(offloaded, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null }),
  ];
  handles.push(applyGroupOffloading(offloaded, { offloadType: 'leaf_level', useStream: true }));
  const models: Array<[string, Mlp]> = [['resident float32', resident], ['fp8 casting', fp8], ['bf16 casting', bf16], ['fp8 casting + leaf offload + stream', offloaded]];
  const rows: Array<Array<string | number>> = [];
  // The serial transfer of a cast forward on this backend: the host decode of every weight, then the upload
  // of its float32 copy and (wasm) XNNPACK's packing of it at first use. Measured alone, in this run.
  const uploadMsPerMiB = measureUploadCost(ctx.smoke ? 2 : 7);
  const float32MiB = (params * 4) / 2 ** 20;
  const serialMs = (dtype: LowPrecisionDtype): number => (hostDecodeMsPerMillion[dtype]! * params) / 1e6 + uploadMsPerMiB * float32MiB;
  const metrics: Record<string, number> = { parameters: params, uploadMsPerMiB };
  const allSamples: Record<string, number[]> = {};
  let diff = 0;
  let leakedTensors = 0;
  const targets = [];
  for (const batch of batches) {
    const x = tf.randomNormal([batch, dim], 0, 1, 'float32', batch);
    const expected = resident.forward(x) as tf.Tensor;
    const memoryOf = new Map<string, { between: number; peak: number }>();
    for (const [name, m] of models) {
      // Untimed: the first forward records the stream order and lets XNNPACK pack; then the bytes on the
      // device between forwards and at the peak of one.
      tf.dispose(m.forward(x));
      const before = memory.stats().deviceBytes;
      const { result, peakDeviceBytes } = memory.track(() => m.forward(x) as tf.Tensor);
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
      const floor = median(base) / 1e6 + (dtype === undefined ? 0 : serialMs(dtype));
      const efficiency = floor / (median(s) / 1e6);
      metrics[`efficiency_${name}_${batch}`] = efficiency;
      rows.push([batch, name, median(s) / 1e6, ratio, floor, efficiency, mem.between / 2 ** 20, (mem.between / residentBytes) * 100, mem.peak / 2 ** 20, offloadedHost(name, offloaded)]);
    }
    if (batch === batches[batches.length - 1]) {
      targets.push(target(`fp8 casting + leaf offload + stream / resident at batch ${batch} (compute-bound)`, metrics[`ratio_fp8 casting + leaf offload + stream_${batch}`]!, 1.1, '×'));
      const share = memoryOf.get('fp8 casting + leaf offload + stream')!.between / memoryOf.get('resident float32')!.between;
      targets.push(target('device weight bytes of fp8 + leaf offload, share of resident', share * 100, 25, '%'));
    }
    tf.dispose([x, expected]);
  }
  for (const h of handles.reverse()) h.remove();
  for (const [, m] of models) m.dispose();
  return {
    id: 'forward',
    title: `Forward overhead on a ${(params / 1e6).toFixed(1)} M-parameter MLP`,
    description:
      `${depth} Linear(${dim}, ${dim}) + ReLU layers, float32 input [batch, ${dim}]. Casting decodes each layer's weights on the host before ` +
      `its forward (on wasm that adds the float32 upload and XNNPACK's re-pack of the fresh weight). Medians of ${rounds} interleaved rounds. ` +
      `Floor = resident forward + host decode of every weight (section above) + upload and first-use packing of the float32 bytes ` +
      `(measured alone: ${uploadMsPerMiB.toFixed(2)} ms per MiB); all of it runs on the one thread here. Efficiency = floor / measured. ` +
      'Device MiB between forwards is memoryFootprint().device; peak is memory.track during one forward, above what was on the device before it.',
    table: { columns: ['batch', 'variant', 'ms per forward', 'ratio to resident', 'floor (ms)', 'efficiency', 'device weight MiB between forwards', '% of resident', 'peak MiB in a forward', 'host MiB'], rows },
    samples: allSamples,
    metrics,
    targets,
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the resident float32 forward (weights pre-rounded to fp8 values)', leakedTensors },
  };
}

function offloadedHost(name: string, offloaded: Module): number {
  return name.includes('offload') ? offloaded.memoryFootprint().host / 2 ** 20 : 0;
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
