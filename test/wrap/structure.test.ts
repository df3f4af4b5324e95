import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  memory,
  Parameter,
  UnsupportedLayerError,
  UnsupportedModelError,
  unwrapLayersModel,
  WrappedContainer,
  WrappedLayer,
  WrappedModel,
  wrapLayersModel,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { loadRealModel } from '../helpers/realModels.js';
import { buildCustomLayerModel, buildNestedModel, buildSequentialModel, disposeAll, expectBitwiseEqual, weightBytes, trackModels } from './fixtures.js';

describe.each(BACKENDS)('wrapLayersModel tree on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('mirrors the real upscaler: one leaf per computing layer, in model.layers order, with exact bytes', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const bytes = memory.stats().deviceBytes;
    // Adopting the variables copies nothing.
    const root = expectNoLeaks(() => wrapLayersModel(model));
    expect(memory.stats().deviceBytes).toBe(bytes);

    expect(root).toBeInstanceOf(WrappedModel);
    expect(root.constructor.name).toBe('Functional');
    const computing = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
    expect(computing).toHaveLength(23);
    expect(root.namedChildren().map(([n]) => n)).toEqual(computing.map((l) => l.name));
    for (const [name, leaf] of root.namedChildren()) {
      expect(leaf).toBeInstanceOf(WrappedLayer);
      expect((leaf as WrappedLayer).layer).toBe(model.getLayer(name));
      expect(leaf.constructor.name).toBe(model.getLayer(name).getClassName());
    }
    const params = root.namedParameters();
    expect(params).toHaveLength(24);
    expect(params.slice(0, 2).map(([p]) => p)).toEqual(['F_m1.kernel', 'F_m1.bias']);
    expect(root.memoryFootprint()).toEqual({ device: 888_300, host: 0, disk: 0 });
    expect(weightBytes(model)).toBe(888_300);
    // Each Parameter adopted its LayerVariable's own tf.Variable.
    const byName = new Map(model.weights.map((w) => [w.originalName.replace('/', '.'), w]));
    for (const [path, p] of params) expect(p.read()).toBe((byName.get(path) as unknown as { val: tf.Variable }).val);

    const text = root.toString();
    expect(text.split('\n')[0]).toBe('(root): Functional 867.48 KiB');
    expect(text).toContain('\n  F_0: Conv2D 144.25 KiB\n');
    expect(text).toContain('\n  UPsample: UpSampling2D 0 B\n');
  });

  it('mirrors MobileNetV2 with every BatchNormalization moving statistic as a parameter', async () => {
    const model = track(await loadRealModel('mobilenet-v2-nsfw'));
    const before = memory.stats().deviceBytes;
    const root = wrapLayersModel(model);
    expect(memory.stats().deviceBytes).toBe(before);
    expect(root.children()).toHaveLength(161);
    expect(root.parameters()).toHaveLength(266);
    expect(model.nonTrainableWeights).toHaveLength(203);
    // A Parameter's trainability is its tf.Variable's (frozen layers keep trainable variables).
    const frozenVariables = model.weights.filter((w) => !w.trainable).length;
    expect(frozenVariables).toBe(104);
    expect(root.parameters().filter((p) => !p.trainable)).toHaveLength(frozenVariables);
    expect(root.memoryFootprint().device).toBe(10_477_844);
    expect(root.getParameter('bn_Conv1.moving_variance').shape).toEqual([32]);
  });

  it('mirrors nested models, shared layers and wrapper layers', () => {
    const model = track(buildNestedModel());
    const root = wrapLayersModel(model);
    expect(root.constructor.name).toBe('Model');
    expect(root.namedChildren().map(([n]) => n)).toEqual(['subseq', 'sd1', 'join', 'shared', 'rs', 'bi', 'td', 'stk', 'head_out']);
    expect(model.layers.slice(1).map((l) => l.name)).toEqual(['subseq', 'sd1', 'join', 'shared', 'rs', 'bi', 'td', 'stk', 'head.out']);
    const subseq = root.getSubmodule('subseq');
    expect(subseq).toBeInstanceOf(WrappedContainer);
    expect(subseq.constructor.name).toBe('Sequential');
    expect(subseq.namedChildren().map(([n]) => n)).toEqual(['sd1', 'sbn']);
    // A layer in two containers is one module (named by its first path), with one set of parameters.
    expect(root.getSubmodule('subseq.sd1')).toBe(root.getSubmodule('sd1'));
    expect(root.namedModules().filter(([, m]) => m === root.getSubmodule('sd1')).map(([p]) => p)).toEqual(['subseq.sd1']);
    // Wrappers and RNNs are leaves holding their inner layers' weights; keys keep '/' and never contain '.'.
    expect(root.getSubmodule('bi').namedParameters().map(([k]) => k)).toEqual([
      'forward_lstm/kernel', 'forward_lstm/recurrent_kernel', 'forward_lstm/bias',
      'backward_lstm/kernel', 'backward_lstm/recurrent_kernel', 'backward_lstm/bias',
    ]);
    expect(root.getSubmodule('stk').namedParameters().map(([k]) => k)).toEqual([
      'RNNCell_0/kernel', 'RNNCell_0/recurrent_kernel', 'RNNCell_0/bias',
      'RNNCell_1/kernel', 'RNNCell_1/recurrent_kernel', 'RNNCell_1/bias',
    ]);
    expect(root.getSubmodule('subseq.sbn').namedParameters().map(([k]) => k)).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect(root.getParameter('head_out.kernel').shape).toEqual([2, 3]);
    for (const [path] of root.namedParameters()) expect(path.split('.').every((part) => part.length > 0)).toBe(true);

    // Exactly one Parameter per LayerVariable, deduped, bytes exact.
    const unique = new Set(model.weights);
    expect(root.parameters()).toHaveLength(unique.size);
    expect(root.memoryFootprint().device).toBe(weightBytes(model));
    const inner = (model.getLayer('bi') as unknown as { forwardLayer: { call: unknown } }).forwardLayer;
    expect(Object.hasOwn(inner, 'call')).toBe(false);
  });

  it('returns the same tree when the model is wrapped twice, with no second interception', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const identity = (f: Function) => [f.name, f.length];
    const originals = [identity(model.getLayer('F_0').call), identity(model.predict)];
    const root = wrapLayersModel(model);
    const call = model.getLayer('F_0').call;
    const predict = model.predict;
    // The overrides look like the methods they replace (same name and length).
    expect([identity(call), identity(predict)]).toEqual(originals);
    expect(wrapLayersModel(model)).toBe(root);
    expect(model.getLayer('F_0').call).toBe(call);
    expect(model.predict).toBe(predict);
    expect(new Set(root.parameters()).size).toBe(24);
    expect(root.parameters().every((p) => p instanceof Parameter)).toBe(true);
  });

  it('refuses what is not a LayersModel, saying what is supported and what to do', () => {
    const graphModel = { executeAsync: async () => null, execute: () => null, predict: () => null, modelSignature: {}, artifacts: {} };
    const cases: unknown[] = [graphModel, {}, null, undefined, 42];
    for (const bad of cases) {
      let error: unknown;
      try {
        wrapLayersModel(bad as tfl.LayersModel);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnsupportedModelError);
      expect((error as UnsupportedModelError).code).toBe('UNSUPPORTED_MODEL');
      expect((error as Error).message).toContain('tf.loadLayersModel(), tf.sequential() or tf.model()');
    }
    expect(() => wrapLayersModel(graphModel as never)).toThrow(/GraphModel.*write a Module by hand/s);
    expect(() => wrapLayersModel(null as never)).toThrow(/got null/);
    expect(() => wrapLayersModel({} as never)).toThrow(/got a plain object without layers\/predict\/execute/);
  });

  it('refuses a model with no layers, or with a layer whose weights do not exist yet', () => {
    expect(() => wrapLayersModel(tfl.sequential())).toThrow(/has no layers yet.*layers added after wrapLayersModel\(\) are not part of the tree/);
    const model = track(buildSequentialModel());
    const layer = model.layers[0] as unknown as { built: boolean };
    layer.built = false;
    expect(() => wrapLayersModel(model)).toThrow(UnsupportedModelError);
    expect(() => wrapLayersModel(model)).toThrow(/is not built yet.*Build the model first/);
    layer.built = true;
    expect(Object.hasOwn(model, 'predict')).toBe(false);
  });

  it("refuses a real tfjs-converter GraphModel, unloaded or loaded, with the GraphModel wording", async () => {
    const unloaded = new tfconv.GraphModel('x');
    // A two-node graph (Placeholder → Relu) loaded from memory: a working GraphModel.
    const loaded = await tfconv.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: {
          node: [
            { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }] } } } },
            { name: 'y', op: 'Relu', input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
          ],
          versions: { producer: 1 },
        },
        weightSpecs: [],
        weightData: new ArrayBuffer(0),
      }),
    );
    const x = tf.tensor2d([[-1, 2]]);
    const y = loaded.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([0, 2]);
    for (const graphModel of [unloaded, loaded]) {
      let error: unknown;
      try {
        wrapLayersModel(graphModel as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnsupportedModelError);
      expect((error as UnsupportedModelError).code).toBe('UNSUPPORTED_MODEL');
      expect((error as Error).message).toMatch(/^wrapLayersModel\(\) got a GraphModel \(from tf\.loadGraphModel\)/);
      expect((error as Error).message).toMatch(/write a Module by hand/);
      // Nothing was patched.
      expect(Object.hasOwn(graphModel, 'predict')).toBe(false);
    }
    disposeAll(x, y);
    loaded.dispose();
  });

  it('imports @tensorflow/tfjs-converter from src/ only lazily (an optional peer, needed only to load a GraphModel)', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name)) files.push(full);
      }
    };
    walk(path.resolve('src'));
    expect(files.length).toBeGreaterThan(10);
    // A static import or require would make every user install it; a dynamic import() loads it where needed.
    const offenders = files.filter((f) => /(from\s*|require\s*\(\s*|import\s+)['"]@tensorflow\/tfjs-converter/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('refuses a custom layer with weights unless trusted, and changes nothing when it refuses', () => {
    const model = track(buildCustomLayerModel());
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const ref = model.predict(x) as tf.Tensor;
    let error: unknown;
    try {
      wrapLayersModel(model);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedLayerError);
    const message = (error as Error).message;
    expect(message).toContain('Layer "scale" of class ScaleLayer');
    expect(message).toContain("wrapLayersModel(model, { trustLayers: ['ScaleLayer'] })");
    // Validation runs before any patching.
    expect(Object.hasOwn(model.getLayer('cd'), 'call')).toBe(false);
    expect(Object.hasOwn(model, 'predict')).toBe(false);
    expect(Object.hasOwn(model.getLayer('cd').weights[0]!, 'read')).toBe(false);

    const root = wrapLayersModel(model, { trustLayers: ['ScaleLayer'] });
    expect(root.getSubmodule('scale').namedParameters().map(([k]) => k)).toEqual(['scale']);
    const y = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(y, ref);
    disposeAll(x, ref, y);
  });

  it('lets model.dispose() release the parameters, and unwrap still restores the LayerVariables', () => {
    const model = buildSequentialModel();
    const root = wrapLayersModel(model);
    const tensors = tf.memory().numTensors;
    const { numDisposedVariables } = model.dispose();
    expect(numDisposedVariables).toBe(4);
    expect(root.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors - 4);
    unwrapLayersModel(model);
    const lv = model.weights[0]!;
    expect(Object.hasOwn(lv, 'read')).toBe(false);
    expect(() => lv.read()).toThrow(/already disposed/);
  });

  it('refuses to wrap a sub-model of a wrapped model on its own', () => {
    const model = track(buildNestedModel());
    wrapLayersModel(model);
    expect(() => wrapLayersModel(model.getLayer('subseq') as tfl.Sequential)).toThrow(InvalidArgumentError);
    expect(() => wrapLayersModel(model.getLayer('subseq') as tfl.Sequential)).toThrow(/already wrapped as part of model "nested"/);
  });
});
