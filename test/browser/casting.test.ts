import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applyLayerwiseCasting, wrapLayersModel, type GroupOffloadingOptions, type WrappedLayer } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { deviceDelta } from '../helpers/pageMemory.js';
import { bitsOf, loadPageUpscaler, upscalerInput } from '../helpers/pageModels.js';
import { trackModels } from '../wrap/fixtures.js';


const OFFLOADS: Array<[string, GroupOffloadingOptions]> = [
  ['leaf-level group offloading', { offloadType: 'leaf_level' }],
  ['leaf-level group offloading with stream (the transfer worker decodes)', { offloadType: 'leaf_level', useStream: true }],
];

describe('layerwise casting of the real upscaler in the page', () => {
  beforeAll(() => usePageBackend());
  const track = trackModels();

  it('float8_e4m3fn: the device holds the codes, predict equals the float32 predict of the decoded weights bitwise', async () => {
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const x = upscalerInput(12, 7);
    let handle: ReturnType<typeof applyLayerwiseCasting> | undefined;
    const applied = deviceDelta(() => {
      handle = applyLayerwiseCasting(root, { storageDtype: 'float8_e4m3fn' });
    });
    const cast = root.namedParameters().filter(([, p]) => p.isLowPrecision);
    // Every weight of every Conv2D is cast (the model has no norms).
    const convs = root.modules().filter((m) => (m as WrappedLayer).layerClassName === 'Conv2D');
    expect(cast.length).toBe(convs.reduce((n, m) => n + m.parameters().length, 0));
    // Codes are packed into whole int32 words: one byte a weight, rounded up to 4.
    expect(cast.every(([, p]) => p.byteLength === Math.ceil(p.size / 4) * 4)).toBe(true);
    const saved = cast.reduce((n, [, p]) => n + p.size * 4 - p.byteLength, 0);
    expect(applied.bytes).toBe(-saved);
    const out = await expectNoLeaks(async () => model.predict(x) as tf.Tensor, { newTensors: 1 });
    // remove() leaves float32 weights holding the decoded values: their predict is the reference.
    const removed = deviceDelta(() => handle!.remove());
    expect(removed.bytes).toBe(saved);
    const reference = model.predict(x) as tf.Tensor;
    expect(await bitsOf(out)).toEqual(await bitsOf(reference));
    tf.dispose([x, out, reference]);
  });

  /** The upscaler cast to bfloat16 and its output for `x` as bits, computed on a second instance without offloading. */
  async function castReference(x: tf.Tensor): Promise<Uint32Array> {
    const plain = track(await loadPageUpscaler());
    applyLayerwiseCasting(wrapLayersModel(plain), { storageDtype: 'bfloat16' });
    const expected = plain.predict(x) as tf.Tensor;
    const bits = await bitsOf(expected);
    expected.dispose();
    return bits;
  }

  // With a stream, group offloading decodes cast weights ahead of use in the transfer worker, a Web Worker in a page.
  // These pages are not cross-origin isolated (the vite server sends no COOP/COEP headers): no SharedArrayBuffer, so
  // the staging memory travels to the worker and back as transferable ArrayBuffers.
  it.each(OFFLOADS)('bfloat16 then %s: bitwise equal to casting alone, nothing on the device between calls', async (label, options) => {
    if (options.useStream === true) expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(false);
    const x = upscalerInput(12, 9);
    const reference = await castReference(x);
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const cast = applyLayerwiseCasting(root, { storageDtype: 'bfloat16' });
    const offload = applyGroupOffloading(root, options);
    expect(root.memoryFootprint().device, label).toBe(0);
    await expectNoLeaks(async () => {
      for (let i = 0; i < 3; i++) {
        const out = model.predict(x) as tf.Tensor;
        expect(await bitsOf(out), `${label}, call ${i + 1}`).toEqual(reference);
        out.dispose();
        expect(root.memoryFootprint().device, `${label}, after call ${i + 1}`).toBe(0);
      }
    }, { label });
    offload.remove();
    cast.remove();
    x.dispose();
  });
});
