import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodePlatform } from '../../src/base/platform/node.js';
import { setPlatform } from '../../src/base/platform/Platform.js';
import { applyGroupOffloading, applyLayerwiseCasting, events, memory, type GroupOffloadingOptions, type Module, type TransferEvent } from '../../src/index.js';
import { acquireTransferWorker, overrideTransferThread, TransferControl, transferThread, transferWorkerStatus, type TransferLease, type TransferThread } from '../../src/runtime/transfer/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { bitsOf, Caster, ids } from '../strategies/layerwise-casting/models.js';

// The page's paths, run in Node: a page's main thread may not block (Atomics.wait throws there), and a page that is
// not cross-origin isolated has no SharedArrayBuffer. test/browser/transfer*.test.ts runs them in Chromium.
const THREADS: Array<[string, TransferThread]> = [
  ["a page's main thread, cross-origin isolated (shared memory, no blocking)", { shared: true, canBlock: false }],
  ['a page that is not cross-origin isolated (transfers by message)', { shared: false, canBlock: false }],
];

/** The events of `names` emitted while `fn` runs. */
function recorded(names: Array<'onload' | 'cast' | 'wait' | 'prefetch'>, fn: () => void): Array<TransferEvent & { name: string }> {
  const seen: Array<TransferEvent & { name: string }> = [];
  const listeners = names.map((name) => [name, (e: TransferEvent) => void seen.push({ ...e, name })] as const);
  for (const [name, on] of listeners) events.on(name, on);
  try {
    fn();
  } finally {
    for (const [name, on] of listeners) events.off(name, on);
  }
  return seen;
}

