import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyBatchSlicing,
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  applyTiling,
  Attention,
  cpuOffloadWithHook,
  dispatchModel,
  InvalidArgumentError,
  MemhooksError,
  Linear,
  Module,
  ModuleList,
  setAttentionProcessor,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectSameState, stateOf } from '../helpers/modelState.js';
import { expectBitwise } from './cpu-offload/models.js';
import { thrown } from '../helpers/thrown.js';

/** Linear blocks in a list (block-level offloading has groups) and an Attention (a processor to keep). */
class Net extends Module {
  blocks = new ModuleList([new Linear(8, 8), new Linear(8, 8)]);
  attn = new Attention(8, { heads: 2, dimHead: 4 });
  forward(x: tf.Tensor): tf.Tensor {
    return this.attn.forward(this.blocks.at(1).forward(tf.relu(this.blocks.at(0).forward(x))));
  }
}

type Options = Record<string, unknown>;

interface EntryPoint {
  fn: string;
  call: (net: Net, options: Options) => unknown;
  /** Options with one misspelt key, which must be refused naming `key`, `suggest` and every one of `valid`. */
  typo: Options;
  key: string;
  suggest: string;
  valid: string[];
  /** Options with a known key and a bad value. */
  bad: Options;
}

const ENTRY_POINTS: EntryPoint[] = [
  {
    fn: 'applyTiling',
    call: (n, o) => applyTiling(n, o as never),
    typo: { tileSize: 8, tileOverlapp: 0.5 },
    key: 'tileOverlapp',
    suggest: 'tileOverlap',
    valid: ['tileSize', 'tileOverlap', 'outputScale'],
    bad: { tileSize: 0 },
  },
  {
    fn: 'applyBatchSlicing',
    call: (n, o) => applyBatchSlicing(n, o as never),
    typo: { slicesize: 2 },
    key: 'slicesize',
    suggest: 'sliceSize',
    valid: ['sliceSize'],
    bad: { sliceSize: 1.5 },
  },
  {
    fn: 'setAttentionProcessor',
    call: (n, o) => setAttentionProcessor(n, 'chunked', o as never),
    typo: { blokSize: 4 },
    key: 'blokSize',
    suggest: 'blockSize',
    valid: ['sliceSize', 'blockSize'],
    bad: { blockSize: 0 },
  },
  {
    fn: 'dispatchModel',
    call: (n, o) => dispatchModel(n, { '': 'host' }, o as never),
    typo: { offloadFoldr: '/tmp/never-written' },
    key: 'offloadFoldr',
    suggest: 'offloadFolder',
    valid: ['offloadFolder'],
    bad: { offloadFolder: 42 },
  },
  {
    fn: 'cpuOffloadWithHook',
    call: (n, o) => cpuOffloadWithHook(n, o as never),
    typo: { executionDevise: 'device' },
    key: 'executionDevise',
    suggest: 'executionDevice',
    valid: ['executionDevice', 'prevModuleHook'],
    bad: { executionDevice: 'webgpu' },
  },
  {
    fn: 'applySequentialOffload',
    call: (n, o) => applySequentialOffload(n, o as never),
    typo: { offloadToDiskPth: '/tmp/never-written' },
    key: 'offloadToDiskPth',
    suggest: 'offloadToDiskPath',
    valid: ['executionDevice', 'offloadToDiskPath'],
    bad: { executionDevice: 'webgpu' },
  },
  {
    fn: 'applyGroupOffloading',
    call: (n, o) => applyGroupOffloading(n, o as never),
    typo: { offloadType: 'leaf_level', usestream: true },
    key: 'usestream',
    suggest: 'useStream',
    valid: ['onloadDevice', 'offloadType', 'numBlocksPerGroup', 'useStream', 'keepResident', 'blockModules'],
    bad: { offloadType: 'block' },
  },
  {
    fn: 'applyLayerwiseCasting',
    call: (n, o) => applyLayerwiseCasting(n, o as never),
    typo: { storagedtype: 'float16' },
    key: 'storagedtype',
    suggest: 'storageDtype',
    valid: ['storageDtype', 'computeDtype', 'skipModulesPattern', 'skipModulesClasses', 'nonBlocking', 'decodeSite'],
    bad: { storageDtype: 'int4' },
  },
];


describe.each(BACKENDS)('every strategy entry point checks all its options before changing anything, on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  let net: Net;
  let x: tf.Tensor;
  let expected: tf.Tensor;
  beforeEach(() => {
    net = new Net();
    // Something already set, which a refused call must leave in place.
    setAttentionProcessor(net.attn, 'sliced', { sliceSize: 2 });
    x = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 5);
    expected = net.forward(x);
  });
  afterEach(() => {
    tf.dispose([x, expected]);
    net.dispose();
  });

  it.each(ENTRY_POINTS)('$fn refuses a misspelt option, naming it, a close match and the valid options', (entry) => {
    const before = stateOf(net);
    const error = thrown(() => entry.call(net, entry.typo));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toContain(entry.fn);
    expect(error.message).toContain(`\`${entry.key}\``);
    expect(error.message).toContain(`did you mean \`${entry.suggest}\`?`);
    for (const key of entry.valid) expect(error.message).toContain(key);
    expectSameState(stateOf(net), before);
    const out = net.forward(x);
    expectBitwise(out, expected);
    out.dispose();
  });

  it.each(ENTRY_POINTS)('$fn refuses a bad value and changes nothing', (entry) => {
    const before = stateOf(net);
    expect(thrown(() => entry.call(net, entry.bad))).toBeInstanceOf(MemhooksError);
    expectSameState(stateOf(net), before);
    const out = net.forward(x);
    expectBitwise(out, expected);
    out.dispose();
  });

  it('an unknown key without a close match is named with the valid options, and no guess', () => {
    const error = thrown(() => applyTiling(net, { tileSize: 8, zzz: 1 } as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toContain('`zzz`');
    expect(error.message).not.toContain('did you mean');
    expect(error.message).toMatch(/tileSize, tileOverlap, outputScale/);
  });
});
