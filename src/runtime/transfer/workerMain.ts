import type { Decoder } from '../../dtypes/decode.js';
import type { ControlLayout, DecodeMessage, DecodeTransferMessage, ReadMessage, WorkerMessage, WorkerReply } from './protocol.js';

/** The file calls a read job makes (node:fs has them; a browser worker has no files and passes none). */
export interface WorkerFiles {
  openSync(path: string, flags: 'r'): number;
  fstatSync(fd: number): { size: number; mtimeMs: number; ino: number; ctimeMs: number };
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
}

/** What the thread the worker runs on provides: its message port, and for read jobs files and sha256. */
export interface WorkerHost {
  onMessage(handler: (message: WorkerMessage) => void): void;
  /** Sends a reply back, transferring `transfer` (decode-transfer jobs, where there is no shared memory). */
  post?(reply: WorkerReply, transfer: ArrayBuffer[]): void;
  files?: WorkerFiles;
  createHash?(algorithm: 'sha256'): { update(bytes: Uint8Array): unknown; digest(encoding: 'hex'): string };
}

/**
 * The transfer worker's whole program. It is closed: its body reads only its arguments and JavaScript
 * built-ins, never a module binding, so workerSource.ts serialises this very function
 * (Function.prototype.toString) and calls it in the worker with the host's port and files, the decoder of
 * src/dtypes (its own source too), and the control-block layout of protocol.ts (CONTROL, serialised).
 * Type-checked here, run there: keep it closed.
 *
 * The worker writes the bytes into the job's SharedArrayBuffer, then the status, and notifies; the main
 * thread reads the status with Atomics and blocks with Atomics.wait only while it is still pending. Nothing
 * is sent back by message: a main thread blocked in a synchronous forward could not receive it. The one
 * exception is where there is no shared memory (a page that is not cross-origin isolated): a decode-transfer
 * job's buffer is transferred here and back (host.post), and the model's thread uses it only if it has arrived.
 */
