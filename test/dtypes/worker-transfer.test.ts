import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, decodeBits } from '../../src/dtypes/decode.js';
import { bytesPerCode, decodeInto, DECODE_WORKER_SOURCE, FORMATS, LOW_PRECISION_DTYPES, type LowPrecisionDtype } from '../../src/dtypes/index.js';
import { acquireTransferWorker, TransferControl, type TransferLease } from '../../src/runtime/transfer/index.js';
import { CONTROL, type ControlLayout } from '../../src/runtime/transfer/protocol.js';
import { runTransferWorker } from '../../src/runtime/transfer/workerMain.js';
import { transferWorkerSource } from '../../src/runtime/transfer/workerSource.js';

/** The source the shared transfer worker runs under Node (the Node platform's host binding). */
const WORKER_SOURCE = transferWorkerSource();

/** Every code of `dtype` once, in order, at the start of a shared buffer; room for their float32 values after. */
function everyCode(dtype: LowPrecisionDtype): { count: number; buffer: SharedArrayBuffer; codesBytes: number; codes: Uint16Array | Uint8Array } {
  const count = 1 << FORMATS[dtype].bits;
  const codesBytes = count * bytesPerCode(dtype);
  const buffer = new SharedArrayBuffer(codesBytes + count * 4);
  const codes = bytesPerCode(dtype) === 2 ? new Uint16Array(buffer, 0, count) : new Uint8Array(buffer, 0, count);
  for (let c = 0; c < count; c++) codes[c] = c;
  return { count, buffer, codesBytes, codes };
}

/** The float32 bit patterns the main thread decodes every code of `dtype` to. */
function mainThreadBits(dtype: LowPrecisionDtype, codes: Uint16Array | Uint8Array): Uint32Array {
  const out = decodeInto(dtype, codes.slice(), new Float32Array(codes.length));
  return new Uint32Array(out.buffer);
}

