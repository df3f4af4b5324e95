import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  appliedStrategies,
  events,
  applyGroupOffloading,
  HookRegistry,
  InvalidArgumentError,
  Linear,
  Module,
  module,
  type GroupOffloadingOptions,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { bits, Blocky } from './models.js';

@module({ groupOffloadBlockModules: ['encoder', 'decoder'] })
class TinyVae extends Module {
  encoder = new Linear(8, 4);
  middle = new Linear(4, 4);
  decoder = new Linear(4, 8);
  forward(x: tf.Tensor): tf.Tensor {
    return this.decoder.forward(this.middle.forward(this.encoder.forward(x)));
  }
}

@module({ supportsGroupOffloading: false })
class Refuses extends Module {
  l = new Linear(2, 2);
  forward(x: tf.Tensor): tf.Tensor {
    return this.l.forward(x);
  }
}

const INVALID: Array<[string, unknown, RegExp]> = [
  ['an unknown type', { offloadType: 'block' }, /option `offloadType` must be one of 'block_level', 'leaf_level', got "block"/],
  ['block level without numBlocksPerGroup', { offloadType: 'block_level' }, /option `numBlocksPerGroup` must be given when offloadType is 'block_level'/],
  ['numBlocksPerGroup 0', { numBlocksPerGroup: 0 }, /option `numBlocksPerGroup` must be a whole number ≥ 1, got 0/],
  ['numBlocksPerGroup 1.5', { numBlocksPerGroup: 1.5 }, /option `numBlocksPerGroup` must be a whole number ≥ 1, got 1\.5/],
  ['numBlocksPerGroup at leaf level', { offloadType: 'leaf_level', numBlocksPerGroup: 2 }, /option `numBlocksPerGroup` only applies to offloadType 'block_level'/],
  ['a keepResident path that names no module', { offloadType: 'leaf_level', keepResident: ['blocks.9'] }, /option `keepResident` names "blocks\.9", which is no module of Blocky \(its children are: embed, blocks, extra, norm, head\)/],
  ['keepResident not a list', { offloadType: 'leaf_level', keepResident: 'first' }, /option `keepResident` must be an array of module paths/],
  ['a blockModules path that names no module', { numBlocksPerGroup: 1, blockModules: ['encoder'] }, /option `blockModules` names "encoder"/],
  ['recordStream without useStream', { offloadType: 'leaf_level', recordStream: true }, /option `recordStream` cannot be true when useStream is false/],
  ['prefetchDepth 0', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 0 }, /option `prefetchDepth` must be a whole number ≥ 1/],
  ['a non-boolean flag', { offloadType: 'leaf_level', useStream: 'yes' }, /option `useStream` must be true or false, got a string/],
  ['another onload device', { offloadType: 'leaf_level', onloadDevice: 'webgpu' }, /option `onloadDevice` is "webgpu", but weights compute on the active backend/],
  ['offloading to something else than the host', { offloadType: 'leaf_level', offloadDevice: 'disk' }, /option `offloadDevice` must be 'host'.*offloadToDiskPath/],
  ['an empty disk path', { offloadType: 'leaf_level', offloadToDiskPath: ' ' }, /option `offloadToDiskPath` must be a folder path/],
  ['a misspelt option', { offloadType: 'leaf_level', usestream: true }, /applyGroupOffloading: `usestream` \(did you mean `useStream`\?\) is not one of its options/],
];

describe.each(BACKENDS)('group offloading options on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));

  it.each(INVALID)('refuses %s before changing anything, naming the option', (_label, options, message) => {
    const model = new Blocky();
    models.push(model);
    const tiers = model.parameters().map((p) => p.tier);
    let error: unknown;
    try {
      applyGroupOffloading(model, options as GroupOffloadingOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
    expect(model.parameters().map((p) => p.tier)).toEqual(tiers);
    expect(model.modules().some((m) => HookRegistry.get(m)?.hookOrder.length)).toBeFalsy();
    expect(appliedStrategies(model)).toEqual([]);
  });

  it('defaults blockModules from @module({ groupOffloadBlockModules }): each path is a group of its own', () => {
    const vae = new TinyVae();
    models.push(vae);
    const x = tf.randomNormal([2, 8]);
    const ref = bits(vae.forward(x));
    const handle = applyGroupOffloading(vae, { numBlocksPerGroup: 1 });
    expect(HookRegistry.get(vae.encoder)?.hookOrder).toEqual(['group_offloading']);
    expect(HookRegistry.get(vae.middle)?.hookOrder ?? []).toEqual([]);
    const y = vae.forward(x);
    expect(bits(y)).toEqual(ref);
    handle.remove();
    // An explicit blockModules replaces the declared default.
    const h2 = applyGroupOffloading(vae, { numBlocksPerGroup: 1, blockModules: ['middle'] });
    expect(HookRegistry.get(vae.encoder)?.hookOrder ?? []).toEqual([]);
    expect(HookRegistry.get(vae.middle)?.hookOrder).toEqual(['group_offloading']);
    h2.remove();
    tf.dispose([x, y]);
  });

  it('refuses a model that declares supportsGroupOffloading: false', () => {
    const m = new Refuses();
    models.push(m);
    expect(() => applyGroupOffloading(m, { offloadType: 'leaf_level' })).toThrow(/declares @module\(\{ supportsGroupOffloading: false \}\)/);
  });
});

describe('block-level grouping with blockModules inside a block list', () => {
  beforeAll(() => useBackend('cpu'));

  it('makes a listed block a group of its own and chunks the other blocks around it', () => {
    const model = new Blocky();
    const x = tf.randomNormal([2, 8]);
    const ref = bits(model.forward(x));
    const handle = applyGroupOffloading(model, { numBlocksPerGroup: 2, blockModules: ['blocks.1'] });
    const ids = new Set<string>();
    const listener = (e: { path: string }) => ids.add(e.path);
    events.on('onload', listener);
    const y = model.forward(x);
    events.off('onload', listener);
    expect([...ids].sort()).toEqual(['Blocky_unmatched_group', 'blocks.1', 'blocks_0_2', 'blocks_3_3']);
    expect(bits(y)).toEqual(ref);
    handle.remove();
    model.dispose();
    tf.dispose([x, y]);
  });
});
