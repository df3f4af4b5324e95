import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { HookRegistry, memory, ModelHook, MemhooksError, unwrapLayersModel, wrapLayersModel, type Module, type WrappedModel } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { loadRealModel } from '../helpers/realModels.js';
import { disposeAll, expectBitwiseEqual, trackModels } from './fixtures.js';

/** docs/wrapping.md's recipe, verbatim. */
class JustInTime extends ModelHook {
  override preForward(m: Module, args: any[]) {
    for (const p of m.parameters()) p.toDevice();
    return args;
  }
  override postForward(m: Module, out: any) {
    for (const p of m.parameters()) p.toHost();
    return out;
  }
  override onForwardError(m: Module) {
    for (const p of m.parameters()) p.toHost();
  }
}

function applyRecipe(root: WrappedModel): void {
  for (const m of root.modules()) if (m.parameters({ recurse: false }).length > 0) HookRegistry.checkIfExistsOrInitialize(m).registerHook(new JustInTime(), 'jit');
  for (const p of root.parameters()) p.toHost();
}

function removeRecipe(root: WrappedModel): void {
  for (const m of root.modules()) HookRegistry.get(m)?.removeHook('jit', { recurse: false });
  for (const p of root.parameters()) p.toDevice();
}

/** A fresh Sequential: its layers are built (inputShape), the Sequential's inner model is not (built on first use). */
function freshSequential(name: string): tfl.Sequential {
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.dense({ units: 5, inputShape: [3], name: `${name}_d1`, activation: 'relu' }),
      tfl.layers.dense({ units: 2, name: `${name}_d2` }),
    ],
  });
}

/** tfjs-layers' own flag and the live tf.Variable's. */
function flags(lv: tfl.LayerVariable): { layerVariable: boolean; variable: boolean | undefined } {
  return { layerVariable: lv.trainable, variable: (lv as unknown as { val?: tf.Variable }).val?.trainable };
}

describe.each(BACKENDS)('trainability of wrapped weights on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it("runs the docs' JustInTime recipe on a fresh tf.sequential (built by its first predict, weights on the host)", () => {
    const model = track(freshSequential('fresh'));
    expect((model as unknown as { model: unknown }).model ?? null).toBeNull();
    const root = wrapLayersModel(model);
    applyRecipe(root);
    expect(root.memoryFootprint().device).toBe(0);
    const x = tf.randomUniform([4, 3], -1, 1, 'float32', 3);
    // Sequential.build() sets model.trainable, which sets every LayerVariable's trainable with the weights on the host.
    const first = model.predict(x) as tf.Tensor;
    const second = model.predict(x) as tf.Tensor;
    expect(root.memoryFootprint().device).toBe(0);
    removeRecipe(root);
    const resident = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(first, resident);
    expectBitwiseEqual(second, resident);
    for (const lv of model.weights) expect(flags(lv)).toEqual({ layerVariable: true, variable: true });
    disposeAll(x, first, second, resident);
  });

  it("runs the docs' JustInTime recipe on the real upscaler, bitwise equal, with device bytes lower by 888,300", async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const x = tf.randomUniform([1, 16, 16, 3], 0, 255, 'float32', 5);
    const ref = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const before = memory.stats().deviceBytes;
    applyRecipe(root);
    expect(before - memory.stats().deviceBytes).toBe(888_300);
    const y = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(y, ref);
    // Setting trainability on the whole model reaches every weight, all of them on the host.
    model.trainable = false;
    expect(model.weights.every((lv) => !lv.trainable)).toBe(true);
    expect(root.parameters().every((p) => p.tier === 'host' && !p.trainable)).toBe(true);
    removeRecipe(root);
    expect(model.weights.every((lv) => flags(lv).variable === false)).toBe(true);
    disposeAll(x, ref, y);
  });

  it('layer.trainable = false on the host gives a non-trainable Variable once back on the device, and back again', () => {
    const model = track(freshSequential('flag'));
    const root = wrapLayersModel(model);
    const layer = model.getLayer('flag_d1');
    for (const p of root.parameters()) p.toHost();
    layer.trainable = false;
    expect(layer.trainable).toBe(false);
    expect(layer.weights.map(flags)).toEqual([
      { layerVariable: false, variable: undefined },
      { layerVariable: false, variable: undefined },
    ]);
    expect(root.getSubmodule('flag_d1').parameters().map((p) => p.trainable)).toEqual([false, false]);
    expect(layer.trainableWeights).toHaveLength(0);
    expect(layer.nonTrainableWeights).toHaveLength(2);
    for (const p of root.parameters()) p.toDevice();
    expect(layer.weights.map(flags)).toEqual([
      { layerVariable: false, variable: false },
      { layerVariable: false, variable: false },
    ]);
    // The other layer was not touched.
    expect(model.getLayer('flag_d2').weights.map(flags).every((f) => f.layerVariable && f.variable)).toBe(true);
    // On the device it sets the live Variable too.
    layer.trainable = true;
    expect(layer.weights.map(flags).every((f) => f.layerVariable && f.variable)).toBe(true);
    // And a flag set on the host survives unwrapping.
    for (const p of root.parameters()) p.toHost();
    const kernel = model.getLayer('flag_d2').weights[0]!;
    kernel.trainable = false;
    unwrapLayersModel(model);
    expect(flags(kernel)).toEqual({ layerVariable: false, variable: false });
  });

  it('summary(), countParams() and compile() work with every weight on the host', () => {
    const model = track(freshSequential('meta'));
    const root = wrapLayersModel(model);
    for (const p of root.parameters()) p.toHost();
    const lines: string[] = [];
    model.summary(undefined, undefined, (line: string) => lines.push(line));
    expect(lines.join('\n')).toMatch(/Total params: 32/);
    expect(model.countParams()).toBe(3 * 5 + 5 + 5 * 2 + 2);
    expect(model.getLayer('meta_d1').countParams()).toBe(20);
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    expect(root.memoryFootprint().device).toBe(0);
    // Reading the values still needs them on the device, and says so with a memhooks error.
    expect(() => model.getWeights()).toThrow(MemhooksError);
    for (const p of root.parameters()) p.toDevice();
    expect(model.getWeights()).toHaveLength(4);
  });

  it('unwrap restores the prototype trainable accessor exactly', () => {
    const model = track(freshSequential('restore'));
    const lv = model.weights[0]!;
    const proto = Object.getPrototypeOf(lv) as object;
    expect(Object.getOwnPropertyDescriptor(lv, 'trainable')).toBeUndefined();
    wrapLayersModel(model);
    expect(Object.getOwnPropertyDescriptor(lv, 'trainable')?.set).toBeTypeOf('function');
    expect(Object.keys(lv)).not.toContain('trainable');
    unwrapLayersModel(model);
    expect(Object.getOwnPropertyDescriptor(lv, 'trainable')).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(proto, 'trainable')?.get).toBeTypeOf('function');
    lv.trainable = false;
    expect(flags(lv)).toEqual({ layerVariable: false, variable: false });
  });
});
