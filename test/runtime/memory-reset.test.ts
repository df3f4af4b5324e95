import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

// Its own file: engine.reset() throws away every backend and tensor of the process.
describe.each(BACKENDS)('memory tracker across engine.reset() on %s', (backend) => {
  it('starts counting afresh on the new engine state', async () => {
    await useBackend(backend);
    tf.zeros([256]);
    expect(memory.stats().deviceBytes).toBeGreaterThanOrEqual(1024);
    tf.engine().reset();
    await useBackend(backend);
    // Allocated before anything asks the tracker: still counted, on the new engine state.
    const t = tf.zeros([256]);
    expect(memory.bytesOn(backend)).toBe(1024);
    expect(memory.stats().deviceBytes).toBe(1024);
    t.dispose();
    expect(memory.stats().deviceBytes).toBe(0);
  });
});
