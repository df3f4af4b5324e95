import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceMapHandleOf, dispatchModel, inferAutoDeviceMap, Linear, Module, module, ModuleList, withParameterInit } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { Chain } from './models.js';

@module()
class HfMapNet extends Module {
  embed: Linear;
  blocks: ModuleList<Linear>;
  constructor(readonly width: number) {
    super();
    [this.embed, this.blocks] = withParameterInit({ seed: 3 }, () => [new Linear(width, width), new ModuleList([new Linear(width, width), new Linear(width, width)])]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = this.embed.forward(x);
    for (const b of this.blocks.children()) h = tf.tanh((b as Linear).forward(h));
    return h;
  }
}

beforeAll(async () => {
  await useBackend('wasm');
  await useBackend('cpu');
});
afterAll(() => useBackend('cpu'));

for (const backend of BACKENDS) {
  describe(`module.hfDeviceMap on ${backend}`, () => {
    const tmp = scratchDirs('memhooks-hfmap-');

    it('answers the dispatched map (a copy that dispatches again) and is undefined once the handle is removed', async () => {
      await useBackend(backend);
      const model = new Chain(3);
      expect(model.hfDeviceMap).toBeUndefined();
      const map = { 'blocks.0': 'device', 'blocks.1': 'host', 'blocks.2': 'host', head: 'device' };
      const handle = dispatchModel(model, map);
      expect(model.hfDeviceMap).toEqual(map);
      expect(Object.keys(model.hfDeviceMap!)).toEqual(Object.keys(map));
      // The caller's object and the answer are copies: editing either changes nothing in force.
      map['blocks.1'] = 'device';
      const answer = model.hfDeviceMap!;
      answer.head = 'host';
      expect(model.hfDeviceMap).toEqual({ 'blocks.0': 'device', 'blocks.1': 'host', 'blocks.2': 'host', head: 'device' });
      // Submodules were not dispatched on: only the module the map was given to answers.
      expect(model.blocks.hfDeviceMap).toBeUndefined();
      handle.remove();
      expect(model.hfDeviceMap).toBeUndefined();
      handle.remove();
      expect(model.hfDeviceMap).toBeUndefined();
      // The guide's loop: take the map, edit it, dispatch it again.
      const again = dispatchModel(model, answer);
      expect(model.hfDeviceMap).toEqual(answer);
      expect(model.head.weight.tier).toBe('host');
      again.remove();
      model.dispose();
    });

    it('is unchanged by a refused dispatch', async () => {
      await useBackend(backend);
      const model = new Chain(2);
      const handle = dispatchModel(model, { '': 'host' });
      expect(() => dispatchModel(model, { '': 'device' })).toThrow();
      expect(model.hfDeviceMap).toEqual({ '': 'host' });
      handle.remove();
      expect(() => dispatchModel(model, { nope: 'device' })).toThrow();
      expect(model.hfDeviceMap).toBeUndefined();
      model.dispose();
    });

    it('answers the map fromPretrained placed the model with, inferred ones included', async () => {
      await useBackend(backend);
      const dir = tmp();
      const original = new HfMapNet(4);
      await original.savePretrained(dir);
      const given = { embed: 'device', blocks: 'host' };
      const placed = await HfMapNet.fromPretrained(dir, { deviceMap: given });
      expect(placed.hfDeviceMap).toEqual(given);
      deviceMapHandleOf(placed)!.remove();
      expect(placed.hfDeviceMap).toBeUndefined();
      placed.dispose();

      const maxMemory = { device: 100, host: 10_000 };
      const auto = await HfMapNet.fromPretrained(dir, { deviceMap: 'auto', maxMemory });
      expect(auto.hfDeviceMap).toEqual(inferAutoDeviceMap(original, { maxMemory }));
      expect(Object.values(auto.hfDeviceMap!)).toContain('host');
      auto.dispose();

      // A map that keeps everything on the device needs no hooks, but is still the map in force.
      const resident = await HfMapNet.fromPretrained(dir, { deviceMap: { '': 'device' } });
      expect(deviceMapHandleOf(resident)).toBeUndefined();
      expect(resident.hfDeviceMap).toEqual({ '': 'device' });
      resident.dispose();
      original.dispose();
    });
  });
}
