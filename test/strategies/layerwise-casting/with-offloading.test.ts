import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applyLayerwiseCasting, memory, StrategyConflictError, type GroupOffloadingOptions, type Module } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { CAST_BY_DEFAULT, Caster, copyWeights, ids } from './models.js';
import { expectSameForwards } from './forwards.js';

describe.each(BACKENDS)('layerwise casting with group offloading on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const pair = (): [Caster, Caster] => {
    const a = new Caster();
    const b = new Caster();
    models.push(a, b);
    copyWeights(a, b);
    return [a, b];
  };

  const variants: Array<[string, GroupOffloadingOptions]> = [
    ['leaf level', { offloadType: 'leaf_level' }],
    ['leaf level with stream', { offloadType: 'leaf_level', useStream: true }],
    ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }],
  ];

  it.each(variants)('cast first, then offload (%s): same output as casting alone, and the host holds the codes', (_label, options) => {
    const [model, reference] = pair();
    applyLayerwiseCasting(reference, { storageDtype: 'float8_e4m3fn' });
    const x = ids();
    const expected = reference.forward(x) as tf.Tensor;
    const float32Bytes = CAST_BY_DEFAULT.reduce((n, path) => n + model.getParameter(path).size * 4, 0);
    const hostBefore = memory.stats().hostBytes;

    const cast = applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn' });
    const offload = applyGroupOffloading(model, options);
    // Every cast weight is offloaded as its codes: a quarter of its float32 bytes on the host.
    const castOnHost = CAST_BY_DEFAULT.map((path) => model.getParameter(path)).filter((p) => p.tier === 'host');
    expect(castOnHost.length).toBeGreaterThan(0);
    for (const p of castOnHost) expect(p.byteLength).toBe(p.size);
    const hostOfCast = castOnHost.reduce((n, p) => n + p.byteLength, 0);
    expect(hostOfCast * 4).toBe(castOnHost.reduce((n, p) => n + p.size * 4, 0));
    // With a stream, staging slots for the worker's decoding are reserved too: prefetchDepth + 1 slots, each
    // the codes and the float32 values of the largest group (16-byte aligned regions).
    const staging = memory.stats().hostBytes - hostBefore - model.memoryFootprint().host;
    if (options.useStream === true) {
      const slot = Math.max(...CAST_BY_DEFAULT.map((path) => model.getParameter(path)).map((p) => p.byteLength + p.size * 4 + 32)) * 2;
      expect(staging).toBeGreaterThan(0);
      expect(staging).toBeLessThanOrEqual(2 * slot);
    } else {
      expect(staging).toBe(0);
    }

    expectSameForwards(model, x, expected);
    expect(float32Bytes).toBeGreaterThan(hostOfCast);

    // Casting cannot go while offloading (applied after it) holds its codes; the reverse order works.
    expect(() => cast.remove()).toThrow(StrategyConflictError);
    expect(() => cast.remove()).toThrow(/Remove "group_offloading" first/);
    offload.remove();
    cast.remove();
    for (const [, p] of model.namedParameters()) expect([p.tier, p.storageDtype]).toEqual(['device', p.dtype]);
    expect(memory.stats().hostBytes).toBe(hostBefore);
    tf.dispose([x, expected]);
  });

  it('offload first, then cast: refused with an error that names the order to use, nothing changed', () => {
    const [model] = pair();
    const offload = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    const tiers = model.namedParameters().map(([, p]) => [p.tier, p.storageDtype]);
    expect(() => applyLayerwiseCasting(model)).toThrow(StrategyConflictError);
    expect(() => applyLayerwiseCasting(model.blocks.at(0))).toThrow(/must be applied before "group_offloading".*call applyLayerwiseCasting first, then apply "group_offloading" again/);
    expect(model.namedParameters().map(([, p]) => [p.tier, p.storageDtype])).toEqual(tiers);
    offload.remove();
  });
});
