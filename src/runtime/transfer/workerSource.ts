import { DECODE_WORKER_SOURCE } from '../../dtypes/workerSource.js';

/**
 * The transfer worker's code, run with `new Worker(WORKER_SOURCE, { eval: true })`. It is a string (plain
 * CommonJS, no imports of ours) so that the same worker starts from the ESM build, the CJS build and from
 * sources run directly by vitest: a worker file next to the sources would need a path that differs per
 * build and that tsc would not copy.
 *
 * Protocol: each job names a `control` SharedArrayBuffer (layout in protocol.ts), registered once. The worker
 * writes the bytes into the job's SharedArrayBuffer, then the status, and notifies; the main thread reads
 * the status with Atomics and blocks with Atomics.wait only while it is still pending. Nothing is sent back
 * by message: a main thread blocked in a synchronous forward could not receive it.
 *
 * Jobs: 'read' (positioned reads of a file, optionally followed by decoding what was read) and 'decode'
 * (low-precision codes → float32 inside one shared buffer, for layerwise-cast weights that group offloading
 * prefetches). The decoder is src/dtypes' own source (DECODE_WORKER_SOURCE), embedded.
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const STATE = 0, ERROR_LENGTH = 1, DIGEST_AT = 8, ERROR_AT = 72, ERROR_MAX = 1024;

// Shared memory is registered once per buffer (by id) and jobs name it by id: a job is then a small plain
// message, and no SharedArrayBuffer crosses postMessage per transfer.
const buffers = new Map();
${DECODE_WORKER_SOURCE}

function finish(job, state, digest, message) {
  const control = buffers.get(job.control);
  const ctl = new Int32Array(control);
  const bytes = new Uint8Array(control);
  if (digest) bytes.set(Buffer.from(digest, 'latin1'), DIGEST_AT);
  if (message) {
    const text = Buffer.from(message, 'utf8').subarray(0, ERROR_MAX);
    bytes.set(text, ERROR_AT);
    Atomics.store(ctl, ERROR_LENGTH, text.length);
  }
  Atomics.store(ctl, STATE, state);
  Atomics.notify(ctl, STATE);
}

function read(job) {
  // Opened per job (not cached): a file replaced since apply must be seen as the new file and refused.
  const fd = fs.openSync(job.path, 'r');
  try {
    const st = fs.fstatSync(fd);
    const diffs = [];
    if (st.size !== job.size) diffs.push('size ' + st.size + ' vs ' + job.size);
    if (Math.floor(st.mtimeMs) !== job.mtimeMs) diffs.push('mtimeMs ' + Math.floor(st.mtimeMs) + ' vs ' + job.mtimeMs);
    if (job.ino !== undefined && st.ino !== job.ino) diffs.push('ino ' + st.ino + ' vs ' + job.ino);
    if (job.ctimeMs !== undefined && st.ctimeMs !== job.ctimeMs) diffs.push('ctimeMs ' + st.ctimeMs + ' vs ' + job.ctimeMs);
    if (diffs.length > 0) {
      const e = new Error(diffs.join(', '));
      e.changed = true;
      throw e;
    }
    const hash = job.hash ? crypto.createHash('sha256') : null;
    const r = job.ranges;
    for (let i = 0; i < r.length; i += 3) {
      const view = new Uint8Array(buffers.get(job.buffer), r[i + 2], r[i + 1]);
      for (let done = 0; done < view.length; ) {
        const n = fs.readSync(fd, view, done, view.length - done, r[i] + done);
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
function decode(job) {
  const buffer = buffers.get(job.buffer);
  if (buffer === undefined) throw new Error('unknown staging buffer ' + job.buffer);
  for (const [dtype, codesAt, length, outAt] of job.decode) {
    const f = FORMATS[dtype];
    if (f === undefined) throw new Error('unknown storage dtype ' + dtype);
    const codes = f.bits === 16 ? new Uint16Array(buffer, codesAt, length) : new Uint8Array(buffer, codesAt, length);
    decodeInto(dtype, codes, new Float32Array(buffer, outAt, length));
  }
}

parentPort.on('message', (job) => {
  if (job.op === 'register') return void buffers.set(job.id, job.buffer);
  if (job.op === 'forget') return void buffers.delete(job.id);
  try {
    if (job.op === 'read') {
      const digest = read(job);
      if (job.decode) decode(job);
      finish(job, 1, digest, '');
    } else if (job.op === 'decode') {
      decode(job);
      finish(job, 1, '', '');
    } else finish(job, 2, '', 'unknown job ' + job.op);
  } catch (e) {
    finish(job, e && e.changed ? 3 : 2, '', String((e && e.message) || e));
  }
});
`;
