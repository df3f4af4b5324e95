import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

const N = 1 << 14; // 16384 floats = 64 KiB per tensor
const B = N * 4;

describe.each(BACKENDS)('memory tracker on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('counts live buffers on the active backend', () => {
    const base = memory.stats().deviceBytes;
    const a = tf.zeros([N]);
    expect(memory.stats().deviceBytes).toBe(base + B);
    const alias = tf.reshape(a, [128, 128]);
    // A reshape shares the buffer; tf.memory().numBytes would count it twice.
    expect(memory.stats().deviceBytes).toBe(base + B);
    expect(tf.memory().numBytes).toBeGreaterThanOrEqual(base + 2 * B);
    a.dispose();
    expect(memory.stats().deviceBytes).toBe(base + B);
    alias.dispose();
    expect(memory.stats().deviceBytes).toBe(base);
  });

  it('reports the peak of a known op sequence exactly', () => {
    const x = tf.ones([N]);
    const base = memory.stats().deviceBytes;
    const { result, peakDeviceBytes } = memory.track(() =>
      tf.tidy(() => {
        // Tensor operands only: a number operand would upload a scalar that nobody disposes.
        const a = tf.add(x, x); // base + B
        const b = tf.mul(a, x); // base + 2B
        const c = tf.sub(b, a); // base + 3B
        return tf.neg(c); // base + 4B ← peak: tidy frees a, b, c only when it returns
      }),
    );
    expect(peakDeviceBytes).toBe(base + 4 * B);
    expect(memory.stats().deviceBytes).toBe(base + B);
    expect(result.dataSync()[0]).toBe(-0);
    result.dispose();

    const disposedEarly = memory.track(() => {
      const a = tf.add(x, x); // base + B
      const b = tf.mul(a, x); // base + 2B  ← peak
      a.dispose(); // base + B
      const c = tf.neg(b); // base + 2B
      b.dispose();
      return c;
    });
    expect(disposedEarly.peakDeviceBytes).toBe(base + 2 * B);
    disposedEarly.result.dispose();
    x.dispose();
  });

  it('sees a tensor uploaded and disposed between kernels, which tf.profile misses', () => {
    const base = memory.stats().deviceBytes;
    const { peakDeviceBytes } = memory.track(() => {
      tf.tensor(new Float32Array(4 * N)).dispose();
    });
    expect(peakDeviceBytes).toBe(base + 4 * B);
    expect(memory.stats().deviceBytes).toBe(base);
  });

  it('nests: an outer track sees the inner peak and an inner track starts from the present', () => {
    const base = memory.stats().deviceBytes;
    const outer = memory.track(() => {
      const held = tf.zeros([N]); // base + B
      const inner = memory.track(() => {
        tf.zeros([2 * N]).dispose(); // base + 3B inside
      });
      held.dispose();
      return inner.peakDeviceBytes;
    });
    expect(outer.result).toBe(base + 3 * B);
    expect(outer.peakDeviceBytes).toBe(base + 3 * B);
    memory.resetPeak();
    expect(memory.stats().peakDeviceBytes).toBe(memory.stats().deviceBytes);
  });

  it('keeps the peak when fn throws', () => {
    const base = memory.stats().deviceBytes;
    memory.resetPeak();
    expect(() =>
      memory.track(() => {
        tf.zeros([N]).dispose();
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(memory.stats().peakDeviceBytes).toBe(base + B);
  });

  it('refuses to time async work, which it would cut at the first await', () => {
    expect(() => memory.track(async () => {})).toThrow(/measures synchronous work.*memory.resetPeak\(\)/);
    expect(() => memory.track(5 as unknown as () => void)).toThrow('memory.track(fn) needs a function to run, got number.');
  });

  it('counts a variable over an existing tensor once', () => {
    const base = memory.stats().deviceBytes;
    const t = tf.zeros([N]);
    const v = tf.variable(t);
    expect(memory.stats().deviceBytes).toBe(base + B);
    t.dispose();
    v.dispose();
    expect(memory.stats().deviceBytes).toBe(base);
  });

  it('starts counting afresh when switched back on, never over-counting what was freed meanwhile', () => {
    const counted = tf.zeros([N]);
    memory.setEnabled(false);
    expect(memory.enabled).toBe(false);
    const untracked = tf.zeros([N]);
    counted.dispose(); // freed while off: unseen
    memory.setEnabled(true);
    expect(memory.stats().deviceBytes).toBe(0);
    untracked.dispose();
    expect(memory.stats().deviceBytes).toBe(0);
    const tracked = tf.zeros([N]);
    expect(memory.stats().deviceBytes).toBe(B);
    tracked.dispose();
    expect(memory.stats().deviceBytes).toBe(0);
  });

  it('reports the wasm heap only on wasm', () => {
    const heap = memory.stats().wasmHeapBytes;
    if (backend === 'wasm') expect(heap).toBeGreaterThanOrEqual(16 * 2 ** 20);
    else expect(heap).toBeUndefined();
  });
});

describe('memory tracker across backends', () => {
  it('moves bytes between backends when tfjs moves data', async () => {
    await useBackend('cpu');
    const cpuBase = memory.bytesOn('cpu');
    const t = tf.zeros([N]);
    expect(memory.bytesOn('cpu')).toBe(cpuBase + B);
    await useBackend('wasm');
    const wasmBase = memory.bytesOn('wasm');
    const sum = tf.sum(t); // a wasm kernel reading t moves it from cpu to wasm
    expect(memory.bytesOn('cpu')).toBe(cpuBase);
    expect(memory.bytesOn('wasm')).toBe(wasmBase + B + 4);
    tf.dispose([t, sum]);
    expect(memory.bytesOn('wasm')).toBe(wasmBase);
  });
});
