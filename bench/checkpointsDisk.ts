/**
 * The load part of the `disk` benchmark (BENCHMARKS.md): sharded checkpoint save and load throughput
 * against a plain sequential read (and write) of the same bytes in the same run, and the peak host memory
 * while loading a checkpoint four times the size of its largest tensor. bench/disk.ts calls these sections.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadShardedCheckpoint, planShards, saveShardedCheckpoint } from '../src/io/checkpoints/index.js';
import type { SafetensorsEntry } from '../src/io/safetensors/index.js';
import { interleave, median, pairedRatio, target, type BenchContext, type SectionResult, type Variant } from './framework.js';

const MiB = 2 ** 20;
/** WebAssembly.Memory (the project's TypeScript lib has no WebAssembly types). */
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;

/** Deterministic float32 bytes (not zeros: a filesystem could store zeros sparsely). */
function tensorBytes(bytes: number, seed: number): Uint8Array {
  const values = new Float32Array(bytes / 4);
  for (let i = 0; i < values.length; i++) values[i] = ((Math.imul(i + seed, 2654435761) >>> 8) / 2 ** 24) - 0.5;
  return new Uint8Array(values.buffer);
}

/** One tensor of `largest` bytes and smaller ones of a quarter of that, `4 × largest` in all. */
function checkpointTensorsOf(largest: number): Record<string, SafetensorsEntry> {
  const out: Record<string, SafetensorsEntry> = {};
  out['blocks.0.big.weight'] = { dtype: 'F32', shape: [largest / 4], data: tensorBytes(largest, 1) };
  for (let i = 0; i < 12; i++) out[`blocks.${i + 1}.proj.weight`] = { dtype: 'F32', shape: [largest / 16], data: tensorBytes(largest / 4, i + 2) };
  return out;
}

function safetensorsFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort().map((n) => join(dir, n));
}

/** The floor: every byte of the same files read once, in order, into one reused buffer. */
function plainRead(files: string[], buffer: Uint8Array): number {
  let total = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.byteLength, null)) > 0; ) total += n;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

/**
 * The same read into WebAssembly memory, the kind of memory the wasm backend's tensors live in. On this
 * machine reads into it run several times faster than into ordinary ArrayBuffers (measured, cause not
 * isolated: probably huge pages on its large reservation), so the floor must use it too.
 */
function plainReadIntoWasmMemory(files: string[], memory: Uint8Array): number {
  let offset = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (let n; (n = readSync(fd, memory, offset, memory.byteLength - offset, null)) > 0; ) offset += n;
    } finally {
      closeSync(fd);
    }
  }
  return offset;
}

