import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, appliedStrategies, dispatchModel, events, HookRegistry, MemhooksError, SafetensorsFile, type Module } from '../../../src/index.js';
import { backendOf } from '../../../src/strategies/device-map/backends.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { type Block, Chain } from './models.js';

const x0 = () => tf.tensor2d(Array.from({ length: 16 }, (_, i) => Math.cos(i) * 2), [2, 8]);

async function valuesOf(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

function tiers(m: Module): Record<string, string> {
  return Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.isResident ? `device:${backendOf(p.read())}` : p.tier]));
}

function hooksIn(m: Module): number {
  return m.modules().reduce((n, sub) => n + (HookRegistry.get(sub)?.hookOrder.length ?? 0), 0);
}

beforeAll(async () => {
  await useBackend('wasm');
  await useBackend('cpu');
});
afterAll(() => useBackend('cpu'));

for (const backend of BACKENDS) {
  describe(`dispatchModel on ${backend}`, () => {
    const tmp = scratchDirs('memhooks-dm-');
    it('onloads host-mapped modules for their forward only: output bitwise equal, no leaks, exact restore', async () => {
      await useBackend(backend);
      const model = new Chain(3);
      const x = x0();
      const reference = model.forward(x);
      const expected = await valuesOf(reference);
      const before = tiers(model);
      const tensorsBefore = tf.memory().numTensors;
      const handle = dispatchModel(model, { 'blocks.0': 'device', 'blocks.1': 'host', 'blocks.2': 'host', head: 'device' });
      expect(appliedStrategies(model)).toEqual(['device_map']);
      expect(tiers(model)['blocks.1.proj.weight']).toBe('host');
      expect(tiers(model)['blocks.2.norm.weight']).toBe('host');
      expect(tiers(model)['head.weight']).toBe(`device:${backend}`);
      const seen: string[] = [];
      const probe = model.blocks.at(1) as Block;
      const transfers: string[] = [];
      const onload = (e: { path: string }) => transfers.push(`onload ${e.path}`);
      const offload = (e: { path: string }) => transfers.push(`offload ${e.path}`);
      events.on('onload', onload);
      events.on('offload', offload);
      for (let i = 0; i < 2; i++) {
        const y = model.forward(x);
        expect(await valuesOf(y)).toEqual(expected);
        y.dispose();
        seen.push(probe.proj.weight.tier);
      }
      events.off('onload', onload);
      events.off('offload', offload);
      expect(seen).toEqual(['host', 'host']);
      // Each host module is onloaded just before its forward and offloaded right after, in execution order.
      const once = ['blocks.1.proj', 'blocks.1.norm', 'blocks.2.proj', 'blocks.2.norm'].flatMap((p) => [`onload "${p}"`, `offload "${p}"`]);
      expect(transfers.map((t) => t.replace(/"([^"]*)".*/, '"$1"'))).toEqual([...once, ...once]);
      // The six host weights (proj weight and bias, norm weight of blocks 1 and 2) are off the device between forwards.
      expect(tf.memory().numTensors).toBe(tensorsBefore - 6);
      handle.remove();
      expect(tiers(model)).toEqual(before);
      expect(hooksIn(model)).toBe(0);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      const after = model.forward(x);
      expect(await valuesOf(after)).toEqual(expected);
      tf.dispose([x, reference, after]);
      model.dispose();
    });

    it('keeps cast weights (layerwise casting first) in offload files as their codes: output bitwise equal to casting alone', async () => {
      await useBackend(backend);
      const folder = tmp();
      const model = new Chain(3);
      const x = x0();
      const cast = applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn', skipModulesPattern: null });
      const reference = model.forward(x);
      const expected = await valuesOf(reference);
      await expectNoLeaks(async () => {
        const handle = dispatchModel(model, { 'blocks.0': 'device', 'blocks.1': 'disk', 'blocks.2': 'host', head: 'disk' }, { offloadFolder: folder });
        const proj = model.getParameter('blocks.1.proj.weight');
        expect(proj.tier).toBe('disk');
        // The file holds fp8 codes with the weight's shape: a quarter of the float32 bytes.
        const stored = readdirSync(folder).flatMap((f) => {
          const file = SafetensorsFile.open(join(folder, f));
          const infos = file.keys().map((k) => file.info(k));
          file.close();
          return infos.map((i) => `${i.dtype} [${i.shape.join(', ')}]`);
        });
        expect(stored).toContain(`F8_E4M3 [${proj.shape.join(', ')}]`);
        expect(stored.filter((t) => t.startsWith('F8_E4M3'))).toHaveLength(4); // the weight and bias of blocks.1.proj and of head
        for (let i = 0; i < 2; i++) {
          const y = model.forward(x);
          expect(await valuesOf(y)).toEqual(expected);
          y.dispose();
          expect(proj.tier).toBe('disk');
        }
        handle.remove();
        cast.remove();
        expect(readdirSync(folder)).toEqual([]);
        expect(hooksIn(model)).toBe(0);
      });
      tf.dispose([x, reference]);
      model.dispose();
    });

    it('keeps disk-mapped weights in offload files, onloading them per forward, and cleans up on remove', async () => {
      await useBackend(backend);
      const folder = tmp();
      const model = new Chain(3);
      const x = x0();
      const reference = model.forward(x);
      const expected = await valuesOf(reference);
      const before = tiers(model);
      const tensorsBefore = tf.memory().numTensors;
      const handle = dispatchModel(model, { 'blocks.0': 'host', 'blocks.1': 'disk', 'blocks.2': 'device', head: 'disk' }, { offloadFolder: folder });
      // One file per module that owns disk weights, named by the SDK (a hash of the module path).
      const files = readdirSync(folder).sort();
      expect(files).toHaveLength(3);
      expect(files.every((f) => /^device-map-[0-9a-f]{16}\.safetensors$/.test(f))).toBe(true);
      expect(tiers(model)['blocks.1.proj.weight']).toBe('disk');
      expect(tiers(model)['head.bias']).toBe('disk');
      for (let i = 0; i < 2; i++) {
        const y = model.forward(x);
        expect(await valuesOf(y)).toEqual(expected);
        y.dispose();
        expect(tiers(model)['blocks.1.norm.weight']).toBe('disk');
      }
      expect(tf.memory().numTensors).toBe(tensorsBefore - 3 - 3 - 2);
      handle.remove();
      expect(tiers(model)).toEqual(before);
      expect(readdirSync(folder)).toEqual([]);
      expect(hooksIn(model)).toBe(0);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      tf.dispose([x, reference]);
      model.dispose();
    });

    it('refuses bad maps listing the keys, changing nothing', async () => {
      await useBackend(backend);
      const model = new Chain(2);
      const before = tiers(model);
      const refused = (map: Record<string, string>, pattern: RegExp, options = {}) => {
        let error: unknown;
        try {
          dispatchModel(model, map, options);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(MemhooksError);
        expect((error as MemhooksError).code).toBe('INVALID_DEVICE_MAP');
        expect((error as Error).message).toMatch(pattern);
        expect(tiers(model)).toEqual(before);
        expect(hooksIn(model)).toBe(0);
        expect(appliedStrategies(model)).toEqual([]);
      };
      refused({ 'blocks.0': 'device', 'blocks.7': 'host', nope: 'host', head: 'device', 'blocks.1': 'device' }, /names "blocks\.7", "nope", which are not modules or parameters/);
      refused({ 'blocks.0': 'device' }, /no device for the parameters "blocks\.1\.proj\.weight", .*"head\.bias"/);
      refused({ '': 'gpu:0' }, /unknown devices to "" \("gpu:0"\)/);
      refused({ '': 'device', 'blocks.1': 'disk', head: 'disk' }, /puts "blocks\.1", "head" on 'disk', which needs an offloadFolder/);
      refused({}, /needs a device map/);
      model.dispose();
    });
  });
}

describe('dispatchModel across backends', () => {
  it('runs each module on its backend, moving activations bit for bit, equal to running them by hand', async () => {
    await useBackend('cpu');
    const model = new Chain(3);
    const x = x0();
    // By hand: each module on its backend, in turn.
    const byHand = async (): Promise<Float32Array> => {
      const order: Array<[Module, string]> = [[model.blocks.at(0), 'cpu'], [model.blocks.at(1), 'wasm'], [model.blocks.at(2), 'cpu'], [model.head, 'wasm']];
      let h: tf.Tensor = x.clone();
      for (const [m, b] of order) {
        await useBackend(b);
        for (const p of m.parameters()) tf.engine().moveData(tf.findBackend(b)!, p.read().dataId);
        const next = (m as unknown as { forward(t: tf.Tensor): tf.Tensor }).forward(h);
        h.dispose();
        h = next;
      }
      await useBackend('cpu');
      const out = await valuesOf(h);
      h.dispose();
      for (const p of model.parameters()) tf.engine().moveData(tf.findBackend('cpu')!, p.read().dataId);
      return out;
    };
    const expected = await byHand();
    const before = tiers(model);
    const tensorsBefore = tf.memory().numTensors;
    const handle = dispatchModel(model, { 'blocks.0': 'cpu', 'blocks.1': 'wasm', 'blocks.2': 'device', head: 'wasm' });
    expect(tiers(model)['blocks.1.proj.weight']).toBe('device:wasm');
    expect(tiers(model)['blocks.2.proj.weight']).toBe('device:cpu');
    expect(tiers(model)['head.bias']).toBe('device:wasm');
    const y = model.forward(x);
    expect(tf.getBackend()).toBe('cpu');
    expect(backendOf(y)).toBe('wasm');
    expect(await valuesOf(y)).toEqual(expected);
    y.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    handle.remove();
    expect(tiers(model)).toEqual(before);
    expect(hooksIn(model)).toBe(0);
    x.dispose();
    model.dispose();
  });

  it('refuses a backend that is not initialized', async () => {
    await useBackend('cpu');
    const model = new Chain(1);
    // 'webgl' is not even registered here; an unknown name is an unknown device.
    expect(() => dispatchModel(model, { '': 'webgl' })).toThrow(/unknown devices/);
    model.dispose();
  });
});
