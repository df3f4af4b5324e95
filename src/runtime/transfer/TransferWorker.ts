import { platform, type WorkerPort } from '../../base/platform/Platform.js';
import { newBootFlag } from './boot.js';
import type { MessageControl } from './MessageControl.js';
import type { DecodeItem, DecodeJob, DequantizeItem, ReadJob, TransferControl, WorkerMessage, WorkerReply } from './protocol.js';
import { transferWorkerSource } from './workerSource.js';

// The job shapes live in protocol.ts (the worker reads them too); callers know them from here.
export type { DecodeItem, DecodeJob, DequantizeItem, ReadJob } from './protocol.js';

interface Shared {
  worker: WorkerPort | undefined;
  /** Shared buffers the running worker knows, by id (a new worker knows none). */
  ids: WeakMap<SharedArrayBuffer, number>;
  nextId: number;
  leases: number;
  /** How many times a worker was started (tests check that it starts lazily and once). */
  starts: number;
  /** Decode-transfer jobs whose buffer is on the worker, by job id, with their buffer's size. */
  pending?: Map<number, { control: MessageControl; bytes: number }>;
  nextJob?: number;
}

// One worker per process, shared by every handle, and by both builds of memhooks if both are loaded.
const KEY = Symbol.for('memhooks.transferWorker');
const shared = ((globalThis as Record<symbol, unknown>)[KEY] ??= { worker: undefined, ids: new WeakMap(), nextId: 0, leases: 0, starts: 0 }) as Shared;
const pending = (shared.pending ??= new Map());

/** The worker's reply to a decode-transfer job: the buffer comes back to its control. */
function receive(message: unknown): void {
  const reply = message as WorkerReply;
  const job = pending.get(reply.job);
  if (job === undefined) return;
  pending.delete(reply.job);
  job.control.finish(reply.buffer, reply.error);
}

/** The worker is gone with jobs on it: their buffers are lost; each control gets fresh memory and the reason. */
function failPending(reason: string): void {
  for (const [id, job] of [...pending]) {
    pending.delete(id);
    job.control.finish(new ArrayBuffer(job.bytes), reason);
  }
}

function worker(): WorkerPort {
  if (shared.worker === undefined) {
    // The platform starts it (Node: a worker thread that never keeps the process alive; a page: a Web Worker).
    // A dead worker is noticed by the job waiting on it (TransferControl.wait times out); forget it here.
    const starter = platform().worker;
    const w: WorkerPort = starter.start(
      transferWorkerSource(undefined, starter.hostBinding),
      'memhooks-transfer',
      () => {
        if (shared.worker !== w) return;
        shared.worker = undefined;
        failPending('the transfer worker stopped');
      },
      receive,
    );
    shared.worker = w;
    shared.ids = new WeakMap();
    shared.starts++;
    const flag = newBootFlag();
    if (flag !== undefined) post(w, { op: 'hello', flag });
  }
  return shared.worker;
}

/** Every message to the worker goes through here, so that only protocol.ts' WorkerMessage shapes are sent. */
function post(w: WorkerPort, message: WorkerMessage, transfer?: ArrayBuffer[]): void {
  w.postMessage(message, transfer);
}

/** The id under which the running worker knows `buffer`, registering it first if it does not. */
function idOf(w: WorkerPort, buffer: SharedArrayBuffer): number {
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
  /**
   * Without shared memory: transfers `job.buffer` to the worker, which decodes it in place and transfers it back to
   * `control` (reset by this call) when this thread's event loop runs. `job.buffer` is detached until then.
   */
  decodeTransfer(job: { buffer: ArrayBuffer; items: DecodeItem[]; dequantize?: DequantizeItem[] }, control: MessageControl): MessageControl;
  /** The worker drops its reference to `buffer` (call it when a buffer that was read into is dropped). */
  forget(buffer: SharedArrayBuffer): void;
  release(): void;
}

export function acquireTransferWorker(): TransferLease {
  shared.leases++;
  // A Web Worker boots only while the thread that created it is idle (its event loop runs): a Worker that blocks on
  // a job (Atomics.wait) right after starting the transfer worker would wait for ever. In a page it starts with the
  // first lease (at apply), so that it boots before the first job; in Node a worker thread boots by itself (at the
  // first job).
  if (platform().name === 'browser') worker();
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
      const message: WorkerMessage = { op: 'decode', decode: job.items, buffer: idOf(w, job.buffer), control: idOf(w, control.buffer) };
      if (job.dequantize !== undefined && job.dequantize.length > 0) message.dequantize = job.dequantize;
      post(w, message);
      return control;
    },
    decodeTransfer(job, control): MessageControl {
      const w = worker();
      control.reset();
      const id = (shared.nextJob = (shared.nextJob ?? 0) + 1);
      pending.set(id, { control, bytes: job.buffer.byteLength });
      const message: WorkerMessage = { op: 'decode-transfer', job: id, buffer: job.buffer, decode: job.items };
      if (job.dequantize !== undefined && job.dequantize.length > 0) message.dequantize = job.dequantize;
      post(w, message, [job.buffer]);
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
      w?.terminate();
      failPending('the transfer worker was stopped (the last strategy using it was removed)');
    },
  };
}

/** Whether the shared worker is running, how many leases hold it, how many times it started. */
export function transferWorkerStatus(): { running: boolean; leases: number; starts: number } {
  return { running: shared.worker !== undefined, leases: shared.leases, starts: shared.starts };
}
