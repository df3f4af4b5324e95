import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemhooksError } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectSameState, stateOf, type ModuleState } from '../helpers/modelState.js';
import { expectBitwise } from '../strategies/cpu-offload/models.js';
import { disposeComponents, tinyComponents, TinyPipeline } from './fixtures.js';
import { thrown } from '../helpers/thrown.js';

type Options = Record<string, unknown>;

interface Method {
  fn: string;
  call: (pipe: TinyPipeline, options: Options) => unknown;
  typo: Options;
  key: string;
  suggest: string;
  valid: string[];
  bad: Options;
}

const METHODS: Method[] = [
  {
    fn: 'enableModelCpuOffload',
    call: (p, o) => p.enableModelCpuOffload(o as never),
    typo: { executionDevise: 'device' },
    key: 'executionDevise',
    suggest: 'executionDevice',
    valid: ['executionDevice'],
    bad: { executionDevice: 'webgpu' },
  },
  {
    fn: 'enableSequentialCpuOffload',
    call: (p, o) => p.enableSequentialCpuOffload(o as never),
    typo: { executionDevise: 'device' },
    key: 'executionDevise',
    suggest: 'executionDevice',
    valid: ['executionDevice'],
    bad: { executionDevice: 'webgpu' },
  },
  {
    fn: 'enableGroupOffload',
    call: (p, o) => p.enableGroupOffload(o as never),
    typo: { offloadType: 'leaf_level', excludeModule: 'vae' },
    key: 'excludeModule',
    suggest: 'excludeModules',
    valid: ['excludeModules', 'offloadType', 'useStream', 'offloadToDiskPath'],
    bad: { offloadType: 'leaf_level', prefetchDepth: 0 },
  },
  {
    fn: 'enableVaeSlicing',
    call: (p, o) => p.enableVaeSlicing(o as never),
    typo: { slicesize: 1 },
    key: 'slicesize',
    suggest: 'sliceSize',
    valid: ['sliceSize'],
    bad: { sliceSize: 0 },
  },
  {
    fn: 'enableVaeTiling',
    call: (p, o) => p.enableVaeTiling(o as never),
    typo: { tileSize: 2, tileOverlapp: 0.5 },
    key: 'tileOverlapp',
    suggest: 'tileOverlap',
    valid: ['tileSize', 'tileOverlap', 'outputScale', 'encoder'],
    bad: { tileSize: 2, encoder: { tileSize: 0 } },
  },
  {
    fn: 'enableVaeTiling',
    call: (p, o) => p.enableVaeTiling({ tileSize: 2, encoder: o } as never),
    typo: { tileSize: 2, outputscale: 1 },
    key: 'outputscale',
    suggest: 'outputScale',
    valid: ['tileSize', 'tileOverlap', 'outputScale'],
    bad: { tileSize: 2, outputScale: -1 },
  },
  {
    fn: 'enableMemoryEfficientAttention',
    call: (p, o) => p.enableMemoryEfficientAttention('chunked', o as never),
    typo: { blocksize: 2 },
    key: 'blocksize',
    suggest: 'blockSize',
    valid: ['sliceSize', 'blockSize'],
    bad: { blockSize: -1 },
  },
  {
    fn: 'enableLayerwiseCasting',
    call: (p, o) => p.enableLayerwiseCasting('denoiser', o as never),
    typo: { storagedtype: 'float16' },
    key: 'storagedtype',
    suggest: 'storageDtype',
    valid: ['storageDtype', 'decodeSite'],
    bad: { decodeSite: 'gpu' },
  },
  {
    fn: 'placeComponents',
    call: (p, o) => p.placeComponents('balanced', o as never),
    typo: { maxMemroy: { cpu: '1GB' } },
    key: 'maxMemroy',
    suggest: 'maxMemory',
    valid: ['maxMemory'],
    bad: { maxMemory: { cpu: 'lots' } },
  },
];

/** What is in place when the refused call comes: each pipeline-wide offload, with the switches on. */
const SETUPS: Array<[string, (p: TinyPipeline) => void]> = [
  ['model offload', (p) => p.enableModelCpuOffload()],
  ['sequential offload', (p) => p.enableSequentialCpuOffload()],
  ['group offloading', (p) => p.enableGroupOffload({ offloadType: 'leaf_level' })],
];


describe.each(BACKENDS)('Pipeline methods check all their options before changing anything, on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(SETUPS)('with %s in place', (_name, setUp) => {
    let pipe: TinyPipeline;
    let x: tf.Tensor;
    let expected: tf.Tensor;
    let before: Record<string, ModuleState[]>;
    let map: unknown;

    beforeEach(() => {
      pipe = new TinyPipeline(tinyComponents());
      setUp(pipe);
      pipe.enableVaeSlicing();
      pipe.enableMemoryEfficientAttention('sliced', { sliceSize: 2 });
      x = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 3);
      expected = pipe.run(x);
      before = Object.fromEntries(Object.entries(pipe.components).map(([k, m]) => [k, stateOf(m)]));
      map = pipe.hfDeviceMap;
    });
    afterEach(() => {
      tf.dispose([x, expected]);
      pipe.removeAllHooks();
      disposeComponents(pipe);
    });

    function expectUnchanged(): void {
      for (const [k, m] of Object.entries(pipe.components)) expectSameState(stateOf(m), before[k]!);
      expect(pipe.hfDeviceMap).toEqual(map);
      const out = pipe.run(x);
      expectBitwise(out, expected);
      out.dispose();
    }

    it.each(METHODS)('$fn refuses a misspelt option, naming it, a close match and the valid options', (m) => {
      const error = thrown(() => m.call(pipe, m.typo));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toContain(m.fn);
      expect(error.message).toContain(`\`${m.key}\``);
      expect(error.message).toContain(`did you mean \`${m.suggest}\`?`);
      for (const key of m.valid) expect(error.message).toContain(key);
      expectUnchanged();
    });

    it.each(METHODS)('$fn refuses a bad value and changes nothing', (m) => {
      expect(thrown(() => m.call(pipe, m.bad))).toBeInstanceOf(MemhooksError);
      expectUnchanged();
    });
  });
});