const idle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A lease on the transfer worker, once it has run a job (this thread, Node's main thread, may block for it): a
 * worker's start is slow on a loaded machine, and it is not what these tests time.
 */
function warmWorker(): TransferLease {
  const lease = acquireTransferWorker();
  overrideTransferThread(undefined);
  lease.decode({ buffer: new SharedArrayBuffer(16), items: [] }, new TransferControl()).wait('warming the worker');
  return lease;
}

/** Runs `fn` with the transfer worker's decoding slowed by `ms` per job (the same program, a delay put before it). */
async function withSlowWorker(ms: number, fn: () => Promise<void>): Promise<void> {
  setPlatform({
    ...nodePlatform,
    worker: {
      hostBinding: nodePlatform.worker.hostBinding,
      bootsWhileBlocked: true,
      start: (source, name, onGone, onMessage) =>
        nodePlatform.worker.start(
          source.replace('function decode(job, buffer) {', `function decode(job, buffer) { const until = Date.now() + ${ms}; while (Date.now() < until);`),
          name,
          onGone,
          onMessage,
        ),
    },
  });
  try {
    await fn();
  } finally {
    setPlatform(nodePlatform);
  }
}

describe('the thread that runs the model, detected once', () => {
  it('in Node: shared memory, and Atomics.wait may block', () => {
    expect(transferThread()).toEqual({ shared: true, canBlock: true });
  });
});

describe.each(BACKENDS)('cast weights + leaf offloading with stream where the thread may not block (%s)', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  let warm: TransferLease | undefined;
  afterEach(() => {
    overrideTransferThread(undefined);
    warm?.release();
    warm = undefined;
    models.splice(0).forEach((m) => m.dispose());
  });

  /** A Caster and the output of the same weights with casting alone (no offloading), for `x`. */
  function castReference(x: tf.Tensor, storageDtype: 'bfloat16' | 'float8_e4m3fn'): { model: Caster; expected: Uint32Array } {
    const model = new Caster();
    const plain = new Caster();
    models.push(model, plain);
    for (const [path, p] of model.namedParameters()) plain.getParameter(path).assign(p.read());
    const cast = applyLayerwiseCasting(plain, { storageDtype });
    const out = plain.forward(x) as tf.Tensor;
    const expected = bitsOf(out);
    out.dispose();
    cast.remove();
    return { model, expected };
  }

  describe.each(THREADS)('%s', (_label, thread) => {
    it.each(['bfloat16', 'float8_e4m3fn'] as const)('%s: bitwise equal to casting alone; never waits; a late group is onloaded synchronously, the first groups come decoded between calls', async (storageDtype) => {
      warm = warmWorker();
      overrideTransferThread(thread);
      const x = ids();
      const { model, expected } = castReference(x, storageDtype);
      const cast = applyLayerwiseCasting(model, { storageDtype });
      const offload = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
      tf.dispose(model.forward(x));
      await idle();
      const tensors = tf.memory().numTensors;
      const host = memory.stats().hostBytes;
      const decodedOnWorker: string[] = [];
      for (let i = 0; i < 4; i++) {
        let out: tf.Tensor | undefined;
        const seen = recorded(['onload', 'cast', 'wait'], () => (out = model.forward(x) as tf.Tensor));
        expect(bitsOf(out!), `call ${i + 1}`).toEqual(expected);
        out!.dispose();
        // Nothing is ever waited on.
        expect(seen.filter((e) => e.name === 'wait')).toEqual([]);
        const onWorker = seen.filter((e) => e.name === 'cast' && e.site === 'worker').map((e) => e.path);
        decodedOnWorker.push(...onWorker);
        // Every other cast group was either decoded in time by the worker, or late: onloaded synchronously and
        // decoded by the casting hook on this thread. Without shared memory a reply cannot arrive during a call, so
        // nothing is staged during one: the casting hook decodes the other groups, and none is late.
        const late = seen.filter((e) => e.name === 'onload' && e.late === true).map((e) => e.path);
        // Without shared memory, the first cast group, staged when the last call ended, was decoded while this thread
        // was idle. (With shared memory what is ready in time depends on timing: the slots of late jobs stay taken
        // until those finish, so the group may find none when a call ends.)
        if (!thread.shared) expect([onWorker, late]).toEqual([['embed'], []]);
        for (const path of late) expect(seen.some((e) => e.name === 'cast' && e.path === path && e.site !== 'worker')).toBe(true);
        expect(late.filter((p) => onWorker.includes(p))).toEqual([]);
        await idle();
        expect(tf.memory().numTensors, `after call ${i + 1}`).toBe(tensors);
        expect(memory.stats().hostBytes, `after call ${i + 1}`).toBe(host);
      }
      expect(decodedOnWorker.length).toBeGreaterThan(0);
      offload.remove();
      cast.remove();
      warm.release();
      warm = undefined;
      expect(transferWorkerStatus()).toMatchObject({ running: false, leases: 0 });
      const after = model.forward(x) as tf.Tensor;
      expect(bitsOf(after)).toEqual(expected);
      tf.dispose([x, after]);
    });

    const VARIANTS: Array<[string, GroupOffloadingOptions]> = [
      ['depth 1', { offloadType: 'leaf_level', useStream: true }],
      ['depth 2, lowCpuMemUsage', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 2, lowCpuMemUsage: true }],
    ];
    it.each(VARIANTS)('%s, a worker slower than the model: a late result never lands in a slot in use; bitwise; staging memory returns to its level', async (_variant, options) => {
      overrideTransferThread(thread);
      await withSlowWorker(40, async () => {
        const x = ids();
        const { model, expected } = castReference(x, 'float8_e4m3fn');
        const hostBefore = memory.stats().hostBytes;
        const cast = applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn' });
        const offload = applyGroupOffloading(model, options);
        tf.dispose(model.forward(x));
        // Back-to-back calls with no idle time: the worker is always behind, and its late jobs write into slots that
        // a reuse would hand to the next group.
        for (let i = 0; i < 6; i++) {
          const out = model.forward(x) as tf.Tensor;
          expect(bitsOf(out), `call ${i + 1}`).toEqual(expected);
          out.dispose();
          if (i % 2 === 1) await idle(5);
        }
        await idle(400);
        const out = model.forward(x) as tf.Tensor;
        expect(bitsOf(out)).toEqual(expected);
        out.dispose();
        offload.remove();
        cast.remove();
        expect(memory.stats().hostBytes).toBe(hostBefore);
        x.dispose();
      });
    });
  });
});
