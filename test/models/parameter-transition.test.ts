import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { NO_STORAGE, onDevice, onDisk, onHost } from '../../src/models/parameter/kinds.js';
import { transition } from '../../src/models/parameter/transition.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

describe.each(BACKENDS)('the storage transition on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('moves hostBytes by what the kinds hold before and after, kept copies included', () => {
    const before = memory.stats().hostBytes;
    const data = new Float32Array(6);
    const host = transition(NO_STORAGE, onHost(data));
    expect(memory.stats().hostBytes).toBe(before + 24);
    const tensor = tf.keep(tf.tensor(data));
    const kept = transition(host, onDevice(tensor, data));
    expect(memory.stats().hostBytes).toBe(before + 24);
    const device = transition(kept, onDevice(tensor));
    expect(memory.stats().hostBytes).toBe(before);
    expect(tensor.isDisposed).toBe(false);
    const disk = transition(device, onDisk({ path: 'memory://w', read: () => new Float32Array(6) }));
    expect(memory.stats().hostBytes).toBe(before);
    expect(tensor.isDisposed).toBe(true);
    transition(disk, NO_STORAGE);
    expect(memory.stats().hostBytes).toBe(before);
  });

  it('disposes the tensor it leaves behind, unless the next kind holds it or it is handed over', () => {
    const tensors = tf.memory().numTensors;
    const a = tf.keep(tf.zeros([3]));
    const b = tf.keep(tf.ones([3]));
    const onA = transition(NO_STORAGE, onDevice(a));
    const stillA = transition(onA, onDevice(a, new Float32Array(3)));
    expect(a.isDisposed).toBe(false);
    const onB = transition(stillA, onDevice(b));
    expect(a.isDisposed).toBe(true);
    transition(onB, NO_STORAGE, true);
    expect(b.isDisposed).toBe(false);
    b.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

describe('Parameter code', () => {
  it('edits the ledger only in the transition', () => {
    // A hand edit elsewhere is how a move forgets its share of memory.stats(): the transition computes it once.
    const dir = fileURLToPath(new URL('../../src/models/', import.meta.url));
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const editors = files.filter((f) => /\bledger\.\w+\s*(\+|-)?=(?!=)/.test(readFileSync(join(dir, f), 'utf8')));
    expect(editors.map((f) => f.split('\\').join('/'))).toEqual(['parameter/transition.ts']);
  });
});
