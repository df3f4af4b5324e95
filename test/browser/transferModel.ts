// A small model run with layerwise casting and leaf-level group offloading with stream, in whatever thread imports
// this: a page's main thread (test/browser/transfer.test.ts) or a dedicated Worker (transferWorker.ts, which posts
// the result back). The values are computed on the cpu backend: the transfer path is host-side work (staging memory,
// the worker's decoding), and the check is bitwise against casting alone.
import * as tf from '@tensorflow/tfjs-core';
// Imported statically: in a Worker, the dynamic import() of memhooks' useBackend goes through vitest's page-only
// module mocker, which a Worker does not have.
import '@tensorflow/tfjs-backend-cpu';
import { applyGroupOffloading, applyLayerwiseCasting, events, Linear, Sequential, type TransferEvent } from 'memhooks';
import { transferThread, transferWorkerStatus } from '../../src/runtime/transfer/index.js';

export type StorageDtype = 'bfloat16' | 'float8_e4m3fn';

/** What one run saw, per call after the first (which records the order), as plain data a Worker can post. */
export interface SmallModelRun {
  thread: { shared: boolean; canBlock: boolean };
  crossOriginIsolated: boolean;
  /** Per call: whether the output equals casting alone's, bit for bit. */
  bitwise: boolean[];
  /** Per call: the groups whose cast weights the transfer worker decoded. */
  onWorker: string[][];
  /** Per call: the groups that were staged but not ready, and onloaded synchronously instead. */
  late: string[][];
  /** Every group with cast weights, in the order they run. */
  castGroups: string[];
  waits: number;
  /** Workers started during the run, and whether one still runs after remove(). */
  starts: number;
  runningAfterRemove: boolean;
  /** The message of anything thrown (never expected). */
  error?: string;
}

function makeModel(): Sequential {
  return new Sequential([new Linear(16, 32), new Linear(32, 32), new Linear(32, 32), new Linear(32, 8)]);
}

/** Seeded weights, the same for every model made here. */
function seed(model: Sequential): void {
  model.namedParameters().forEach(([, p], i) => {
    const t = tf.randomNormal(p.shape as number[], 0, 0.5, 'float32', 100 + i);
    p.assign(t);
    t.dispose();
  });
}

async function bits(t: tf.Tensor): Promise<Uint32Array> {
  return new Uint32Array(Float32Array.from((await t.data()) as Float32Array).buffer);
}

const same = (a: Uint32Array, b: Uint32Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Runs `calls` forwards with the event loop running between them (an await), and reports what happened. */
export async function runSmallModel(storageDtype: StorageDtype, calls = 4): Promise<SmallModelRun> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  const run: SmallModelRun = {
    thread: { ...transferThread() },
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    bitwise: [],
    onWorker: [],
    late: [],
    castGroups: [],
    waits: 0,
    starts: 0,
    runningAfterRemove: false,
  };
  const x = tf.randomNormal([3, 16], 0, 1, 'float32', 7);
  const plain = makeModel();
  const model = makeModel();
  seed(plain);
  seed(model);
  const seen: Array<TransferEvent & { name: string }> = [];
  const listen = (name: 'cast' | 'onload' | 'wait') => (e: TransferEvent) => void seen.push({ ...e, name });
  const listeners = (['cast', 'onload', 'wait'] as const).map((name) => [name, listen(name)] as const);
  try {
    const castOnly = applyLayerwiseCasting(plain, { storageDtype, skipModulesPattern: null });
    const reference = plain.forward(x) as tf.Tensor;
    const expected = await bits(reference);
    reference.dispose();
    castOnly.remove();

    const startsBefore = transferWorkerStatus().starts;
    const cast = applyLayerwiseCasting(model, { storageDtype, skipModulesPattern: null });
    const offload = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
    // The transfer worker started at apply; it boots while this thread is idle.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = model.forward(x) as tf.Tensor;
    run.bitwise.push(same(await bits(first), expected));
    first.dispose();
    for (const [name, on] of listeners) events.on(name, on);
    for (let i = 0; i < calls; i++) {
      // Idle between calls, as a page is: a reply by message arrives, a worker finishes what was staged.
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen.length = 0;
      const out = model.forward(x) as tf.Tensor;
      const events_ = [...seen];
      run.bitwise.push(same(await bits(out), expected));
      out.dispose();
      run.onWorker.push(events_.filter((e) => e.name === 'cast' && e.site === 'worker').map((e) => e.path));
      run.late.push(events_.filter((e) => e.name === 'onload' && e.late === true).map((e) => e.path));
      run.waits += events_.filter((e) => e.name === 'wait').length;
      if (i === 0) run.castGroups = events_.filter((e) => e.name === 'cast').map((e) => e.path);
    }
    offload.remove();
    cast.remove();
    run.starts = transferWorkerStatus().starts - startsBefore;
    run.runningAfterRemove = transferWorkerStatus().running;
  } catch (error) {
    run.error = String((error instanceof Error && error.stack) || error);
  } finally {
    for (const [name, on] of listeners) events.off(name, on);
    tf.dispose(x);
    plain.dispose();
    model.dispose();
    // The page's own backend again (its other files share this page); none was set if this thread had none.
    if (previous) await tf.setBackend(previous);
  }
  return run;
}
