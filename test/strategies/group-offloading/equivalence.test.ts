import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, type GroupOffloadingOptions, type Module } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { bits, Blocky, Nested, withEarlyUploads } from './models.js';

const CONFIGS: Array<[string, GroupOffloadingOptions]> = [
  ['block level, 1 block per group', { offloadType: 'block_level', numBlocksPerGroup: 1 }],
  ['block level, 3 blocks per group', { offloadType: 'block_level', numBlocksPerGroup: 3 }],
  ['block level + stream, depth 2', { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true, prefetchDepth: 2 }],
  ['leaf level', { offloadType: 'leaf_level' }],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }],
  ['leaf level + stream + recordStream + lowCpuMemUsage, depth 3', { offloadType: 'leaf_level', useStream: true, recordStream: true, lowCpuMemUsage: true, prefetchDepth: 3 }],
  ['leaf level + first_last', { offloadType: 'leaf_level', useStream: true, keepResident: 'first_last' }],
  ['leaf level + keepResident paths', { offloadType: 'leaf_level', keepResident: ['blocks.1', 'head'] }],
];

describe.each(BACKENDS)('group offloading equivalence on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));

  describe.each(CONFIGS.flatMap(([label, o]) => (o.useStream ? [[label, o, false], [`${label}, early uploads`, o, true]] : [[label, o, false]]) as Array<[string, GroupOffloadingOptions, boolean]>))('%s', (_label, options, early) => {
    it('is bitwise equal to the resident model over repeated calls, with blocks run out of declaration order and a branch that runs on some calls only', () => (early ? withEarlyUploads : (_b: string, f: () => void) => f())(backend, () => {
      const model = new Blocky();
      models.push(model);
      const x = tf.randomNormal([3, 8], 0, 1, 'float32', 11);
      const ref = [false, true].map((b) => bits(model.forward(x, b)));
      const handle = applyGroupOffloading(model, options);
      // The branch does not run on the first (recording) call: later calls must onload it synchronously.
      for (const branch of [false, false, true, false, true, true]) {
        const y = model.forward(x, branch);
        expect(bits(y)).toEqual(ref[branch ? 1 : 0]);
        y.dispose();
      }
      handle.remove();
      const y = model.forward(x, true);
      expect(bits(y)).toEqual(ref[1]);
      tf.dispose([x, y]);
    }));
  });

  it.each(CONFIGS.filter(([, o]) => o.keepResident === undefined || o.keepResident === 'first_last'))(
    'is bitwise equal on nested containers with parameter-only modules (%s)',
    (_label, options) => {
      const model = new Nested();
      models.push(model);
      const x = tf.randomNormal([2, 8], 0, 1, 'float32', 13);
      const ref = bits(model.forward(x));
      const handle = applyGroupOffloading(model, options);
      withEarlyUploads(backend, () => {
        for (let i = 0; i < 4; i++) {
          const y = model.forward(x);
          expect(bits(y)).toEqual(ref);
          y.dispose();
        }
      });
      handle.remove();
      x.dispose();
    },
  );
});
