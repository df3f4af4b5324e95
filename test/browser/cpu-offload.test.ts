import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applySequentialOffload, cpuOffloadWithHook, wrapLayersModel, type Module } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { attachPeakGauge, deviceDelta } from '../helpers/pageMemory.js';
import { bitsOf, loadPageUpscaler, referenceBits, upscalerInput } from '../helpers/pageModels.js';
import { trackModels } from '../wrap/fixtures.js';

const tiers = (m: Module): string[] => [...new Set(m.parameters().map((p) => p.tier))];

describe('model and sequential offload of the real upscaler in the page', () => {
  beforeAll(() => usePageBackend());
  const track = trackModels();

  it('sequential offload: predict bitwise, one layer on the device at a time, weights on the host before and after', async () => {
    const x = upscalerInput(12, 1);
    const reference = await referenceBits(x);
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const params = root.parameters();
    const weights = params.reduce((n, p) => n + p.byteLength, 0);
    const gauge = attachPeakGauge(root);
    let handle: ReturnType<typeof applySequentialOffload> | undefined;
    expect(deviceDelta(() => (handle = applySequentialOffload(root)))).toEqual({ tensors: -params.length, bytes: -weights });
    expect(tiers(root)).toEqual(['host']);
    await expectNoLeaks(async () => {
      for (let i = 0; i < 2; i++) {
        gauge.reset();
        const out = model.predict(x) as tf.Tensor;
        expect(gauge.peakAbove()).toBeLessThan(weights);
        expect(await bitsOf(out), `call ${i + 1}`).toEqual(reference);
        out.dispose();
        expect(tiers(root)).toEqual(['host']);
      }
    });
    expect(deviceDelta(() => handle!.remove())).toEqual({ tensors: params.length, bytes: weights });
    gauge.detach();
    expect(tiers(root)).toEqual(['device']);
    x.dispose();
  });

  it('model offload: the whole model onloads for a call and stays until another model needs the device', async () => {
    const x = upscalerInput(12, 2);
    const reference = await referenceBits(x);
    const first = track(await loadPageUpscaler());
    const second = track(await loadPageUpscaler());
    const a = wrapLayersModel(first);
    const b = wrapLayersModel(second);
    const weights = a.parameters().reduce((n, p) => n + p.byteLength, 0);
    // Chained as a pipeline does: running `second` offloads `first`.
    let ha: ReturnType<typeof cpuOffloadWithHook> | undefined;
    let hb: ReturnType<typeof cpuOffloadWithHook> | undefined;
    expect(deviceDelta(() => {
      ha = cpuOffloadWithHook(a);
      hb = cpuOffloadWithHook(b, { prevModuleHook: ha });
    }).bytes).toBe(-2 * weights);
    await expectNoLeaks(async () => {
      const outA = first.predict(x) as tf.Tensor;
      expect(tiers(a)).toEqual(['device']);
      expect(await bitsOf(outA)).toEqual(reference);
      const outB = second.predict(x) as tf.Tensor;
      expect(tiers(a)).toEqual(['host']);
      expect(tiers(b)).toEqual(['device']);
      expect(await bitsOf(outB)).toEqual(reference);
      // The last model stays on the device until offload() (a pipeline's maybeFreeModelHooks).
      expect(deviceDelta(() => hb!.offload()).bytes).toBe(-weights);
      tf.dispose([outA, outB]);
    });
    ha!.remove();
    hb!.remove();
    expect(tiers(a)).toEqual(['device']);
    expect(tiers(b)).toEqual(['device']);
    x.dispose();
  });
});
