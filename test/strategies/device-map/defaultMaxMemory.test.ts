import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeModuleSizes, defaultMaxMemory, getBalancedMemory, inferAutoDeviceMap, memory } from '../../../src/index.js';
import { DEFAULT_WASM_DEVICE_BUDGET } from '../../../src/runtime/budget.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { useNodePlatformWith } from '../../helpers/platform.js';
import { Chain } from './models.js';

// The host's free memory is whatever this test says, so that the defaults can be checked exactly.
const host = vi.hoisted(() => ({ free: 0 }));
useNodePlatformWith({ freeMemory: () => host.free });

beforeAll(async () => {
  await useBackend('wasm');
  await useBackend('cpu');
});
afterEach(() => memory.setDeviceBudget(undefined));

/** Bytes the map puts on `device`. */
function bytesOn(model: Chain, map: Record<string, string>, device: string): number {
  const sizes = computeModuleSizes(model);
  return Object.entries(map).filter(([, d]) => d === device).reduce((n, [k]) => n + sizes.get(k)!, 0);
}

for (const backend of BACKENDS) {
  describe(`inferAutoDeviceMap without maxMemory on ${backend}`, () => {
    it('fills the device up to the budget set with memory.setDeviceBudget, the host up to its free memory', async () => {
      await useBackend(backend);
      const model = new Chain(6);
      const block = computeModuleSizes(model).get('blocks.0')!;
      host.free = 1e9;
      memory.setDeviceBudget(3 * block);
      expect(defaultMaxMemory()).toEqual({ device: { bytes: 3 * block, source: 'device budget' }, host: { bytes: 1e9, source: 'free host memory' } });
      const map = inferAutoDeviceMap(model);
      expect(map).toEqual(inferAutoDeviceMap(model, { maxMemory: { device: 3 * block, host: 1e9 } }));
      expect(bytesOn(model, map, 'device')).toBeGreaterThan(0);
      expect(bytesOn(model, map, 'device')).toBeLessThanOrEqual(3 * block);
      expect(Object.values(map)).toContain('host');
      model.dispose();
    });

    it("uses the backend's own budget, or the host's free memory where it has none", async () => {
      await useBackend(backend);
      const model = new Chain(6);
      const total = computeModuleSizes(model).get('')!;
      host.free = Math.floor(total / 2);
      const used = defaultMaxMemory();
      const device = backend === 'wasm' ? { bytes: DEFAULT_WASM_DEVICE_BUDGET, source: 'wasm default budget' } : { bytes: host.free, source: 'free host memory' };
      expect(used).toEqual({ device, host: { bytes: host.free, source: 'free host memory' } });
      const map = inferAutoDeviceMap(model);
      expect(map).toEqual(inferAutoDeviceMap(model, { maxMemory: { device: device.bytes, host: host.free } }));
      if (backend === 'cpu') {
        // Half the model fits in the (test's) free memory: the device takes what fits, the rest spills on.
        expect(bytesOn(model, map, 'device')).toBeLessThanOrEqual(host.free);
        expect(Object.values(map)).toContain('disk');
      } else {
        expect(map).toEqual({ '': 'device' });
      }
      // getBalancedMemory has the same defaults (less accelerate's 10% headroom on a single device).
      expect(getBalancedMemory(model)).toEqual({ device: Math.floor(0.9 * device.bytes), host: host.free });
      model.dispose();
    });
  });
}
