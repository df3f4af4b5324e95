import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizeInto, type ShippedDtype } from '../../src/dtypes/index.js';
import { acquireTransferWorker, TransferControl, type TransferLease } from '../../src/runtime/transfer/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

// Shipped codes (a converter manifest's `quantization`) decode bitwise as tfjs decodes them at load, on the main
// thread and on the transfer worker: every float16 code (NaN payloads and signs included), every uint8 and uint16
// code with affine parameters that need double precision.

const CASES: Array<[ShippedDtype, number, number]> = [
  ['float16', 0, 1],
  ['uint8', -0.4321, 0.9 / 255],
  ['uint8', 1e-3, 3.3e-7],
  ['uint16', -0.4321, 0.9 / 65535],
  ['uint16', -12.5, 1 / 3],
];

function everyCode(dtype: ShippedDtype): Uint8Array | Uint16Array {
  return dtype === 'uint8' ? Uint8Array.from({ length: 256 }, (_, c) => c) : Uint16Array.from({ length: 65536 }, (_, c) => c);
}

/** What tfjs-core's own weight decoding (tf.io.decodeWeights) gives for these codes, as float32 bits. */
function tfjsBits(dtype: ShippedDtype, codes: Uint8Array | Uint16Array, min: number, scale: number): Uint32Array {
  const quantization = dtype === 'float16' ? { dtype } : { dtype, min, scale };
  const decoded = tf.io.decodeWeights(codes.slice().buffer, [{ name: 'w', shape: [codes.length], dtype: 'float32', quantization }]);
  const values = decoded['w']!.dataSync() as Float32Array;
  tf.dispose(decoded['w']!);
  return new Uint32Array(values.slice().buffer);
}

/** The first index where the bit patterns differ, -1 when none (a deep toEqual of 65,536 elements is slow). */
function firstDiff(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe.each(BACKENDS)('dequantizing shipped codes as tfjs does, on %s', (backend) => {
  let lease: TransferLease;
  beforeAll(async () => {
    await useBackend(backend);
    lease = acquireTransferWorker();
  });
  afterAll(() => lease.release());

  for (const [dtype, min, scale] of CASES) {
    it(`${dtype} (min ${min}, scale ${scale}): every code, main thread and transfer worker, bitwise tfjs' decode`, () => {
      const codes = everyCode(dtype);
      const expected = tfjsBits(dtype, codes, min, scale);
      const main = dequantizeInto(dtype, codes, new Float32Array(codes.length), min, scale);
      expect(firstDiff(new Uint32Array(main.buffer), expected)).toBe(-1);
      // The worker: codes at an offset of a shared buffer, values after them, as a staging slot holds them.
      const codesAt = 16;
      const outAt = codesAt + Math.ceil(codes.byteLength / 16) * 16;
      const buffer = new SharedArrayBuffer(outAt + codes.length * 4);
      new Uint8Array(buffer, codesAt, codes.byteLength).set(new Uint8Array(codes.buffer));
      lease.decode({ buffer, items: [], dequantize: [[dtype, codesAt, codes.length, outAt, min, scale]] }, new TransferControl()).wait(`dequantizing ${dtype}`);
      expect(firstDiff(new Uint32Array(buffer, outAt, codes.length), expected)).toBe(-1);
    });
  }

  it('float16 NaN codes keep their payload and sign as tfjs keeps them (the casting decoder gives one quiet NaN)', () => {
    const codes = new Uint16Array([0x7c01, 0xfe00, 0x7fff, 0x7c00, 0xfc00]);
    const bits = new Uint32Array(dequantizeInto('float16', codes, new Float32Array(codes.length)).buffer);
    expect(Array.from(bits)).toEqual([0x7f802000, 0xffc00000, 0x7fffe000, 0x7f800000, 0xff800000]);
  });
});
