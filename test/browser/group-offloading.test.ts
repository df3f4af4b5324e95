import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, wrapLayersModel, type GroupOffloadingOptions } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { attachPeakGauge, deviceDelta } from '../helpers/pageMemory.js';
import { bitsOf, loadPageUpscaler, referenceBits, upscalerInput } from '../helpers/pageModels.js';
import { trackModels } from '../wrap/fixtures.js';
import { countOnloadedBytes } from '../../bench/onloadCounter.js';

// A LayersModel has no block lists: block level makes the whole model one group, leaf level one group per layer.
// With useStream, a group of float32 weights is uploaded ahead of use on the GPU backends (early uploads) without the
// transfer worker; what needs the worker (staged decoding of cast weights) is in casting.test.ts.
const CONFIGS: Array<[string, GroupOffloadingOptions]> = [
  ['leaf level', { offloadType: 'leaf_level' }],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }],
  ['leaf level + stream, depth 2', { offloadType: 'leaf_level', useStream: true, prefetchDepth: 2 }],
  ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }],
  ['block level + stream', { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }],
];

describe('group offloading of the real upscaler in the page', () => {
  beforeAll(() => usePageBackend());
  const track = trackModels();

  it.each(CONFIGS)('%s: predict bitwise, the weights off the device between calls, nothing leaked', async (label, options) => {
    const x = upscalerInput(12, 17);
    const reference = await referenceBits(x);
    const model = track(await loadPageUpscaler());
    const root = wrapLayersModel(model);
    const params = root.parameters();
    const weights = params.reduce((n, p) => n + p.byteLength, 0);
    // Inside the strategy's hooks (attached first), so it sees each group's weights while they are onloaded.
    const gauge = attachPeakGauge(root);
    let handle: ReturnType<typeof applyGroupOffloading> | undefined;
    // Applying moves every weight to the host: the device loses exactly their tensors and bytes.
    const applied = deviceDelta(() => {
      handle = applyGroupOffloading(root, options);
    });
    expect(applied, label).toEqual({ tensors: -params.length, bytes: -weights });
    expect(root.memoryFootprint()).toEqual({ device: 0, host: weights, disk: 0 });
    // The benchmarks' "MB onloaded per call": every weight crosses once per call, early uploads included.
    const onloaded = countOnloadedBytes();
    await expectNoLeaks(async () => {
      // Three calls: the first records the order, the next ones prefetch along it.
      for (let i = 0; i < 3; i++) {
        gauge.reset();
        onloaded.reset();
        const out = model.predict(x) as tf.Tensor;
        expect(onloaded.bytes, `${label}, bytes onloaded by call ${i + 1}`).toBe(weights);
        const peak = gauge.peakAbove();
        expect(await bitsOf(out), `${label}, call ${i + 1}`).toEqual(reference);
        // Leaf level never holds every weight at once; block level (one group here) does, by design.
        if (options.offloadType === 'leaf_level') expect(peak, `${label}, call ${i + 1}`).toBeLessThan(weights);
        out.dispose();
        expect(root.memoryFootprint().device, `${label}, after call ${i + 1}`).toBe(0);
      }
    }, { label });
    onloaded.stop();
    // remove() brings the weights back: the same tensors and bytes as before applying.
    const removed = deviceDelta(() => handle!.remove());
    gauge.detach();
    expect(removed).toEqual({ tensors: params.length, bytes: weights });
    const after = model.predict(x) as tf.Tensor;
    expect(await bitsOf(after)).toEqual(reference);
    tf.dispose([x, after]);
  });
});
