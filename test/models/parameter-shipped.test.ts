import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, memory, Parameter } from '../../src/index.js';
import { ShippedCodes } from '../../src/models/parameter/shipped.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { sameBits } from '../wrap/fixtures.js';

// A Parameter whose host form is shipped codes (wrapGraphModel's hostWeights: 'shipped'): every tier move through
// the one transition, the ledger counting the codes, the device always holding the float32 values.

const CODES = new Uint8Array([0, 1, 2, 127, 128, 200, 254, 255]);
const MIN = -0.4321;
const SCALE = 0.9 / 255;

function shippedWeight(): { p: Parameter; values: Float32Array; codes: ShippedCodes } {
  const codes = new ShippedCodes('uint8', CODES.slice(), MIN, SCALE);
  const values = codes.decode();
  const p = new Parameter(tf.tensor(values.slice(), [2, 4]), { label: 'w', shipped: codes });
  return { p, values, codes };
}

describe.each(BACKENDS)('a Parameter holding shipped codes on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('keeps its codes on the host on every move: offloading is a dispose, onloading decodes; the ledger counts the codes', () => {
    expectNoLeaks(() => {
      const host0 = memory.stats().hostBytes;
      const { p, values, codes } = shippedWeight();
      expect(memory.stats().hostBytes - host0).toBe(8);
      expect(p.shippedCodes()).toBe(codes);
      expect(p.byteLength).toBe(32);
      p.toHost();
      expect(p.tier).toBe('host');
      expect(p.tierByteLength).toBe(8);
      expect(memory.stats().hostBytes - host0).toBe(8);
      expect(sameBits(p.hostData(), values)).toBe(true);
      // Without keepHostCopy too: the codes are the weight's host form, not a copy made for one offload.
      p.toDevice();
      expect(sameBits(p.read().dataSync(), values)).toBe(true);
      expect(p.hasHostCopy).toBe(true);
      p.dropHostCopy();
      expect(p.shippedCodes()).toBe(codes);
      expect(memory.stats().hostBytes - host0).toBe(8);
      p.toHost();
      // Values decoded elsewhere (the transfer worker) are uploaded as they are, the codes kept.
      p.shippedToDevice(codes.decode());
      expect(sameBits(p.read().dataSync(), values)).toBe(true);
      expect(memory.stats().hostBytes - host0).toBe(8);
      p.dispose();
      expect(memory.stats().hostBytes).toBe(host0);
    });
  });

  it('new values replace the codes with float32 values; a readback then gives float32 host bytes', () => {
    expectNoLeaks(() => {
      const host0 = memory.stats().hostBytes;
      const { p } = shippedWeight();
      const fresh = tf.fill([2, 4], 0.5);
      p.assign(fresh);
      fresh.dispose();
      expect(p.shippedCodes()).toBeUndefined();
      expect(memory.stats().hostBytes).toBe(host0);
      p.toHost();
      expect(p.tierByteLength).toBe(32);
      expect(Array.from(p.hostData())).toEqual(new Array(8).fill(0.5));
      expect(memory.stats().hostBytes - host0).toBe(32);
      expect(() => p.shippedToDevice(new Float32Array(8))).toThrow(/holds no shipped codes/);
      p.dispose();
    });
  });

  it('refuses codes that cannot stand for the tensor, and values that do not fit, before anything changes', () => {
    const host0 = memory.stats().hostBytes;
    const tensors = tf.memory().numTensors;
    const t = tf.zeros([3]);
    expect(() => new Parameter(t, { shipped: new ShippedCodes('uint8', CODES.slice(), MIN, SCALE) })).toThrow(InvalidArgumentError);
    t.dispose();
    expect(memory.stats().hostBytes).toBe(host0);
    expect(tf.memory().numTensors).toBe(tensors);
    const { p } = shippedWeight();
    p.toHost();
    expect(() => p.shippedToDevice(new Float32Array(3))).toThrow(/needs 8 float32 values/);
    expect(p.tier).toBe('host');
    p.dispose();
  });
});
