import * as tf from '@tensorflow/tfjs-core';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodePacked, encodePacked } from '../../../src/dtypes/bulk.js';
import { LOW_PRECISION_DTYPES } from '../../../src/dtypes/formats.js';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  events,
  Linear,
  memory,
  MemhooksError,
  Module,
  StrategyConflictError,
  type GroupOffloadingOptions,
  type TransferEvent,
} from '../../../src/index.js';
import { acquireTransferWorker, TransferControl, transferWorkerStatus } from '../../../src/runtime/transfer/index.js';
import { transferWorkerSource } from '../../../src/runtime/transfer/workerSource.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { bitsOf, CAST_BY_DEFAULT, Caster, copyWeights, ids } from './models.js';

/** The 'cast' events emitted while `fn` runs. */
function castEvents(fn: () => void): TransferEvent[] {
  const seen: TransferEvent[] = [];
  const on = (e: TransferEvent): void => void seen.push(e);
  events.on('cast', on);
  try {
    fn();
  } finally {
    events.off('cast', on);
  }
  return seen;
}

/** Three Linear layers; `failAfter` makes the forward throw after the first one (while the second is staged). */
class Flaky extends Module {
  a = new Linear(8, 8);
  b = new Linear(8, 8);
  c = new Linear(8, 4);
  failAfter = false;
  forward(x: tf.Tensor): tf.Tensor {
    const h = tf.relu(this.a.forward(x));
    if (this.failAfter) throw new Error('failing on purpose');
    return this.c.forward(tf.relu(this.b.forward(h)));
  }
}

interface SharedWorker {
  worker: Worker | undefined;
  ids: WeakMap<SharedArrayBuffer, number>;
}
const shared = (globalThis as Record<symbol, unknown>)[Symbol.for('memhooks.transferWorker')] as SharedWorker | undefined;

describe('the transfer worker decode job', () => {
  it('decodes every storage dtype inside one shared buffer exactly as the main-thread decoder, and reports a bad job as TRANSFER_FAILED', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4) * (i % 7 === 0 ? -1 : 1));
    const lease = acquireTransferWorker();
    try {
      // One buffer: the codes of each dtype, then their float32 regions (byte offsets, 16-aligned).
      const packed = LOW_PRECISION_DTYPES.map((d) => encodePacked(d, values));
      const codesAt = packed.map((_, i) => i * 4096);
      const outAt = packed.map((_, i) => 4 * 4096 + i * 4016);
      const buffer = new SharedArrayBuffer(4 * 4096 + 4 * 4016);
      packed.forEach((p, i) => new Uint8Array(buffer, codesAt[i], p.words.byteLength).set(new Uint8Array(p.words.buffer)));
      const control = lease.decode({ buffer, items: packed.map((p, i) => [p.dtype, codesAt[i]!, values.length, outAt[i]!]) }, new TransferControl());
      control.wait('a test decode');
      packed.forEach((p, i) => {
        const fromWorker = new Uint32Array(buffer, outAt[i], values.length);
        expect([...fromWorker]).toEqual([...new Uint32Array(decodePacked(p).buffer)]);
      });
      expect(() => lease.decode({ buffer, items: [['float12', 0, 4, outAt[0]!]] }, control).wait('group "x"')).toThrow(/failed group "x": unknown storage dtype float12/);
      expect(() => lease.decode({ buffer, items: [['float16', 0, 1e6, 0]] }, control).wait('group "y"')).toThrow(MemhooksError);
    } finally {
      lease.release();
    }
  });
});

const VARIANTS: Array<[string, GroupOffloadingOptions, string[]]> = [
  ['leaf level', { offloadType: 'leaf_level', useStream: true }, ['embed', 'blocks.0.ff', 'blocks.1.ff', 'conv', 'head']],
  ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }, ['blocks_0_0', 'blocks_1_1']],
  ['leaf level, depth 2, lowCpuMemUsage', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 2, lowCpuMemUsage: true }, ['embed', 'blocks.0.ff', 'blocks.1.ff', 'conv', 'head']],
];

