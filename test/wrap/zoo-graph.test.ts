import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchPretrained,
  PRETRAINED_GRAPH_NAMES,
  PRETRAINED_LAYERS_NAMES,
  PRETRAINED_MODELS,
  pretrainedWeightSpecs,
  type GraphPretrainedName,
  type PretrainedSpec,
} from '../../src/zoo.js';
import { readArtifacts } from '../../src/zoo/artifacts.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { loadRealGraphModel, MODEL_CACHE_DIR } from '../helpers/realModels.js';

/** A fixed input of the entry's documented shape and dtype (free batch: 2), the same on every backend. */
function fixedInput(name: GraphPretrainedName): tf.Tensor {
  const spec: PretrainedSpec = PRETRAINED_MODELS[name];
  const shape = spec.inputShape.map((d) => d ?? 2);
  const size = shape.reduce((n, d) => n * d, 1);
  // A smooth ramp over the pixel range: finite, varied, and identical on cpu and wasm.
  if (spec.inputDtype === 'int32') return tf.tensor(Int32Array.from({ length: size }, (_, i) => (i * 7) % 256), shape, 'int32');
  return tf.tensor(Float32Array.from({ length: size }, (_, i) => ((i * 7) % 256) / 255), shape, 'float32');
}

async function run(model: GraphModel, name: GraphPretrainedName, x: tf.Tensor): Promise<tf.Tensor[]> {
  const out = PRETRAINED_MODELS[name].run === 'executeAsync' ? await model.executeAsync(x) : model.execute(x);
  return Array.isArray(out) ? out : [out];
}

describe('the catalog lists its GraphModels apart from its LayersModels', () => {
  it('names the GraphModel entries and documents how each one runs and what it returns', () => {
    expect(PRETRAINED_GRAPH_NAMES).toEqual(['mobilenet-v2-mid-nsfw', 'handtrack-human', 'selfie-human']);
    expect(PRETRAINED_LAYERS_NAMES).toEqual(['upscaler-esrgan-2x', 'mobilenet-v2-nsfw']);
    expect(PRETRAINED_MODELS['mobilenet-v2-mid-nsfw']).toMatchObject({ package: 'nsfwjs', version: '4.4.0', format: 'graph-umd', run: 'execute' });
    expect(PRETRAINED_MODELS['handtrack-human']).toMatchObject({ package: '@vladmandic/human', version: '3.3.6', format: 'graph-json', run: 'executeAsync' });
    expect(PRETRAINED_MODELS['selfie-human']).toMatchObject({ package: '@vladmandic/human', version: '2.5.8', format: 'graph-json', run: 'execute' });
  });
});

describe.each(BACKENDS)('the catalog GraphModels on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const loaded: GraphModel[] = [];
  afterEach(() => {
    for (const m of loaded.splice(0)) m.dispose();
  });

  it.each(PRETRAINED_GRAPH_NAMES)('%s loads as a GraphModel and gives finite outputs of the documented shapes, leaking nothing', async (name) => {
    const spec: PretrainedSpec = PRETRAINED_MODELS[name];
    const outputs = spec.outputs ?? {};
    const model = await loadRealGraphModel(name);
    loaded.push(model);
    expect(typeof model.executeAsync).toBe('function');
    expect(Object.keys(model.weights).length).toBeGreaterThan(0);
    const x = fixedInput(name);
    const batch = x.shape[0]!;
    await expectNoLeaks(async () => {
      const ys = await run(model, name, x);
      try {
        // The signature's outputs, in its order, with the documented shapes.
        expect(model.outputNodes).toEqual(Object.keys(outputs));
        expect(ys.map((t) => t.shape)).toEqual(Object.values(outputs).map((s) => s.map((d) => d ?? batch)));
        for (const t of ys) expect(Array.from(await t.data()).every(Number.isFinite)).toBe(true);
      } finally {
        tf.dispose(ys);
      }
    });
    x.dispose();
  }, 120_000);

  it('handtrack-human needs executeAsync: execute refuses its dynamic ops, as the catalog says', async () => {
    const model = await loadRealGraphModel('handtrack-human');
    loaded.push(model);
    const x = fixedInput('handtrack-human');
    expectNoLeaks(() => expect(() => model.execute(x)).toThrow(/dynamic op|control flow/));
    x.dispose();
  });
});

describe('the shipped quantization of the catalog GraphModels', () => {
  it.each(PRETRAINED_GRAPH_NAMES)('%s: the manifest specs cover the shards byte for byte and the loaded weights value for value', async (name) => {
    const specs = await pretrainedWeightSpecs(name, { cacheDir: MODEL_CACHE_DIR });
    const artifacts = readArtifacts(await fetchPretrained(name, { cacheDir: MODEL_CACHE_DIR }), PRETRAINED_MODELS[name]);
    const shipped = specs.reduce((n, w) => n + w.shippedBytes, 0);
    expect(shipped).toBe((artifacts.weightData as ArrayBuffer).byteLength);
    // Each weight starts where the one before it ends.
    specs.forEach((w, i) => expect(w.byteOffset).toBe(i === 0 ? 0 : specs[i - 1]!.byteOffset + specs[i - 1]!.shippedBytes));
    // nsfwjs and the hand detector ship their float weights uint8-quantized (a quarter of the float32 bytes), the
    // selfie segmenter float16 (a half).
    const shippedAs = name === 'selfie-human' ? 'float16' : 'uint8';
    for (const w of specs) {
      if (w.dtype === 'float32') expect(w.quantization?.dtype, w.name).toBe(shippedAs);
      if (w.quantization !== undefined) expect(w.shippedBytes * (shippedAs === 'uint8' ? 4 : 2)).toBe(w.loadedBytes);
    }
    await useBackend('cpu');
    const model = await loadRealGraphModel(name);
    try {
      const weights = model.weights;
      expect(specs.map((w) => w.name).sort()).toEqual(Object.keys(weights).sort());
      for (const w of specs) expect(weights[w.name]![0]!.shape, w.name).toEqual(w.shape);
      const loadedBytes = Object.values(weights).reduce((n, [t]) => n + t!.size * 4, 0);
      expect(specs.reduce((n, w) => n + w.loadedBytes, 0)).toBe(loadedBytes);
    } finally {
      model.dispose();
    }
  }, 120_000);
});
