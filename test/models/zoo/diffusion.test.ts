import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDiffusionComponents, diffusionParameterCounts, generateImage, type DiffusionComponents } from '../../../src/zoo.js';
import { DeviceBudgetExceededError, memory, withParameterInit, Linear } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';

function countParameters(c: DiffusionComponents): Record<string, number> {
  const count = (m: { parameters(): { size: number }[] }): number => m.parameters().reduce((n, p) => n + p.size, 0);
  return { textEncoder: count(c.textEncoder), denoiser: count(c.denoiser), vae: count(c.vae) };
}

function disposeComponents(c: DiffusionComponents): void {
  c.textEncoder.dispose();
  c.denoiser.dispose();
  c.vae.dispose();
}

describe('zoo diffusion sizes', () => {
  beforeAll(() => useBackend('cpu'));

  it.each(['tiny', 'small'] as const)('the counted parameters of %s match the built model', (size) => {
    const c = createDiffusionComponents(size, { tier: 'host' });
    const counts = diffusionParameterCounts(size);
    expect(countParameters(c)).toEqual({ textEncoder: counts.textEncoder, denoiser: counts.denoiser, vae: counts.vae });
    disposeComponents(c);
  });

  it('the sizes are what their names promise, up to xl past the 4 GiB wasm heap', () => {
    const bytes = (s: Parameters<typeof diffusionParameterCounts>[0]): number => diffusionParameterCounts(s).total * 4;
    expect(bytes('base')).toBeGreaterThan(0.4e9);
    expect(bytes('base')).toBeLessThan(0.7e9);
    expect(bytes('large')).toBeGreaterThan(1.7e9);
    expect(bytes('large')).toBeLessThan(2.5e9);
    expect(bytes('xl')).toBeGreaterThan(4 * 2 ** 30);
  });

  it('host-tier weights stay off the device', () => {
    const c = expectNoLeaks(() => createDiffusionComponents('tiny', { tier: 'host' }));
    expect(c.denoiser.memoryFootprint().device).toBe(0);
    expect(c.denoiser.memoryFootprint().host).toBeGreaterThan(0);
    disposeComponents(c);
  });
});

describe.each(BACKENDS)('zoo diffusion pipeline on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('generates an image of the right shape, deterministically, without leaks', () => {
    const c = createDiffusionComponents('tiny', { seed: 3 });
    expectNoLeaks(() => {
      const a = generateImage(c, { steps: 2, latentSize: 8, promptTokens: 8, seed: 1 });
      const b = generateImage(c, { steps: 2, latentSize: 8, promptTokens: 8, seed: 1 });
      expect(a.shape).toEqual([1, 16, 16, 3]);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(a.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([a, b]);
    });
    disposeComponents(c);
  });

  it('weights are the same whichever tier they are generated in', () => {
    const onDevice = createDiffusionComponents('tiny', { seed: 5 });
    const onHost = createDiffusionComponents('tiny', { seed: 5, tier: 'host' });
    const host = onHost.denoiser.namedParameters();
    onDevice.denoiser.namedParameters().forEach(([name, p], i) => {
      expect(host[i]![0]).toBe(name);
      expect(Array.from(p.read().dataSync())).toEqual(Array.from(host[i]![1].hostData()));
    });
    disposeComponents(onDevice);
    disposeComponents(onHost);
  });

  it('refuses a resident pipeline past the device budget before making any weight', () => {
    expectNoLeaks(() => {
      if (backend === 'wasm') {
        // The default wasm budget (below the 4 GiB heap cap) refuses xl's 4.7 GB of float32 weights.
        expect(() => createDiffusionComponents('xl')).toThrow(DeviceBudgetExceededError);
      } else {
        memory.setDeviceBudget(diffusionParameterCounts('tiny').total * 2);
        try {
          expect(() => createDiffusionComponents('tiny')).toThrow(/zoo pipeline "tiny".*tier: 'host'/s);
        } finally {
          memory.setDeviceBudget(undefined);
        }
      }
    });
  });

  it('withParameterInit restores the default init after it returns and after it throws', () => {
    expect(() => withParameterInit({ seed: 1 }, () => {
      throw new Error('inside');
    })).toThrow('inside');
    const l = new Linear(3, 2);
    // Outside a context, weights come from tf.randomUniform on the device, as before.
    expect(l.weight.tier).toBe('device');
    l.dispose();
    expect(() => withParameterInit({ seed: 1.5 }, () => 0)).toThrow(/seed/);
  });
});
