import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, memory, unwrapLayersModel, wrapLayersModel, type WrappedLayer } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealModel } from '../../helpers/realModels.js';
import { trackModels } from '../../wrap/fixtures.js';
import { bitsOf } from './models.js';

const BYTES = { float16: 2, bfloat16: 2, float8_e4m3fn: 1, float8_e5m2: 1 } as const;

describe.each(BACKENDS)('layerwise casting of a wrapped real LayersModel on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('the upscaler: predict equals the float32 predict of the decoded weights bitwise, codes only between calls', async () => {
    const model = track(await loadRealModel('upscaler-esrgan-2x'));
    const root = wrapLayersModel(model);
    const x = tf.randomUniform([1, 12, 12, 3], 0, 255, 'float32', 7);
    const deviceBefore = memory.stats().deviceBytes;
    const handle = applyLayerwiseCasting(root, { storageDtype: 'float8_e4m3fn' });
    const cast = root.namedParameters().filter(([, p]) => p.isLowPrecision);
    // Every weight of every Conv2D is cast (the model has no norms).
    const convs = root.modules().filter((m) => (m as WrappedLayer).layerClassName === 'Conv2D');
    expect(cast.length).toBe(convs.reduce((n, m) => n + m.parameters().length, 0));
    // Codes are packed into whole int32 words: byteLength counts the padding, as the device does.
    const saved = cast.reduce((n, [, p]) => n + p.size * 4 - p.byteLength, 0);
    expect(cast.every(([, p]) => p.byteLength === Math.ceil((p.size * BYTES.float8_e4m3fn) / 4) * 4)).toBe(true);
    expect(deviceBefore - memory.stats().deviceBytes).toBe(saved);
    const out = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect(deviceBefore - memory.stats().deviceBytes).toBe(saved - out.size * 4);
    handle.remove();
    expect(memory.stats().deviceBytes - out.size * 4).toBe(deviceBefore);
    const reference = model.predict(x) as tf.Tensor;
    expect(bitsOf(out)).toEqual(bitsOf(reference));
    tf.dispose([x, out, reference]);
  });
});

// MobileNetV2 takes about 40 s for its predicts on the cpu backend: the real classifier runs on wasm only.
describe('layerwise casting of MobileNetV2 on wasm', () => {
  beforeAll(() => useBackend('wasm'));
  const track = trackModels();

  it('MobileNetV2 in bfloat16 keeps the top class; unwrapping restores a working float32 model', async () => {
    const model = track(await loadRealModel('mobilenet-v2-nsfw'));
    const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 11);
    const plain = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const handle = applyLayerwiseCasting(root, { storageDtype: 'bfloat16' });
    // BatchNormalization layers stay float32 (they are not supported leaves); convolutions and the head are cast.
    const layerOf = (path: string): string => (root.getSubmodule(path.slice(0, path.lastIndexOf('.'))) as WrappedLayer).layerClassName;
    const cast = root.namedParameters().filter(([, p]) => p.isLowPrecision).map(([path]) => layerOf(path));
    expect(new Set(cast)).toEqual(new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']));
    const out = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expect(Array.from(tf.argMax(out, 1).dataSync())).toEqual(Array.from(tf.argMax(plain, 1).dataSync()));
    const diff = tf.max(tf.abs(tf.sub(out, plain))).dataSync()[0]!;
    expect(diff).toBeGreaterThan(0); // the weights did change
    expect(diff).toBeLessThan(0.05); // probabilities
    // Unwrapping removes the casting first (float32 Variables again, holding the decoded values).
    unwrapLayersModel(model);
    expect(handle.removed).toBe(true);
    expect(model.getWeights().every((w) => w.dtype === 'float32')).toBe(true);
    const after = model.predict(x) as tf.Tensor;
    expect(Array.from(tf.argMax(after, 1).dataSync())).toEqual(Array.from(tf.argMax(plain, 1).dataSync()));
    tf.dispose([x, plain, out, after]);
  }, 120_000);
});
