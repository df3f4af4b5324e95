import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HookRegistry,
  memory,
  ModelHook,
  ParameterNotResidentError,
  unwrapLayersModel,
  wrapLayersModel,
  type Module,
  type WrappedModel,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { loadRealModel } from '../helpers/realModels.js';
import {
  buildCustomLayerModel,
  buildNestedModel,
  disposeAll,
  expectBitwiseEqual,
  LogHook,
  OnloadHook,
  sameBits,
  weightBytes,
  trackModels,
  weightedLeaves,
} from './fixtures.js';

const register = (m: Module, hook: ModelHook, name: string) => HookRegistry.checkIfExistsOrInitialize(m).registerHook(hook, name);

describe.each(BACKENDS)('hooks on a wrapped model on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('run in order during model.predict: last registered outermost, a child inside its parent', () => {
    const model = track(buildNestedModel());
    const root = wrapLayersModel(model);
    const log: string[] = [];
    register(root, new LogHook('root.A', log), 'a');
    register(root, new LogHook('root.B', log), 'b');
    register(root.getSubmodule('subseq'), new LogHook('subseq', log), 'log');
    register(root.getSubmodule('subseq.sbn'), new LogHook('sbn', log), 'log');
    register(root.getSubmodule('bi'), new LogHook('bi', log), 'log');
    const x = tf.randomNormal([2, 6]);
    disposeAll(model.predict(x) as tf.Tensor);
    expect(log).toEqual(['root.B.pre', 'root.A.pre', 'subseq.pre', 'sbn.pre', 'sbn.post', 'subseq.post', 'bi.pre', 'bi.post', 'root.A.post', 'root.B.post']);
    // The same through apply and predictOnBatch; a batched predict runs the layers once per batch.
    for (const run of [() => model.apply(x), () => model.predictOnBatch(x)]) {
      log.length = 0;
      disposeAll(run() as tf.Tensor);
      expect(log).toEqual(['root.B.pre', 'root.A.pre', 'subseq.pre', 'sbn.pre', 'sbn.post', 'subseq.post', 'bi.pre', 'bi.post', 'root.A.post', 'root.B.post']);
    }
    log.length = 0;
    disposeAll(model.predict(x, { batchSize: 1 }) as tf.Tensor);
    expect(log.filter((e) => e === 'sbn.pre')).toHaveLength(2);
    expect(log.filter((e) => e.startsWith('root.B'))).toEqual(['root.B.pre', 'root.B.post']);
    x.dispose();
  });

  it("see each entry point's own arguments, and the innermost call is the entry point itself", async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const root = wrapLayersModel(model);
    const hook = new LogHook('root', []);
    register(root, hook, 'log');
    const x = tf.randomUniform([1, 4, 4, 3], 0, 255);
    const outName = model.outputs[0]!.name;
    const outs = [
      model.predict(x),
      model.predict(x, { batchSize: 4 }),
      model.predictOnBatch(x),
      model.execute(x, outName),
      model.apply(x, { training: false }),
      root.forward(x),
    ] as tf.Tensor[];
    expect(hook.seen.map((s) => s.entry)).toEqual(['predict', 'predict', 'predictOnBatch', 'execute', 'call', undefined]);
    expect(hook.seen[0]!.args).toEqual([x, {}]);
    expect(hook.seen[1]!.args).toEqual([x, { batchSize: 4 }]);
    expect(hook.seen[2]!.args).toEqual([x]);
    expect(hook.seen[3]!.args).toEqual([x, outName]);
    expect(hook.seen[4]!.args[0]).toBe(x);
    expect(hook.seen[4]!.args[1]).toMatchObject({ training: false });
    expect(hook.seen[5]!.args).toEqual([x]);
    expect(root.entryPoint).toBeUndefined();

    // A preForward that replaces the input is honoured by the innermost predict.
    class Double extends ModelHook {
      override preForward(_m: Module, args: any[]): any[] {
        return [tf.mul(args[0], 2), ...args.slice(1)];
      }
    }
    register(root, new Double(), 'double');
    const x2 = tf.mul(x, 2);
    const doubled = model.predict(x) as tf.Tensor;
    HookRegistry.get(root)!.removeHook('double');
    const direct = model.predict(x2) as tf.Tensor;
    expectBitwiseEqual(doubled, direct);
    disposeAll(x, x2, outs, doubled, direct);
  });

  it('a newForward hook that calls next() twice runs the entry point twice', () => {
    const model = track(buildNestedModel());
    const root = wrapLayersModel(model);
    class Twice extends ModelHook {
      override newForward(_m: Module, args: any[], next: (...a: any[]) => any): any {
        const a = next(...args) as tf.Tensor;
        const b = next(...args) as tf.Tensor;
        return tf.add(a, b);
      }
    }
    const x = tf.randomNormal([3, 6]);
    const once = model.predict(x) as tf.Tensor;
    register(root, new Twice(), 'twice');
    const twice = model.predict(x) as tf.Tensor;
    const expected = tf.add(once, once);
    expectBitwiseEqual(twice, expected);
    disposeAll(x, once, twice, expected);
  });

  it('host round trip of every weight of MobileNetV2 is bitwise and leaks nothing', async () => {
    const model = track(await loadRealModel('mobilenet-v2-nsfw'));
    const root = wrapLayersModel(model);
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const bytes = memory.stats().deviceBytes;
    expectNoLeaks(() => {
      for (const p of root.parameters()) p.toHost();
      expect(root.memoryFootprint()).toEqual({ device: 0, host: 10_477_844, disk: 0 });
      expect(bytes - memory.stats().deviceBytes).toBe(10_477_844);
      for (const p of root.parameters()) p.toDevice();
    });
    expect(memory.stats().deviceBytes).toBe(bytes);
    const after = model.getWeights();
    expect(after.every((w, i) => sameBits(w.dataSync(), before[i]!))).toBe(true);
    // The re-created variables are registered under their names, with their trainability, for optimizers.
    const registered = (tf.engine() as unknown as { registeredVariables: Record<string, tf.Variable> }).registeredVariables;
    for (const lv of model.weights) {
      const val = (lv as unknown as { val: tf.Variable }).val;
      expect(val).toBeInstanceOf(tf.Variable);
      expect(registered[val.name]).toBe(val);
      expect(val.trainable).toBe(lv.trainable);
    }
  });

  it('reading a host parameter during predict throws ParameterNotResidentError naming layer.weight', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const root = wrapLayersModel(model);
    root.getParameter('F_0.kernel').toHost();
    const x = tf.randomUniform([1, 4, 4, 3], 0, 255);
    expectNoLeaks(() => {
      expect(() => model.predict(x)).toThrow(ParameterNotResidentError);
      expect(() => model.predict(x)).toThrow(/Parameter "F_0\.kernel" \[3, 3, 64, 64\] is on the "host" tier/);
      expect(() => model.apply(x)).toThrow(ParameterNotResidentError);
    });
    x.dispose();
  });

  describe.each([
    ['the real upscaler', () => loadRealModel('upscaler-esrgan-2x'), [1, 16, 16, 3]],
    ['MobileNetV2', () => loadRealModel('mobilenet-v2-nsfw'), [1, 224, 224, 3]],
    ['the nested model', async () => buildNestedModel(), [4, 6]],
    ['a trusted custom layer', async () => buildCustomLayerModel(), [2, 4]],
  ] as const)('an onload/offload hook on every leaf of %s', (_label, load, shape) => {
    it('runs predict with every weight on the host, bitwise equal, with device bytes lower by the weight bytes', async () => {
      const model = track((await load()) as tfl.LayersModel);
      const x = tf.randomUniform([...shape], 0, 1, 'float32', 19);
      const ref = model.predict(x) as tf.Tensor;
      const root: WrappedModel = wrapLayersModel(model, { trustLayers: ['ScaleLayer'] });
      const hooks = weightedLeaves(root).map((leaf) => {
        const hook = new OnloadHook();
        register(leaf, hook, 'onload');
        return hook;
      });
      const resident = memory.stats().deviceBytes;
      for (const p of root.parameters()) p.toHost();
      const offloaded = memory.stats().deviceBytes;
      expect(resident - offloaded).toBe(weightBytes(model));

      expectNoLeaks(() => {
        const y = model.predict(x) as tf.Tensor;
        expectBitwiseEqual(y, ref);
        expect(hooks.every((h) => h.calls >= 1)).toBe(true);
        expect(root.memoryFootprint().device).toBe(0);
        y.dispose();
      });
      expect(memory.stats().deviceBytes).toBe(offloaded);
      disposeAll(x, ref);
    });
  });

  it('unwrap removes every hook, brings weights back and leaves no own property of ours', async () => {
    const model = track(buildNestedModel());
    const x = tf.randomNormal([3, 6]);
    const ref = model.predict(x) as tf.Tensor;
    const lvs = [...new Set(model.weights)] as unknown as Array<{ val: tf.Variable } & object>;
    const originalVals = lvs.map((lv) => lv.val);
    const layers = [...model.layers, ...(model.getLayer('subseq') as tfl.Sequential).layers];

    const root = wrapLayersModel(model);
    const deinit: string[] = [];
    class Tracked extends LogHook {
      override deinitializeHook(): void {
        deinit.push(this.label);
      }
    }
    register(root, new Tracked('root.a', []), 'a');
    register(root, new Tracked('root.b', []), 'b');
    register(root.getSubmodule('subseq.sbn'), new Tracked('sbn', []), 'a');
    const moved = root.getParameter('bi.forward_lstm/kernel').toHost();
    const movedIndex = lvs.findIndex((lv) => lv.val === undefined);
    expect(movedIndex).toBeGreaterThanOrEqual(0);
    unwrapLayersModel(model);

    expect(deinit).toEqual(['root.b', 'root.a', 'sbn']);
    expect(HookRegistry.get(root)!.hookOrder).toEqual([]);
    // The old tree's parameters are released: the weights belong to the model alone again.
    expect(moved.isDisposed).toBe(true);
    expect(root.parameters().every((p) => p.isDisposed)).toBe(true);
    for (const name of ['predict', 'predictOnBatch', 'execute', 'call']) expect(Object.hasOwn(model, name)).toBe(false);
    for (const layer of layers) expect(Object.hasOwn(layer, 'call')).toBe(false);
    lvs.forEach((lv, i) => {
      for (const name of ['read', 'write', 'dispose']) expect(Object.hasOwn(lv, name)).toBe(false);
      const desc = Object.getOwnPropertyDescriptor(lv, 'val')!;
      expect(desc.get).toBeUndefined();
      expect(desc.writable).toBe(true);
      expect(desc.value).toBeInstanceOf(tf.Variable);
      // The very same Variable unless the weight went to the host and back; then an equal one by name.
      if (i === movedIndex) {
        expect(desc.value).not.toBe(originalVals[i]);
        expect(desc.value.name).toBe(originalVals[i]!.name);
      } else {
        expect(desc.value).toBe(originalVals[i]);
      }
    });
    const after = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(after, ref);

    // Wrapping again works and builds a new tree.
    const again = wrapLayersModel(model);
    expect(again).not.toBe(root);
    const again2 = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(again2, ref);
    unwrapLayersModel(model);
    unwrapLayersModel(model); // not wrapped: nothing to do
    disposeAll(x, ref, after, again2);
  });
});