/** The floor for saving: the same bytes written to one file per shard, fsynced, as the atomic writer does. */
function plainWrite(dir: string, shards: Uint8Array[][]): void {
  shards.forEach((chunks, i) => {
    const fd = openSync(join(dir, `plain-${i}.bin`), 'w');
    try {
      for (const c of chunks) for (let off = 0; off < c.byteLength; ) off += writeSync(fd, c, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

export async function checkpointsDiskSections(ctx: BenchContext): Promise<SectionResult[]> {
  const largest = ctx.smoke ? 256 * 1024 : 64 * MiB;
  const maxShardSize = largest; // 4 shards of the 4 × largest checkpoint
  const root = mkdtempSync(join(tmpdir(), 'memhooks-bench-ckpt-'));
  try {
    const tensors = checkpointTensorsOf(largest);
    const total = Object.values(tensors).reduce((a, t) => a + t.data.byteLength, 0);
    return [throughput(ctx, root, tensors, total, maxShardSize), peakHost(ctx, root, tensors, largest, total, maxShardSize)];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function throughput(ctx: BenchContext, root: string, tensors: Record<string, SafetensorsEntry>, total: number, maxShardSize: number): SectionResult {
  ctx.log(`disk/checkpoints: ${(total / MiB).toFixed(1)} MiB in shards of ${(maxShardSize / MiB).toFixed(1)} MiB`);
  const dir = root;
  const saved = saveShardedCheckpoint(tensors, dir, { maxShardSize });
  const files = safetensorsFiles(dir);
  const fileBytes = files.reduce((a, f) => a + statSync(f).size, 0);
  const buffer = new Uint8Array(Math.min(4 * MiB, fileBytes));
  const wasmMemory = new Uint8Array(new WasmMemory({ initial: Math.ceil(fileBytes / 65536) + 1 }).buffer);
  // The same bytes, grouped as the shards are, for the plain write (one file and one fsync per shard).
  const shardChunks = planShards(Object.values(tensors).map((t) => ({ byteLength: t.data.byteLength, data: t.data })), maxShardSize).map((s) => s.map((t) => t.data));
  if (shardChunks.length !== saved.files.length) throw new Error('shard plan mismatch');
  const writeDir = mkdtempSync(join(root, 'w-'));
  const before = tf.memory().numTensors;
  const variants: Variant[] = [
    { name: 'plain read', sample: (n) => { for (let i = 0; i < n; i++) plainRead(files, buffer); } },
    { name: 'plain read into wasm memory', sample: (n) => { for (let i = 0; i < n; i++) plainReadIntoWasmMemory(files, wasmMemory); } },
    {
      name: 'loadShardedCheckpoint (to tensors)',
      sample: (n) => {
        for (let i = 0; i < n; i++) tf.dispose([...loadShardedCheckpoint(dir).values()]);
      },
    },
    { name: 'plain write + fsync', sample: (n) => { for (let i = 0; i < n; i++) plainWrite(writeDir, shardChunks); } },
    { name: 'saveShardedCheckpoint', sample: (n) => { for (let i = 0; i < n; i++) saveShardedCheckpoint(tensors, writeDir, { maxShardSize }); } },
  ];
  const samples = interleave(variants, { rounds: ctx.runs, iterations: 1, warmupRounds: 1 });
  const leaked = tf.memory().numTensors - before;
  const gbps = (ns: number) => fileBytes / ns; // bytes per ns = GB/s
  // The floor is the faster plain read of each round.
  const floor = samples['plain read']!.map((t, i) => Math.min(t, samples['plain read into wasm memory']![i]!));
  const loadRatio = pairedRatio(floor, samples['loadShardedCheckpoint (to tensors)']!);
  const saveRatio = pairedRatio(samples['plain write + fsync']!, samples['saveShardedCheckpoint']!);
  // Correctness: one loaded tensor, bit for bit.
  const loaded = loadShardedCheckpoint(dir);
  const bigName = 'blocks.0.big.weight';
  const got = new Uint8Array((loaded.get(bigName)!.dataSync() as Float32Array).buffer.slice(0));
  const expected = tensors[bigName]!.data;
  let diff = got.byteLength === expected.byteLength ? 0 : Infinity;
  for (let i = 0; i < got.byteLength && diff === 0; i++) if (got[i] !== expected[i]) diff = Infinity;
  tf.dispose([...loaded.values()]);
  const row = (name: string, ratio: number | string) => [name, median(samples[name]!) / 1e6, gbps(median(samples[name]!)), ratio];
  return {
    id: 'checkpoint-throughput',
    title: 'Sharded checkpoints: save and load throughput against a plain sequential read/write',
    description:
      `A ${(fileBytes / MiB).toFixed(1)} MiB checkpoint in ${files.length} shards (largest tensor ${(maxShardSize / MiB).toFixed(1)} MiB), ` +
      'files in the page cache. "plain read" reads the same files once, in order, in 4 MiB chunks into one reused buffer; "plain read into wasm memory" reads them ' +
      'whole into a WebAssembly.Memory (the fastest read here); the floor of a round is the faster of the two. loadShardedCheckpoint ' +
      'opens the index and every shard, checks every header, and reads each tensor\'s span straight into its allocation in the wasm heap. Saving is compared with ' +
      'writing the same bytes to one file per shard and fsyncing each (saveShardedCheckpoint writes temp files, fsyncs them and the folder, renames). ' +
      'Ratio = floor time / measured time per round (1 = as fast as the faster plain read; saving: plain write time / measured).',
    table: {
      columns: ['variant', 'ms', 'GB/s', 'of floor'],
      rows: [
        row('plain read', pairedRatio(floor, samples['plain read']!)),
        row('plain read into wasm memory', pairedRatio(floor, samples['plain read into wasm memory']!)),
        row('loadShardedCheckpoint (to tensors)', loadRatio),
        row('plain write + fsync', 1),
        row('saveShardedCheckpoint', saveRatio),
      ],
    },
    samples,
    metrics: { fileBytes, loadRatio, saveRatio },
    // Targets are "≤ limit": express "load ≥ 80% of plain" as plain-over-load ≥ 0.8, i.e. load-over-plain ≤ 1.25.
    targets: [
      target('loadShardedCheckpoint time / faster plain read time', 1 / loadRatio, 1.25, '×'),
    ],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the saved bytes of the largest tensor', leakedTensors: leaked },
  };
}

/**
 * Host memory (process.memoryUsage().arrayBuffers: JS buffers, not the wasm heap, which is the device) sampled
 * after every tensor of loadShardedCheckpoint (its onTensor callback) while loading a checkpoint four times
 * the size of its largest tensor; the loaded tensors stay on the device until the end of the load.
 */
function peakHost(ctx: BenchContext, root: string, tensors: Record<string, SafetensorsEntry>, largest: number, total: number, maxShardSize: number): SectionResult {
  const dir = mkdtempSync(join(root, 'peak-'));
  saveShardedCheckpoint(tensors, dir, { maxShardSize });
  const runs: number[] = [];
  const rssRuns: number[] = [];
  for (let r = 0; r < Math.max(3, Math.min(ctx.runs, 5)); r++) {
    const base = process.memoryUsage();
    let peak = 0;
    let peakRss = 0;
    const loaded = loadShardedCheckpoint(dir, {
      onTensor() {
        const m = process.memoryUsage();
        peak = Math.max(peak, m.arrayBuffers - base.arrayBuffers);
        peakRss = Math.max(peakRss, m.rss - base.rss);
      },
    });
    tf.dispose([...loaded.values()]);
    runs.push(peak);
    rssRuns.push(peakRss);
  }
  const peak = median(runs);
  const limit = largest + 64 * MiB;
  return {
    id: 'checkpoint-peak-host',
    title: 'Peak host memory while loading a checkpoint 4× its largest tensor',
    description:
      `Checkpoint of ${(total / MiB).toFixed(1)} MiB whose largest tensor is ${(largest / MiB).toFixed(1)} MiB, loaded with loadShardedCheckpoint on ${ctx.backend}. ` +
      'Host bytes = process.memoryUsage().arrayBuffers above the baseline, sampled after each tensor (the wasm heap is the device and is not counted; ' +
      'on wasm the loader reads each tensor straight into the heap). rss growth is shown for reference: it includes the wasm heap, which holds the loaded ' +
      `tensors and is only allocated once (it never shrinks). Median of ${runs.length} loads.`,
    table: {
      columns: ['checkpoint MiB', 'largest tensor MiB', 'peak host MiB (arrayBuffers)', 'limit MiB', 'rss growth MiB'],
      rows: [[total / MiB, largest / MiB, peak / MiB, limit / MiB, median(rssRuns) / MiB]],
    },
    samples: { peakHostBytes: runs, peakRssBytes: rssRuns },
    metrics: { peakHostBytes: peak, largestTensorBytes: largest, checkpointBytes: total },
    targets: [target('peak host above baseline', peak / MiB, limit / MiB, 'MiB')],
    check: { maxAbsDiff: 0, tolerance: 0, against: 'not applicable (memory measurement; the throughput section checks values)' },
  };
}
