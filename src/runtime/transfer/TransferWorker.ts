import { Worker } from 'node:worker_threads';
import type { DecodeJob, ReadJob, TransferControl, WorkerMessage } from './protocol.js';
import { WORKER_SOURCE } from './workerSource.js';

// The job shapes live in protocol.ts (the worker reads them too); callers know them from here.
export type { DecodeItem, DecodeJob, ReadJob } from './protocol.js';

interface Shared {
  worker: Worker | undefined;
  /** Shared buffers the running worker knows, by id (a new worker knows none). */
  ids: WeakMap<SharedArrayBuffer, number>;
  nextId: number;
  leases: number;
  /** How many times a worker was started (tests check that it starts lazily and once). */
  starts: number;
}

// One worker per process, shared by every handle, and by both builds of memhooks if both are loaded.
const KEY = Symbol.for('memhooks.transferWorker');
const shared = ((globalThis as Record<symbol, unknown>)[KEY] ??= { worker: undefined, ids: new WeakMap(), nextId: 0, leases: 0, starts: 0 }) as Shared;

function worker(): Worker {
  if (shared.worker === undefined) {
    const w = new Worker(WORKER_SOURCE, { eval: true, name: 'memhooks-transfer' });
    // Never keeps the process alive by itself: a handle that is never removed must not hang an exiting program.
    w.unref();
    // A dead worker is noticed by the job waiting on it (TransferControl.wait times out); forget it here.
    w.on('error', () => {
      if (shared.worker === w) shared.worker = undefined;
    });
    w.on('exit', () => {
      if (shared.worker === w) shared.worker = undefined;
    });
    shared.worker = w;
    shared.ids = new WeakMap();
    shared.starts++;
  }
  return shared.worker;
}

/** Every message to the worker goes through here, so that only protocol.ts' WorkerMessage shapes are sent. */
function post(w: Worker, message: WorkerMessage): void {
  w.postMessage(message);
}

/** The id under which the running worker knows `buffer`, registering it first if it does not. */
function idOf(w: Worker, buffer: SharedArrayBuffer): number {
  let id = shared.ids.get(buffer);
  if (id === undefined) {
    id = shared.nextId++;
    shared.ids.set(buffer, id);
    post(w, { op: 'register', id, buffer });
  }
  return id;
}

/** A claim on the shared transfer worker; the worker starts at the first job and stops with the last release. */
export interface TransferLease {
  /**
   * Posts a read job that reports to `control` (reset by this call; wait on it for the bytes). The job's
   * buffer and the control block are sent to the worker once, then named by id.
   */
  read(job: ReadJob, control: TransferControl): TransferControl;
  /** Posts a decode job, with the same protocol as read(): wait on `control` for the float32 values. */
  decode(job: DecodeJob, control: TransferControl): TransferControl;
  /** The worker drops its reference to `buffer` (call it when a buffer that was read into is dropped). */
  forget(buffer: SharedArrayBuffer): void;
  release(): void;
}

export function acquireTransferWorker(): TransferLease {
  shared.leases++;
  let released = false;
  return {
    read(job: ReadJob, control: TransferControl): TransferControl {
      const w = worker();
      control.reset();
      const { buffer, ...rest } = job;
      post(w, { ...rest, op: 'read', buffer: idOf(w, buffer), control: idOf(w, control.buffer) });
      return control;
    },
    decode(job: DecodeJob, control: TransferControl): TransferControl {
      const w = worker();
      control.reset();
      post(w, { op: 'decode', decode: job.items, buffer: idOf(w, job.buffer), control: idOf(w, control.buffer) });
      return control;
    },
    forget(buffer: SharedArrayBuffer): void {
      const id = shared.ids.get(buffer);
      if (id === undefined || shared.worker === undefined) return;
      shared.ids.delete(buffer);
      post(shared.worker, { op: 'forget', id });
    },
    release(): void {
      if (released) return;
      released = true;
      if (--shared.leases > 0) return;
      const w = shared.worker;
      shared.worker = undefined;
      void w?.terminate();
    },
  };
}

/** Whether the shared worker is running, how many leases hold it, how many times it started. */
export function transferWorkerStatus(): { running: boolean; leases: number; starts: number } {
  return { running: shared.worker !== undefined, leases: shared.leases, starts: shared.starts };
}
