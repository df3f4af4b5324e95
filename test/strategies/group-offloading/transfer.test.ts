import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireTransferWorker, TransferControl, transferWorkerStatus } from '../../../src/runtime/transfer/index.js';

describe('the transfer worker', () => {
  let dir: string;
  let file: string;
  const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 255);
  beforeAll(() => {
    dir = fs.mkdtempSync(join(os.tmpdir(), 'memhooks-transfer-'));
    file = join(dir, 'bytes.bin');
    fs.writeFileSync(file, data);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const job = (buffer: SharedArrayBuffer, ranges: number[]) => {
    const st = fs.statSync(file);
    return { path: file, size: st.size, mtimeMs: Math.floor(st.mtimeMs), ranges, buffer, hash: true };
  };

  it('starts lazily at the first job, reads ranges into shared memory while this thread blocks synchronously, and stops with the last lease', () => {
    const before = transferWorkerStatus();
    expect(before.running).toBe(false);
    const a = acquireTransferWorker();
    const b = acquireTransferWorker();
    expect(transferWorkerStatus()).toEqual({ running: false, leases: before.leases + 2, starts: before.starts });
    const buffer = new SharedArrayBuffer(3000);
    // Never yields to the event loop between posting and waiting: the worker must make progress on its own.
    const control = a.read(job(buffer, [100, 1000, 0, 500_000, 2000, 1000]), new TransferControl());
    control.wait('a test read');
    expect([...new Uint8Array(buffer, 0, 1000)]).toEqual([...data.subarray(100, 1100)]);
    expect([...new Uint8Array(buffer, 1000, 2000)]).toEqual([...data.subarray(500_000, 502_000)]);
    const expected = createHash('sha256').update(data.subarray(100, 1100)).update(data.subarray(500_000, 502_000)).digest('hex');
    expect(control.digest()).toBe(expected);
    expect(transferWorkerStatus()).toMatchObject({ running: true, starts: before.starts + 1 });
    // The buffer is registered with the worker once; a second job names it by id.
    b.read(job(buffer, [0, 10, 0]), control).wait('a second read');
    expect([...new Uint8Array(buffer, 0, 10)]).toEqual([...data.subarray(0, 10)]);
    expect(transferWorkerStatus().starts).toBe(before.starts + 1);
    a.release();
    a.release();
    expect(transferWorkerStatus().running).toBe(true);
    b.release();
    expect(transferWorkerStatus()).toMatchObject({ running: false, leases: before.leases });
  });

  it('refuses a file that changed since it was recorded, and reports read errors, without hanging', () => {
    const lease = acquireTransferWorker();
    try {
      const buffer = new SharedArrayBuffer(16);
      const stale = { ...job(buffer, [0, 16, 0]), size: data.length + 1 };
      const control = new TransferControl();
      expect(() => lease.read(stale, control).wait('group "x"')).toThrow(/The file read for group "x" changed since it was recorded \(it was modified: size \d+ vs \d+\)/);
      expect(() => lease.read({ ...job(buffer, [0, 16, 0]), path: join(dir, 'missing.bin') }, control).wait('group "y"')).toThrow(/changed since it was recorded \(it was deleted\)/);
      expect(() => lease.read(job(buffer, [data.length - 8, 16, 0]), control).wait('group "z"')).toThrow(/the file ended early/);
    } finally {
      lease.release();
    }
  });
});
