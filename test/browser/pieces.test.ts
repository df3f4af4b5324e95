import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Parameter } from 'memhooks';
import type { DiskRef } from '../../src/models/Parameter.js';
import { setUploadPieceBytes, uploadsInPieces } from '../../src/models/parameter/pieces.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { pageBackendName, usePageBackend } from '../helpers/pageBackend.js';

const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
const bits = (a: ArrayBufferView): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

// The shapes of the Node twin (test/models/parameter-pieces.test.ts): one piece, whole rows, rows bigger than a
// piece, a scalar. On webgl and webgpu each piece is uploaded at once (uploadToGPU) and the pieces are joined on the
// GPU: a piece left in host memory until its first use would read the next piece's bytes, and the values would differ.
const WEIGHTS = [
  { shape: [2, 3], values: seq(6, (i) => i / 7 - 0.3) },
  { shape: [10, 7], values: seq(70, (i) => Math.sin(i) * 1e3) },
  { shape: [3, 40], values: seq(120, (i) => (i % 2 === 0 ? -1 : 1) * 2 ** (i % 30)) },
  { shape: [], values: Float32Array.of(1.5) },
  { shape: [9, 5], values: Int32Array.from({ length: 45 }, (_, i) => (i * 7919) % 16777216) },
];

/** A weight "on disk" whose bytes are an in-memory copy: the piecewise upload reads them through openSpan. */
function memoryRef(values: Float32Array | Int32Array, reads: number[]): DiskRef {
  const stored = new Uint8Array(values.buffer.slice(0));
  return {
    path: 'memory',
    read: () => (values instanceof Int32Array ? new Int32Array(stored.buffer.slice(0)) : new Float32Array(stored.buffer.slice(0))),
    openSpan: () => ({ byteLength: stored.byteLength, readAt: (t, at) => (reads.push(t.byteLength), t.set(stored.subarray(at, at + t.byteLength))), close: () => undefined }),
  };
}

describe('uploads from disk a piece at a time in the page', () => {
  let restore: (() => void) | undefined;
  beforeAll(() => usePageBackend());
  afterEach(() => restore?.());

  it('uploads every shape bitwise through one 64-byte buffer, each piece taken by the backend at once', async () => {
    restore = setUploadPieceBytes(64);
    expect(uploadsInPieces()).toBe(true);
    await uploadsBitwise();
  });

  it('fills a texture (webgl), a GPU buffer (webgpu) or the wasm heap a piece at a time, bitwise (256-byte pieces; [10, 7] is 5 × 4 texels on webgl)', async () => {
    restore = setUploadPieceBytes(256);
    const reads = await uploadsBitwise();
    // webgl: whole rows of texels (3 rows of 5 texels); webgpu and wasm: 256-byte pieces of its GPU buffer or of the
    // tensor's memory in the wasm heap.
    const expected = { webgl: [240, 40], webgpu: [256, 24], wasm: [256, 24] }[pageBackendName()];
    expect(reads.get('10,7')).toEqual(expected);
  });

  /** Uploads every weight from "disk" and compares its values bit for bit; returns the piece sizes read, by shape. */
  async function uploadsBitwise(): Promise<Map<string, number[]>> {
    const byShape = new Map<string, number[]>();
    for (const w of WEIGHTS) {
      const reads: number[] = [];
      await expectNoLeaks(async () => {
        const p = Parameter.fromHost(w.values, w.shape).toDisk(memoryRef(w.values, reads));
        p.toDevice();
        expect(p.tier).toBe('device');
        expect(bits((await p.read().data()) as Float32Array | Int32Array), `[${w.shape.join(', ')}] on ${pageBackendName()}`).toEqual(bits(w.values));
        p.dispose();
      });
      expect(reads.reduce((a, b) => a + b, 0)).toBe(w.values.byteLength);
      byShape.set(w.shape.join(','), reads);
    }
    return byShape;
  }

  it('puts a weight on the GPU at toDevice(), not at its first use (webgl, webgpu)', () => {
    if (pageBackendName() === 'wasm') return void expect(uploadsInPieces()).toBe(true);
    const w = WEIGHTS[1]!;
    const gpu = (): number => (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0;
    const p = Parameter.fromHost(w.values, w.shape).toDisk(memoryRef(w.values, []));
    const before = gpu();
    p.toDevice();
    expect(gpu() - before).toBeGreaterThanOrEqual(w.values.byteLength);
    p.dispose();
  });
});
