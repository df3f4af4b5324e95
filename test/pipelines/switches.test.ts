import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { appliedStrategies, Attention, InvalidArgumentError, Linear, Module, Pipeline } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectClose } from '../models/layers/helpers.js';
import { expectBitwise, hookNames } from '../strategies/cpu-offload/models.js';
import { disposeComponents, tinyComponents, TinyPipeline } from './fixtures.js';

const tokens = () => tf.randomNormal([3, 4, 8], 0, 1, 'float32', 9);

function processors(p: Pipeline): string[] {
  return Object.values(p.components).flatMap((c) => c.modules().filter((m): m is Attention => m instanceof Attention).map((a) => a.processor.name));
}

describe.each(BACKENDS)('Pipeline switches on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('VAE slicing slices the encoder and decoder, bitwise, and disabling removes it exactly', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    pipe.enableVaeSlicing();
    const { vae } = pipe.components;
    expect([appliedStrategies(vae.encoder), appliedStrategies(vae.decoder), appliedStrategies(vae)]).toEqual([['batch_slicing'], ['batch_slicing'], []]);
    const sliced = pipe.run(x);
    expectBitwise(sliced, expected);
    // Enabling again replaces it (new options), never stacks.
    pipe.enableVaeSlicing({ sliceSize: 2 });
    expect(appliedStrategies(vae.decoder)).toEqual(['batch_slicing']);
    expect(() => pipe.enableVaeSlicing({ sliceSize: 0 })).toThrow(/`sliceSize` must be an integer ≥ 1/);
    expect(appliedStrategies(vae.decoder)).toEqual(['batch_slicing']);
    pipe.disableVaeSlicing();
    pipe.disableVaeSlicing();
    expect(hookNames(vae)).toEqual([]);
    const plain = pipe.run(x);
    expectBitwise(plain, expected);
    tf.dispose([x, expected, sliced, plain]);
    disposeComponents(pipe);
  });

  it('memory-efficient attention switches every Attention of every component and back to naive', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    const naive = processors(pipe);
    pipe.enableMemoryEfficientAttention();
    expect(processors(pipe)).not.toEqual(naive);
    expect(new Set(processors(pipe)).size).toBe(1);
    const chunked = pipe.run(x);
    // An online softmax sums in another order: equal to float32 rounding.
    expectClose(chunked, expected, { rtol: 1e-5, atol: 1e-5 });
    pipe.enableMemoryEfficientAttention('sliced', { sliceSize: 1 });
    const sliced = pipe.run(x);
    expectClose(sliced, expected, { rtol: 1e-5, atol: 1e-5 });
    pipe.disableMemoryEfficientAttention();
    expect(processors(pipe)).toEqual(naive);
    const back = pipe.run(x);
    expectBitwise(back, expected);
    expect(() => pipe.enableMemoryEfficientAttention('flash' as never)).toThrow(/takes 'chunked' or 'sliced'/);
    tf.dispose([x, expected, chunked, sliced, back]);
    disposeComponents(pipe);
  });

  it('switches combine with offloading, and removeAllHooks turns them all off', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    const naive = processors(pipe);
    pipe.enableVaeSlicing();
    pipe.enableModelCpuOffload();
    const y = pipe.run(x);
    expectBitwise(y, expected);
    pipe.enableMemoryEfficientAttention('chunked');
    pipe.removeAllHooks();
    expect(Object.values(pipe.components).flatMap((c) => c.modules().flatMap((m) => appliedStrategies(m)))).toEqual([]);
    expect(processors(pipe)).toEqual(naive);
    // After removeAllHooks the switches can be enabled again.
    pipe.enableVaeSlicing();
    pipe.disableVaeSlicing();
    const back = pipe.run(x);
    expectBitwise(back, expected);
    tf.dispose([x, expected, y, back]);
    disposeComponents(pipe);
  });

  it('VAE tiling tiles the decoder (and the encoder when asked), and disabling restores the output bitwise', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const { vae } = pipe.components;
    const z = tf.randomNormal([1, 12, 12, 16], 0, 1, 'float32', 3);
    const expected = vae.forward(z);
    expect(() => pipe.enableVaeTiling({ tileSize: 0 })).toThrow(/`tileSize` must be an integer ≥ 1/);
    pipe.enableVaeTiling({ tileSize: 8, encoder: { tileSize: 8 } });
    expect([appliedStrategies(vae.decoder), appliedStrategies(vae.encoder)]).toEqual([['tiling'], ['tiling']]);
    const tiled = vae.forward(z);
    expect(tiled.shape).toEqual(expected.shape);
    // GroupNorm statistics are per tile, so tiles differ from the whole image: tiling is lossy by design here.
    expect(tf.max(tf.abs(tf.sub(tiled, expected))).dataSync()[0]).toBeGreaterThan(0);
    pipe.enableVaeTiling({ tileSize: 6 });
    expect([appliedStrategies(vae.decoder), appliedStrategies(vae.encoder)]).toEqual([['tiling'], []]);
    pipe.disableVaeTiling();
    expect(hookNames(vae)).toEqual([]);
    const back = vae.forward(z);
    expectBitwise(back, expected);
    tf.dispose([z, expected, tiled, back]);
    disposeComponents(pipe);
  });

  it('layerwise casting of one component combines with model offload and is removed by removeAllHooks', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    const handle = pipe.enableLayerwiseCasting('denoiser', { storageDtype: 'bfloat16', skipModulesPattern: null });
    expect(appliedStrategies(pipe.components.denoiser)).toEqual(['layerwise_casting']);
    expect(pipe.components.denoiser.inp.parameters().every((p) => p.storageDtype === 'bfloat16')).toBe(true);
    const cast = pipe.run(x);
    // bfloat16 keeps 8 bits of mantissa: a relative error of 2^-8 per weight.
    expectClose(cast, expected, { rtol: 0.05, atol: 0.05 });
    pipe.enableModelCpuOffload();
    const both = pipe.run(x);
    expectBitwise(both, cast);
    pipe.enableSequentialCpuOffload();
    const seq = pipe.run(x);
    expectBitwise(seq, cast);
    expect(pipe.components.denoiser.parameters().every((p) => p.tier === 'host' && p.storageDtype === 'bfloat16')).toBe(true);
    expect(() => pipe.enableLayerwiseCasting('nope' as never)).toThrow(/"nope" is no component/);
    pipe.removeAllHooks();
    expect(handle.removed).toBe(true);
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    expect(pipe.components.denoiser.parameters().every((p) => p.tier === 'device' && p.storageDtype === 'float32')).toBe(true);
    tf.dispose([x, expected, cast, both, seq]);
    disposeComponents(pipe);
  });

  it('refuses switches the pipeline has no component for', () => {
    class Lin extends Module {
      lin = new Linear(2, 2);
      forward(x: tf.Tensor): tf.Tensor {
        return this.lin.forward(x);
      }
    }
    const pipe = new Pipeline({ text: new Lin() });
    expect(() => pipe.enableVaeSlicing()).toThrow(/no "vae" component\. Components: text/);
    expect(() => pipe.enableMemoryEfficientAttention()).toThrow(InvalidArgumentError);
    disposeComponents(pipe);
  });
});
