import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { bytesPerCode, decodeInto, DECODE_WORKER_SOURCE, LOW_PRECISION_DTYPES } from '../../src/dtypes/index.js';

/** Runs the worker decoder over SharedArrayBuffers holding every code, and waits for it with Atomics. */
function decodeInWorker(dtype: string, codes: SharedArrayBuffer, out: SharedArrayBuffer, done: SharedArrayBuffer): Promise<void> {
  const worker = new Worker(
    `${DECODE_WORKER_SOURCE}
     const { parentPort } = require('node:worker_threads');
     parentPort.once('message', ({ dtype, codes, out, done, bytes }) => {
       const view = bytes === 2 ? new Uint16Array(codes) : new Uint8Array(codes);
       decodeInto(dtype, view, new Float32Array(out));
       const flag = new Int32Array(done);
       Atomics.store(flag, 0, 1);
       Atomics.notify(flag, 0);
     });`,
    { eval: true },
  );
  worker.postMessage({ dtype, codes, out, done, bytes: bytesPerCode(dtype as never) });
  // The main thread may block here as a hook does: the worker runs on its own thread.
  Atomics.wait(new Int32Array(done), 0, 0, 10_000);
  return worker.terminate().then(() => undefined);
}

describe('the decoder as worker source', () => {
  for (const dtype of LOW_PRECISION_DTYPES) {
    it(`${dtype}: a worker decodes every code into shared memory exactly as the main thread does`, async () => {
      const count = bytesPerCode(dtype) === 2 ? 65536 : 256;
      const codesBuffer = new SharedArrayBuffer(count * bytesPerCode(dtype));
      const codes = bytesPerCode(dtype) === 2 ? new Uint16Array(codesBuffer) : new Uint8Array(codesBuffer);
      for (let c = 0; c < count; c++) codes[c] = c;
      const out = new SharedArrayBuffer(count * 4);
      const done = new SharedArrayBuffer(4);
      await decodeInWorker(dtype, codesBuffer, out, done);
      expect(Atomics.load(new Int32Array(done), 0)).toBe(1);
      const expected = decodeInto(dtype, codes, new Float32Array(count));
      expect(new Uint32Array(out)).toEqual(new Uint32Array(expected.buffer));
    });
  }
});
