import { platform } from '../../base/platform/Platform.js';

/**
 * Whether the running transfer worker has booted, as shared memory the thread that runs the model reads without
 * an event loop. It matters in a page: a dedicated Worker's nested Worker (the transfer worker) starts only while
 * its parent's event loop runs, so a forward that blocks on a job before that would wait for a worker that cannot
 * start (until the stall timeout). In Node a worker thread boots on its own, and waiting is always safe.
 */
// On globalThis, as TransferWorker.ts keeps its worker: both builds of memhooks, if both are loaded, share one.
const KEY = Symbol.for('memhooks.transferWorkerBoot');
const state = ((globalThis as Record<symbol, unknown>)[KEY] ??= { flag: undefined }) as { flag: Int32Array | undefined };

/** A fresh flag for a worker being started (posted to it in its hello message); undefined without shared memory. */
export function newBootFlag(): SharedArrayBuffer | undefined {
  if (typeof SharedArrayBuffer !== 'function') {
    state.flag = undefined;
    return undefined;
  }
  const buffer = new SharedArrayBuffer(4);
  state.flag = new Int32Array(buffer);
  return buffer;
}

/** Whether blocking on the worker's jobs can end: it boots on its own (Node), or it has said hello. */
export function workerCanFinish(): boolean {
  if (platform().worker.bootsWhileBlocked) return true;
  return state.flag !== undefined && Atomics.load(state.flag, 0) === 1;
}