describe.each(BACKENDS)('layerwise casting + group offloading: prefetch decodes on the transfer worker (%s)', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  /**
   * A Flaky model cast to fp8 (every leaf), its cast output for a fixed input, then leaf offloading with stream,
   * and one forward, which records the order (from the next forward on, groups are prefetched and decoded).
   */
  const castThenStream = () => {
    const model = new Flaky();
    models.push(model);
    const x = tf.randomNormal([2, 8], 0, 1, 'float32', 9);
    const cast = applyLayerwiseCasting(model, { skipModulesPattern: null });
    const expected = model.forward(x) as tf.Tensor;
    const offload = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
    tf.dispose(model.forward(x));
    return { model, x, cast, expected, offload };
  };
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const trio = (): [Caster, Caster, Caster] => {
    const model = new Caster();
    const castOnly = new Caster();
    const decoded = new Caster();
    models.push(model, castOnly, decoded);
    copyWeights(model, castOnly);
    copyWeights(model, decoded, CAST_BY_DEFAULT, 'float8_e4m3fn');
    return [model, castOnly, decoded];
  };

  it.each(VARIANTS)('%s: bitwise the output of casting alone and of the float32 model with decoded weights; decoded on the worker; nothing leaks', (_label, options, workerGroups) => {
    const [model, castOnly, decoded] = trio();
    const x = ids();
    const float32 = decoded.forward(x) as tf.Tensor;
    const castHandle = applyLayerwiseCasting(castOnly, { storageDtype: 'float8_e4m3fn' });
    const expected = castOnly.forward(x) as tf.Tensor;
    expect(bitsOf(expected)).toEqual(bitsOf(float32));
    castHandle.remove();
    const hostBefore = memory.stats().hostBytes;

    const cast = applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn' });
    const offload = applyGroupOffloading(model, options);
    // The first forward records the order (nothing is prefetched): the casting hook decodes on the host.
    const first = castEvents(() => tf.dispose(model.forward(x)));
    expect(new Set(first.map((e) => e.site))).toEqual(new Set(['host']));
    const tensors = tf.memory().numTensors;
    const device = memory.stats().deviceBytes;
    for (let i = 0; i < 20; i++) {
      let out: tf.Tensor | undefined;
      const seen = castEvents(() => (out = model.forward(x) as tf.Tensor));
      expect(bitsOf(out!)).toEqual(bitsOf(expected));
      out!.dispose();
      const onWorker = seen.filter((e) => e.site === 'worker');
      expect(onWorker.map((e) => e.path).sort()).toEqual([...workerGroups].sort());
      for (const e of onWorker) expect(e).toMatchObject({ storageDtype: 'float8_e4m3fn', bytes: expect.any(Number) });
      // What the worker decoded, the casting hook did not decode again.
      const leaves = onWorker.flatMap((e) => CAST_BY_DEFAULT.filter((p) => p.startsWith(`${e.path.replace(/_(\d+)_\1$/, '.$1')}.`)));
      for (const e of seen.filter((s) => s.site === 'host')) expect(leaves.some((p) => p.startsWith(`${e.path}.`))).toBe(false);
      // Between forwards: no decoded tensor left attached, every tensor released, the device as before.
      for (const [, p] of model.namedParameters()) expect(p.hasDecoded).toBe(false);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(memory.stats().deviceBytes).toBe(device);
    }
    // Casting cannot go first; offloading first, then casting, restores float32 storage of the decoded values.
    expect(() => cast.remove()).toThrow(StrategyConflictError);
    offload.remove();
    cast.remove();
    for (const [path, p] of model.namedParameters()) {
      expect([p.tier, p.storageDtype, p.hasDecoded]).toEqual(['device', p.dtype, false]);
      expect(bitsOf(p.read())).toEqual(bitsOf(decoded.getParameter(path).read()));
    }
    expect(memory.stats().hostBytes).toBe(hostBefore);
    expect(transferWorkerStatus().leases).toBe(0);
    const after = model.forward(x) as tf.Tensor;
    expect(bitsOf(after)).toEqual(bitsOf(expected));
    tf.dispose([x, float32, expected, after]);
  });

  it('a forward that fails while a decode is staged cancels it: nothing attached or leaked, the next forward is exact', () => {
    const { model, x, cast, expected, offload } = castThenStream();
    const tensors = tf.memory().numTensors;
    const host = memory.stats().hostBytes;
    for (let i = 0; i < 3; i++) {
      model.failAfter = true;
      expect(() => model.forward(x)).toThrow(/failing on purpose/);
      model.failAfter = false;
      for (const p of model.parameters()) expect([p.tier, p.hasDecoded]).toEqual(['host', false]);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(memory.stats().hostBytes).toBe(host);
      const out = model.forward(x) as tf.Tensor;
      expect(bitsOf(out)).toEqual(bitsOf(expected));
      out.dispose();
    }
    offload.remove();
    cast.remove();
    tf.dispose([x, expected]);
  });

  it('counts the decoded float32 bytes against the device budget when a decode is prefetched', () => {
    const { model, x, cast, expected, offload } = castThenStream();
    expected.dispose();
    const on = memory.stats().deviceBytes;
    // Room for b's codes (a quarter of its float32 bytes) but not for its decoded values too.
    const codesOfB = model.b.weight.byteLength + model.b.bias!.byteLength;
    const largestGroup = Math.max(...[model.a, model.b, model.c].map((m) => m.parameters().reduce((n, p) => n + p.byteLength + p.size * 4, 0)));
    memory.setDeviceBudget(on + codesOfB + largestGroup - 1);
    try {
      expect(() => model.forward(x)).toThrow(/group "b" \(prefetch: its low-precision codes and their decoded float32 values\)/);
    } finally {
      memory.setDeviceBudget(undefined);
    }
    const tensors = tf.memory().numTensors;
    tf.dispose(model.forward(x));
    expect(tf.memory().numTensors).toBe(tensors);
    offload.remove();
    cast.remove();
    x.dispose();
  });

  it('a worker that fails to decode surfaces as a MemhooksError (TRANSFER_FAILED), not a hang; the model stays usable', () => {
    // Importing memhooks registers the shared worker's slot: the test swaps the worker in it.
    expect(shared).toBeDefined();
    const { model, x, cast, expected, offload } = castThenStream();
    const tensors = tf.memory().numTensors;
    // Swap in a real worker whose decoder throws (the store cannot tell it from the usual one).
    const faulty = new Worker(transferWorkerSource().replace('function decode(job, buffer) {', "function decode(job, buffer) { throw new Error('injected decode failure');"), { eval: true });
    const previous = shared!.worker;
    shared!.worker = faulty;
    shared!.ids = new WeakMap();
    const start = performance.now();
    try {
      let error: unknown;
      try {
        model.forward(x);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MemhooksError);
      expect(error).toMatchObject({ code: 'TRANSFER_FAILED', message: expect.stringMatching(/decoding group "b": injected decode failure/) });
      expect(performance.now() - start).toBeLessThan(30_000);
    } finally {
      shared!.worker = undefined;
      void faulty.terminate();
      void previous?.terminate();
    }
    for (const p of model.parameters()) expect(p.hasDecoded).toBe(false);
    expect(tf.memory().numTensors).toBe(tensors);
    // A fresh worker starts at the next job.
    const out = model.forward(x) as tf.Tensor;
    expect(bitsOf(out)).toEqual(bitsOf(expected));
    offload.remove();
    cast.remove();
    tf.dispose([x, expected, out]);
  });
});
