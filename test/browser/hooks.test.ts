import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HookRegistry, wrapLayersModel } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { pageBackendName, usePageBackend } from '../helpers/pageBackend.js';
import { bitsOf, loadPageUpscaler, referenceBits, upscalerInput } from '../helpers/pageModels.js';
import { LogHook, Recorder, WrapHook } from '../helpers/modules.js';
import { trackModels } from '../wrap/fixtures.js';

describe('hooks and the registry in the page', () => {
  let device = '';
  beforeAll(async () => {
    device = await usePageBackend();
  });
  const track = trackModels();

  it('runs on the backend its browser instance names, and says which device that is', () => {
    expect(tf.getBackend()).toBe(pageBackendName());
    // A name the device reported, not a placeholder: "?" means the adapter or renderer could not be read.
    expect(device).toMatch(/renderer "[^"?]+"|adapter vendor "[^"?]+"|^backend wasm: wasm/);
  });

  it('nests hooks most recent outermost, splices removals, and runs newForward around the inner chain', async () => {
    const log: string[] = [];
    const m = new Recorder(log);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    expect(HookRegistry.checkIfExistsOrInitialize(m)).toBe(registry);
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new WrapHook('B', log), 'b');
    registry.registerHook(new LogHook('C', log), 'c');
    const run = (): Promise<number> => {
      log.length = 0;
      return expectNoLeaks(async () => {
        const input = tf.scalar(1);
        const out = m.forward(input);
        const [value] = await out.data();
        tf.dispose([input, out]);
        return value!;
      });
    };
    expect(await run()).toBe(2);
    expect(log).toEqual(['C.pre', 'B.pre', 'B.new', 'A.pre', 'forward', 'A.post', 'B.new-end', 'B.post', 'C.post']);
    registry.removeHook('a');
    await run();
    expect(log).toEqual(['C.pre', 'B.pre', 'B.new', 'forward', 'B.new-end', 'B.post', 'C.post']);
    registry.removeHook('b');
    registry.removeHook('c');
    await run();
    expect(log).toEqual(['forward']);
    m.dispose();
  });

  it('wraps the real upscaler fetched over HTTP: predict is bitwise the same, hooks see every layer, nothing leaks', async () => {
    const x = upscalerInput(12, 3);
    const reference = await referenceBits(x);
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const seen: string[] = [];
    const leaves = root.namedModules().filter(([path, m]) => path !== '' && m.children().length === 0);
    for (const [path, leaf] of leaves) HookRegistry.checkIfExistsOrInitialize(leaf).registerHook(new LogHook(path, seen), 'log');
    const out = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect(await bitsOf(out)).toEqual(reference);
    // Every leaf ran once, in model.layers order: a pre and a post each.
    expect(leaves.length).toBeGreaterThan(0);
    expect(seen).toEqual(leaves.flatMap(([path]) => [`${path}.pre`, `${path}.post`]));
    tf.dispose([x, out]);
  });
});