describe('the transfer worker decodes every code of every dtype as the main thread does', () => {
  let lease: TransferLease;
  let dir: string;
  beforeAll(() => {
    lease = acquireTransferWorker();
    dir = fs.mkdtempSync(join(os.tmpdir(), 'memhooks-worker-codes-'));
  });
  afterAll(() => {
    lease.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const dtype of LOW_PRECISION_DTYPES) {
    it(`${dtype}: a decode job over shared staging memory (all ${1 << FORMATS[dtype].bits} codes)`, () => {
      const { count, buffer, codesBytes, codes } = everyCode(dtype);
      lease.decode({ buffer, items: [[dtype, 0, count, codesBytes]] }, new TransferControl()).wait(`decoding every ${dtype} code`);
      expect(new Uint32Array(buffer, codesBytes, count)).toEqual(mainThreadBits(dtype, codes));
    });

    it(`${dtype}: a read job that decodes what it read from a file (all ${1 << FORMATS[dtype].bits} codes)`, () => {
      const { count, codesBytes, codes } = everyCode(dtype);
      const file = join(dir, `${dtype}.bin`);
      fs.writeFileSync(file, new Uint8Array(codes.buffer, 0, codesBytes));
      const st = fs.statSync(file);
      const buffer = new SharedArrayBuffer(codesBytes + count * 4);
      const job = { path: file, size: st.size, mtimeMs: Math.floor(st.mtimeMs), ranges: [0, codesBytes, 0], buffer, hash: false, decode: [[dtype, 0, count, codesBytes]] as [string, number, number, number][] };
      lease.read(job, new TransferControl()).wait(`reading every ${dtype} code`);
      expect(new Uint32Array(buffer, codesBytes, count)).toEqual(mainThreadBits(dtype, codes));
    });
  }
});

describe('the worker sources are built from the main thread modules, not retyped', () => {
  it('embed the very decoder, decodeBits, worker program and control layout the main thread uses', () => {
    expect(WORKER_SOURCE).toContain(runTransferWorker.toString());
    for (const source of [WORKER_SOURCE, DECODE_WORKER_SOURCE]) {
      expect(source).toContain(createDecoder.toString());
      expect(source).toContain(decodeBits.toString());
      expect(source).toContain(JSON.stringify(FORMATS));
    }
    expect(WORKER_SOURCE).toContain(JSON.stringify(CONTROL));
  });

  it('the main thread decodes through the same createDecoder the workers run', () => {
    const own = createDecoder(FORMATS, decodeBits);
    for (const dtype of LOW_PRECISION_DTYPES) {
      const { codes } = everyCode(dtype);
      const bits = new Uint32Array(own.into(dtype, codes, new Float32Array(codes.length)).buffer);
      expect(bits).toEqual(mainThreadBits(dtype, codes));
    }
    expect(() => own.table('float4')).toThrow(/unknown storage dtype float4/);
  });

  it('a worker built with another control layout reports its statuses and errors where that layout says', async () => {
    // Every status and offset moved: a worker that kept its own numbers would write where this test does not read.
    const layout: ControlLayout = { ...CONTROL, STATE: 3, ERROR_LENGTH: 5, PENDING: 0, DONE: 41, FAILED: 42, CHANGED: 43, DIGEST_AT: 32, ERROR_AT: 200, ERROR_MAX: 16 };
    const worker = new Worker(transferWorkerSource(layout), { eval: true });
    try {
      const control = new SharedArrayBuffer(layout.ERROR_AT + layout.ERROR_MAX);
      const state = new Int32Array(control);
      const { count, buffer, codesBytes } = everyCode('float8_e4m3fn');
      worker.postMessage({ op: 'register', id: 1, buffer: control });
      worker.postMessage({ op: 'register', id: 2, buffer });
      const run = (message: object): number => {
        Atomics.store(state, layout.STATE, layout.PENDING);
        worker.postMessage({ ...message, buffer: 2, control: 1 });
        expect(Atomics.wait(state, layout.STATE, layout.PENDING, 10_000)).not.toBe('timed-out');
        return Atomics.load(state, layout.STATE);
      };
      expect(run({ op: 'decode', decode: [['float8_e4m3fn', 0, count, codesBytes]] })).toBe(41);
      expect(run({ op: 'decode', decode: [['float4', 0, count, codesBytes]] })).toBe(42);
      const length = state[layout.ERROR_LENGTH]!;
      expect(length).toBe(layout.ERROR_MAX);
      expect(Buffer.from(control, layout.ERROR_AT, length).toString('utf8')).toBe('unknown storage dtype float4'.slice(0, layout.ERROR_MAX));
      const missing = join(os.tmpdir(), `memhooks-missing-${process.pid}.bin`);
      // A deleted file is a changed one (CHANGED); a read that fails otherwise (a folder: EISDIR) is FAILED.
      expect(run({ op: 'read', path: missing, size: 1, mtimeMs: 0, ranges: [0, 1, 0], hash: false })).toBe(43);
      expect(Buffer.from(control, layout.ERROR_AT, state[layout.ERROR_LENGTH]!).toString('utf8')).toBe('it was deleted');
      const folder = fs.mkdtempSync(join(os.tmpdir(), 'memhooks-layout-dir-'));
      try {
        const st = fs.statSync(folder);
        expect(run({ op: 'read', path: folder, size: st.size, mtimeMs: Math.floor(st.mtimeMs), ranges: [0, 1, 0], hash: false })).toBe(42);
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
      const file = join(os.tmpdir(), `memhooks-layout-${process.pid}.bin`);
      fs.writeFileSync(file, 'abc');
      try {
        expect(run({ op: 'read', path: file, size: 4, mtimeMs: 0, ranges: [0, 3, 0], hash: false })).toBe(43);
        const st = fs.statSync(file);
        expect(run({ op: 'read', path: file, size: st.size, mtimeMs: Math.floor(st.mtimeMs), ranges: [0, 3, 0], hash: true })).toBe(41);
        expect(Buffer.from(control, layout.DIGEST_AT, 64).toString('latin1')).toMatch(/^ba7816bf/);
      } finally {
        fs.rmSync(file, { force: true });
      }
    } finally {
      await worker.terminate();
    }
  });
});
