import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, memory, Parameter } from '../../src/index.js';
import type { DiskRef, DiskSpan } from '../../src/models/Parameter.js';
import { saveSafetensorsSync } from '../../src/io/safetensors/write.js';
import { setUploadPieceBytes, uploadsInPieces } from '../../src/models/parameter/pieces.js';
import { safetensorsRef } from '../../src/strategies/device-map/disk.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { scratchDirs } from '../helpers/scratch.js';
import { thrown } from '../helpers/thrown.js';

const PIECE = 64;
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

// Shapes that take each branch of the piecewise upload at 64-byte pieces (16 values): one piece, whole rows
// (7 values a row: 2 rows a piece), rows bigger than a piece (flat pieces, reshaped), a scalar, int32 values.
const WEIGHTS: Array<{ name: string; shape: number[]; values: Float32Array | Int32Array }> = [
  { name: 'small', shape: [2, 3], values: seq(6, (i) => i / 7 - 0.3) },
  { name: 'rows', shape: [10, 7], values: seq(70, (i) => Math.sin(i) * 1e3) },
  { name: 'wide', shape: [3, 40], values: seq(120, (i) => (i % 2 === 0 ? -1 : 1) * 2 ** (i % 30)) },
  { name: 'vector', shape: [37], values: seq(37, (i) => i * 1e-20) },
  { name: 'scalar', shape: [], values: Float32Array.of(-0) },
  { name: 'ints', shape: [9, 5], values: Int32Array.from({ length: 45 }, (_, i) => (i * 2654435761) | 0) },
];

/** A safetensors file of WEIGHTS, and a reference per weight whose reads are recorded. */
function weightsFile(dir: string): { refs: Map<string, DiskRef>; reads: number[]; spans: number } {
  const path = join(dir, 'weights.safetensors');
  saveSafetensorsSync(path, Object.fromEntries(WEIGHTS.map((w) => [w.name, { dtype: w.values instanceof Int32Array ? 'I32' : 'F32', shape: w.shape, data: new Uint8Array(w.values.buffer) }])));
  const log = { refs: new Map<string, DiskRef>(), reads: [] as number[], spans: 0 };
  for (const w of WEIGHTS) {
    const ref = safetensorsRef(path, w.name);
    log.refs.set(w.name, {
      path: ref.path,
      read: () => ref.read(),
      openSpan: (): DiskSpan | undefined => {
        const span = ref.openSpan!()!;
        log.spans++;
        return { byteLength: span.byteLength, close: () => span.close(), readAt: (t, at) => (log.reads.push(t.byteLength), span.readAt(t, at)) };
      },
    });
  }
  return log;
}

const onDisk = (w: (typeof WEIGHTS)[number], ref: DiskRef): Parameter => Parameter.fromHost(w.values, w.shape).toDisk(ref);

describe.each(BACKENDS)('uploads from disk a piece at a time, on %s', (backend) => {
  const tmp = scratchDirs('memhooks-pieces-');
  let restore: (() => void) | undefined;
  beforeAll(() => useBackend(backend));
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  it('uploads every shape bitwise; wasm reads straight into its heap a piece at a time, cpu (which adopts arrays) reads whole', () => {
    restore = setUploadPieceBytes(PIECE);
    const log = weightsFile(tmp());
    const host = memory.stats().hostBytes;
    for (const w of WEIGHTS) {
      expectNoLeaks(() => {
        const p = onDisk(w, log.refs.get(w.name)!);
        p.toDevice();
        expect(p.tier).toBe('device');
        expect(bytes(p.read().dataSync() as Float32Array).equals(bytes(w.values)), w.name).toBe(true);
        expect(memory.stats().hostBytes).toBe(host);
        p.dispose();
      });
    }
    expect(uploadsInPieces()).toBe(backend === 'wasm');
    if (backend === 'wasm') {
      expect(log.spans).toBe(WEIGHTS.length);
      expect(Math.max(...log.reads)).toBeLessThanOrEqual(PIECE);
      expect(log.reads.reduce((a, b) => a + b, 0)).toBe(WEIGHTS.reduce((n, w) => n + w.values.byteLength, 0));
      // Read straight into the wasm heap in 64-byte pieces: "small" (24 bytes) in one, "rows" (280) in four and the rest.
      expect(log.reads.slice(0, 6)).toEqual([24, 64, 64, 64, 64, 24]);
    } else {
      expect(log.spans).toBe(0);
    }
  });

  it('keeps a tf.Variable its name and trainability across an upload from disk', () => {
    restore = setUploadPieceBytes(PIECE);
    const log = weightsFile(tmp());
    const w = WEIGHTS[1]!;
    const p = new Parameter(tf.variable(tf.tensor(w.values, w.shape), false, `pieces-var-${backend}`));
    p.toHost();
    p.toDisk(log.refs.get(w.name)!);
    p.toDevice();
    const v = p.read();
    expect(v).toBeInstanceOf(tf.Variable);
    expect((v as tf.Variable).name).toBe(`pieces-var-${backend}`);
    expect((v as tf.Variable).trainable).toBe(false);
    expect(bytes(v.dataSync() as Float32Array).equals(bytes(w.values))).toBe(true);
    p.dispose();
  });

  it('leaves a weight on disk, with nothing leaked or held, when its file fails part-way or has the wrong length', () => {
    restore = setUploadPieceBytes(PIECE);
    const log = weightsFile(tmp());
    const w = WEIGHTS[1]!;
    const ref = log.refs.get(w.name)!;
    let calls = 0;
    const failing: DiskRef = {
      path: ref.path,
      read: () => {
        throw new Error('the disk is gone');
      },
      openSpan: () => {
        const span = ref.openSpan!()!;
        return { ...span, close: () => span.close(), readAt: (t, at) => (++calls === 3 ? (() => { throw new Error('the disk is gone'); })() : span.readAt(t, at)) };
      },
    };
    const short: DiskRef = { path: ref.path, read: ref.read, openSpan: () => ({ byteLength: 8, readAt: () => undefined, close: () => undefined }) };
    const host = memory.stats().hostBytes;
    expectNoLeaks(() => {
      const p = onDisk(w, failing);
      expect(() => p.toDevice()).toThrow('the disk is gone');
      expect(p.tier).toBe('disk');
      if (backend === 'wasm') expect(calls).toBe(3);
      const q = onDisk(w, short);
      if (backend === 'wasm') {
        const error = thrown(() => q.toDevice());
        expect(error).toMatchObject({ code: ERROR_CODES.OFFLOAD_FILE_CHANGED });
        expect(String(error)).toContain('holds 8 bytes for a weight of shape [10, 7] (280 bytes of float32)');
        expect(q.tier).toBe('disk');
      } else {
        q.toDevice(); // cpu reads the weight whole (read()): the span is not used
        expect(q.tier).toBe('device');
      }
      expect(memory.stats().hostBytes).toBe(host);
      p.dispose();
      q.dispose();
    });
  });

  it('refuses a piece size that is not a whole number of at least 8 bytes', () => {
    expect(() => setUploadPieceBytes(4)).toThrow('at least 8');
    expect(() => setUploadPieceBytes(1.5e1 + 0.5)).toThrow('whole number');
  });
});