export function runTransferWorker(host: WorkerHost, decoder: Decoder, layout: ControlLayout): void {
  const buffers = new Map<number, SharedArrayBuffer>();
  const text = new TextEncoder();

  /** A file that is not the one recorded: reported as CHANGED, not FAILED. */
  class FileChanged extends Error {}

  function bufferOf(id: number, what: string): SharedArrayBuffer {
    const buffer = buffers.get(id);
    if (buffer === undefined) throw new Error('unknown ' + what + ' ' + id);
    return buffer;
  }

  function finish(job: { control: number }, state: number, digest: string, message: string): void {
    const control = bufferOf(job.control, 'control block');
    const ctl = new Int32Array(control);
    const bytes = new Uint8Array(control);
    if (digest) bytes.set(text.encode(digest), layout.DIGEST_AT);
    if (message) {
      const encoded = text.encode(message).subarray(0, layout.ERROR_MAX);
      bytes.set(encoded, layout.ERROR_AT);
      Atomics.store(ctl, layout.ERROR_LENGTH, encoded.length);
    }
    Atomics.store(ctl, layout.STATE, state);
    Atomics.notify(ctl, layout.STATE);
  }

  function read(job: ReadMessage): string {
    const fs = host.files;
    if (fs === undefined) throw new Error('this worker cannot read files');
    // Opened per job (not cached): a file replaced since apply must be seen as the new file and refused.
    let fd: number;
    try {
      fd = fs.openSync(job.path, 'r');
    } catch (error) {
      // Deleted behind the model's back (in a page: the site's storage cleared): not the file recorded either.
      if ((error as { code?: unknown }).code === 'ENOENT') throw new FileChanged('it was deleted');
      throw error;
    }
    try {
      const st = fs.fstatSync(fd);
      const diffs: string[] = [];
      if (st.size !== job.size) diffs.push('size ' + st.size + ' vs ' + job.size);
      if (Math.floor(st.mtimeMs) !== job.mtimeMs) diffs.push('mtimeMs ' + Math.floor(st.mtimeMs) + ' vs ' + job.mtimeMs);
      if (job.ino !== undefined && st.ino !== job.ino) diffs.push('ino ' + st.ino + ' vs ' + job.ino);
      if (job.ctimeMs !== undefined && st.ctimeMs !== job.ctimeMs) diffs.push('ctimeMs ' + st.ctimeMs + ' vs ' + job.ctimeMs);
      if (diffs.length > 0) throw new FileChanged('it was modified: ' + diffs.join(', '));
      const hash = job.hash && host.createHash ? host.createHash('sha256') : null;
      const r = job.ranges;
      for (let i = 0; i < r.length; i += 3) {
        const view = new Uint8Array(bufferOf(job.buffer, 'staging buffer'), r[i + 2]!, r[i + 1]!);
        for (let done = 0; done < view.length; ) {
          const n = fs.readSync(fd, view, done, view.length - done, r[i]! + done);
          if (n === 0) throw new Error('the file ended early');
          done += n;
        }
        if (hash) hash.update(view);
      }
      return hash ? hash.digest('hex') : '';
    } finally {
      fs.closeSync(fd);
    }
  }

  // Each item: [dtype, codesAt, length, outAt] (byte offsets into the job's buffer): length codes of dtype
  // at codesAt are decoded into length float32 values at outAt.
  function decode(job: ReadMessage | DecodeMessage | DecodeTransferMessage, buffer: ArrayBufferLike): void {
    for (const [dtype, codesAt, length, outAt] of job.decode ?? []) {
      const codes = decoder.format(dtype).bits === 16 ? new Uint16Array(buffer, codesAt, length) : new Uint8Array(buffer, codesAt, length);
      decoder.into(dtype, codes, new Float32Array(buffer, outAt, length));
    }
    // Each item: [dtype, codesAt, length, outAt, min, scale]: shipped codes ('uint8' / 'uint16' affine,
    // 'float16'), dequantized bit for bit as tfjs does at load.
    const shipped = 'dequantize' in job ? job.dequantize : undefined;
    for (const [dtype, codesAt, length, outAt, min, scale] of shipped ?? []) {
      const codes = dtype === 'uint8' ? new Uint8Array(buffer, codesAt, length) : new Uint16Array(buffer, codesAt, length);
      decoder.dequantize(dtype, codes, new Float32Array(buffer, outAt, length), min, scale);
    }
  }

  host.onMessage((job) => {
    if (job.op === 'hello') return void Atomics.store(new Int32Array(job.flag), 0, 1);
    if (job.op === 'register') return void buffers.set(job.id, job.buffer);
    if (job.op === 'forget') return void buffers.delete(job.id);
    if (job.op === 'decode-transfer') {
      // No shared memory: the buffer came here by transfer and goes back the same way, decoded or with the reason.
      const reply: WorkerReply = { job: job.job, buffer: job.buffer };
      try {
        decode(job, job.buffer);
      } catch (e) {
        reply.error = String((e instanceof Error && e.message) || e);
      }
      if (host.post !== undefined) host.post(reply, [job.buffer]);
      return;
    }
    try {
      if (job.op === 'read') {
        const digest = read(job);
        if (job.decode) decode(job, bufferOf(job.buffer, 'staging buffer'));
        finish(job, layout.DONE, digest, '');
      } else if (job.op === 'decode') {
        decode(job, bufferOf(job.buffer, 'staging buffer'));
        finish(job, layout.DONE, '', '');
      } else {
        // A message of no known kind (a newer main thread?): typed as never here, so seen as plain data.
        const unknown: { op: string; control: number } = job;
        finish(unknown, layout.FAILED, '', 'unknown job ' + unknown.op);
      }
    } catch (e) {
      finish(job, e instanceof FileChanged ? layout.CHANGED : layout.FAILED, '', String((e instanceof Error && e.message) || e));
    }
  });
}
