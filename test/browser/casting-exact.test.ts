import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, MemhooksError, wrapLayersModel, type LowPrecisionDtype } from 'memhooks';
import { decodePacked, encodePacked } from '../../src/dtypes/index.js';
import { int32IsExact } from '../../src/runtime/int32Math.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { bitsOf, loadPageUpscaler, upscalerInput } from '../helpers/pageModels.js';
import { trackModels } from '../wrap/fixtures.js';

/**
 * Layerwise casting must round as PyTorch does on every backend. On webgl and webgpu tfjs computes int32 through
 * float32, which rounds packed code words (src/runtime/int32Math.ts): the cast model is checked against a plain
 * float32 model holding the weights rounded on the host, so a decode that went through the GPU's int32 fails here.
 */
describe('layerwise casting is exact in the page', () => {
  beforeAll(() => usePageBackend());
  const track = trackModels();

  it('int32IsExact() says what this backend does to words above 2^24', async () => {
    const n = 1024;
    const words = new Int32Array(n);
    for (let i = 0; i < n; i++) words[i] = (Math.imul(i + 1, 2654435761) ^ (i << 7)) | 0;
    const t = tf.tensor1d(words, 'int32');
    const y = tf.add(t, tf.zerosLike(t));
    const back = await y.data();
    const changed = words.filter((w, i) => back[i] !== w).length;
    tf.dispose([t, y]);
    expect(changed === 0, `${tf.getBackend()}: ${changed} of ${n} words changed`).toBe(int32IsExact());
  });

  it.each(['bfloat16', 'float8_e4m3fn'] as const)('%s: predict equals float32 weights rounded on the host, bitwise', async (dtype: LowPrecisionDtype) => {
    const x = upscalerInput(12, 5);
    // The reference: every Conv2D weight rounded on the host as PyTorch rounds, kept in float32.
    const plain = track(await loadPageUpscaler());
    for (const layer of plain.layers) {
      if (layer.getClassName() !== 'Conv2D') continue;
      const rounded = layer.getWeights().map((w) => tf.tensor(decodePacked(encodePacked(dtype, w.dataSync() as Float32Array)), w.shape));
      layer.setWeights(rounded);
      tf.dispose(rounded);
    }
    const expected = plain.predict(x) as tf.Tensor;
    const model = track(await loadPageUpscaler());
    const handle = applyLayerwiseCasting(wrapLayersModel(model), { storageDtype: dtype });
    const out = model.predict(x) as tf.Tensor;
    expect(await bitsOf(out)).toEqual(await bitsOf(expected));
    handle.remove();
    tf.dispose([x, expected, out]);
  });

  it("decodeSite 'device' is refused where int32 is rounded, and changes nothing", async () => {
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const before = root.namedParameters().map(([k, p]) => `${k}:${p.storageDtype}:${p.tier}`);
    const apply = (): unknown => applyLayerwiseCasting(root, { storageDtype: 'bfloat16', decodeSite: 'device' });
    if (int32IsExact()) {
      (apply() as { remove(): void }).remove();
    } else {
      expect(apply).toThrow(MemhooksError);
      expect(apply).toThrow(/cannot be exact on the "(webgl|webgpu)" backend/);
    }
    expect(root.namedParameters().map(([k, p]) => `${k}:${p.storageDtype}:${p.tier}`)).toEqual(before);
  });
});
