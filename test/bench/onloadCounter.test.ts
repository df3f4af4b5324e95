import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { applyGroupOffloading, type GroupOffloadingOptions } from '../../src/index.js';
import { overrideTransferThread } from '../../src/runtime/transfer/index.js';
import { countOnloadedBytes } from '../../bench/onloadCounter.js';
import { Blocky } from '../strategies/group-offloading/models.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

/**
 * The benchmarks' "MB onloaded per call": every weight byte crosses once per call under group offloading, whether
 * a group is onloaded when it runs, prefetched straight onto the device (a page's main thread, no shared memory)
 * or staged and completed later.
 */
describe.each(BACKENDS)('the onload byte counter on %s', (backend) => {
  afterEach(() => overrideTransferThread(undefined));
  const threads = [
    ['Node', undefined],
    ['a page that is not cross-origin isolated', { shared: false, canBlock: false }],
  ] as const;
  const options: GroupOffloadingOptions[] = [{ offloadType: 'leaf_level' }, { offloadType: 'leaf_level', useStream: true }, { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }];

  it.each(threads)('counts each weight byte once per call, in %s', async (_label, thread) => {
    await useBackend(backend);
    overrideTransferThread(thread);
    for (const o of options) {
      const m = new Blocky(16);
      const handle = applyGroupOffloading(m, o);
      const x = tf.randomUniform([2, 8]);
      const counter = countOnloadedBytes();
      try {
        // The first call onloads each group that runs as it runs (and records the order the stream prefetches in).
        tf.dispose(m.forward(x));
        const firstCall = counter.bytes;
        counter.reset();
        tf.dispose(m.forward(x));
        expect(firstCall).toBeGreaterThan(0);
        expect(firstCall).toBeLessThanOrEqual(m.memoryFootprint().host);
        expect(counter.bytes, JSON.stringify(o)).toBe(firstCall);
      } finally {
        counter.stop();
        handle.remove();
        x.dispose();
        m.dispose();
      }
    }
  });
});
