import { Worker } from 'node:worker_threads';
import { TransferControl } from './protocol.js';
import { WORKER_SOURCE } from './workerSource.js';

/** A positioned read of byte ranges of one file into a SharedArrayBuffer, checked against the file's identity. */
export interface ReadJob {
  path: string;
  /** The file's identity when it was written (mtime in whole ms): a file changed since is refused. */
  size: number;
  mtimeMs: number;
  /** Optional: the inode and change time too (every write or utimes changes the ctime). */
  ino?: number;
  ctimeMs?: number;
  /** Triples [fileOffset, length, offsetInBuffer]; the digest covers the ranges in this order. */
  ranges: number[];
  buffer: SharedArrayBuffer;
  /** Compute the sha256 of the bytes read (on the worker, so it overlaps the compute). */
  hash: boolean;
  /** Optional: low-precision codes to decode once read, within the same buffer (a disk read of cast weights). */
  decode?: DecodeItem[];
}

/**
 * `length` codes of `dtype` at byte `codesAt` of the job's buffer, decoded into `length` float32 values at
 * byte `outAt` of the same buffer (4-aligned). The regions must not overlap.
 */
export type DecodeItem = [dtype: string, codesAt: number, length: number, outAt: number];

/** Decoding of low-precision codes already in `buffer` (shared staging memory) into float32, on the worker. */
export interface DecodeJob {
  buffer: SharedArrayBuffer;
  items: DecodeItem[];
}

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

/** The id under which the running worker knows `buffer`, registering it first if it does not. */
function idOf(w: Worker, buffer: SharedArrayBuffer): number {
  let id = shared.ids.get(buffer);
  if (id === undefined) {
    id = shared.nextId++;
    shared.ids.set(buffer, id);
    w.postMessage({ op: 'register', id, buffer });
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
      w.postMessage({ ...rest, op: 'read', buffer: idOf(w, buffer), control: idOf(w, control.buffer) });
      return control;
    },
    decode(job: DecodeJob, control: TransferControl): TransferControl {
      const w = worker();
      control.reset();
      w.postMessage({ op: 'decode', decode: job.items, buffer: idOf(w, job.buffer), control: idOf(w, control.buffer) });
      return control;
    },
    forget(buffer: SharedArrayBuffer): void {
      const id = shared.ids.get(buffer);
      if (id === undefined || shared.worker === undefined) return;
      shared.ids.delete(buffer);
      shared.worker.postMessage({ op: 'forget', id });
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
