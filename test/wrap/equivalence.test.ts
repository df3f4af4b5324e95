import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { wrapLayersModel } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { loadRealModel } from '../helpers/realModels.js';
import { buildNestedModel, buildSequentialModel, disposeAll, expectBitwiseEqual, trackModels } from './fixtures.js';

type Out = tf.Tensor | tf.Tensor[];

describe.each(BACKENDS)('a wrapped model computes what it computed before on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  /** Runs every entry point before and after wrapping and compares bit patterns. */
  function checkAllEntryPoints(model: tfl.LayersModel, x: tf.Tensor, executeNames: string[]): void {
    const run = (): Out[] => [
      model.predict(x) as Out,
      model.predict(x, { batchSize: 1 }) as Out,
      model.predictOnBatch(x) as Out,
      model.apply(x) as Out,
      model.execute(x, executeNames) as Out,
    ];
    const before = run();
    const root = wrapLayersModel(model);
    const after = run();
    before.forEach((b, i) => expectBitwiseEqual(after[i]!, b));
    const forward = root.forward(x) as Out;
    expectBitwiseEqual(forward, before[0]!);
    disposeAll(before, after, forward);
  }

  it('the real upscaler, through predict, predictOnBatch, apply, execute and root.forward', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 255, 'float32', 7);
    // execute fetches an intermediate tensor and the output.
    checkAllEntryPoints(model, x, [(model.getLayer('LRL_1').output as tfl.SymbolicTensor).name, model.outputs[0]!.name]);
    x.dispose();
  });

  it('a hand-built nested model (Sequential inside functional, shared layer, BN, Bidirectional LSTM, stacked RNN)', () => {
    const model = track(buildNestedModel());
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 3);
    const before = [model.predict(x) as tf.Tensor, model.predictOnBatch(x) as tf.Tensor, model.apply(x) as tf.Tensor];
    const root = wrapLayersModel(model);
    const after = [model.predict(x) as tf.Tensor, model.predictOnBatch(x) as tf.Tensor, model.apply(x) as tf.Tensor, root.forward(x) as tf.Tensor];
    after.forEach((a, i) => expectBitwiseEqual(a, before[Math.min(i, 2)]!));
    disposeAll(x, before, after);
  });

  it('a Sequential root, including execute', () => {
    const model = track(buildSequentialModel());
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 5);
    checkAllEntryPoints(model, x, [model.outputs[0]!.name]);
    x.dispose();
  });

  it('MobileNetV2 (one predict each way)', async () => {
    const model = track(await loadRealModel('mobilenet-v2-nsfw'));
    const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 11);
    const before = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const after = model.predict(x) as tf.Tensor;
    expect(after.shape).toEqual([1, 5]);
    expectBitwiseEqual(after, before);
    expect(root.parameters()).toHaveLength(266);
    disposeAll(x, before, after);
  });

  it('applies weight constraints on write, as tfjs does', () => {
    const build = () => tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], kernelConstraint: 'nonNeg', name: 'c' })] });
    const plain = track(build());
    const wrapped = track(build());
    const root = wrapLayersModel(wrapped);
    const values = [tf.tensor2d([[-1, 2], [3, -4], [0.5, -0.5]]), tf.tensor1d([-1, 1])];
    plain.setWeights(values);
    wrapped.setWeights(values);
    expectBitwiseEqual(wrapped.getWeights(), plain.getWeights());
    expect(Array.from(root.getParameter('c.kernel').read().dataSync())).toEqual([0, 2, 3, 0, 0.5, 0]);
    disposeAll(values);
  });

  it("keeps tfjs' getWeights / setWeights / save working", async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const x = tf.randomUniform([1, 8, 8, 3], 0, 255, 'float32', 13);
    const ref = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);

    // getWeights returns the parameters' live variables, in model.weights order.
    const weights = model.getWeights();
    expect(weights).toHaveLength(24);
    weights.forEach((w, i) => expect(w).toBe(root.getParameter(model.weights[i]!.originalName.replace('/', '.')).read()));
    const snapshot = weights.map((w) => w.clone());

    // setWeights writes through the parameters (it reads every weight first to check shapes, so all are on the device).
    const noise = snapshot.map((w) => tf.randomNormal(w.shape, 0, 1, 'float32', 17));
    model.setWeights(noise);
    expectBitwiseEqual(model.getWeights(), noise);
    // LayerVariable.write (what loadWeights uses) reaches a parameter on the host tier too.
    const onHost = root.getParameter('F_0.kernel').toHost();
    const index = model.weights.findIndex((w) => w.originalName === 'F_0/kernel');
    model.loadWeights({ 'F_0/kernel': snapshot[index]! }, false);
    expect(onHost.tier).toBe('host');
    expect(Array.from(onHost.hostData())).toEqual(Array.from(snapshot[index]!.dataSync()));
    onHost.toDevice();
    model.setWeights(snapshot);
    const restored = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(restored, ref);

    // save reads the weights through the parameters; the saved model predicts the same.
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(artifacts!.weightSpecs).toHaveLength(24);
    expect((artifacts!.weightData as ArrayBuffer).byteLength).toBe(888_300);
    const copy = track(await tfl.loadLayersModel(tf.io.fromMemory(artifacts!)));
    const fromCopy = copy.predict(x) as tf.Tensor;
    expectBitwiseEqual(fromCopy, ref);
    disposeAll(x, ref, snapshot, noise, restored, fromCopy);
  });
});
