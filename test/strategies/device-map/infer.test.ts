import { beforeAll, describe, expect, it } from 'vitest';
import { cleanDeviceMap } from '../../../src/strategies/device-map/infer.js';
import { computeModuleSizes, getBalancedMemory, inferAutoDeviceMap, memory, MemhooksError } from '../../../src/index.js';
import { entryFor } from '../../../src/strategies/device-map/placement.js';
import { useBackend } from '../../helpers/backends.js';
import { Chain, ModelForTest, Stack3 } from './models.js';

// Two compute devices stand in for accelerate's GPUs 0 and 1: the cpu and wasm backends (both registered).
beforeAll(async () => {
  await useBackend('wasm');
  await useBackend('cpu');
});

describe('computeModuleSizes', () => {
  it("gives accelerate's ModelForTest sizes per module and parameter", () => {
    const sizes = computeModuleSizes(new ModelForTest());
    expect(Object.fromEntries(sizes)).toEqual({
      '': 236,
      linear1: 64,
      'linear1.weight': 48,
      'linear1.bias': 16,
      batchnorm: 72,
      'batchnorm.weight': 72,
      linear2: 100,
      'linear2.weight': 80,
      'linear2.bias': 20,
    });
  });

  it('counts float weights at a smaller storage dtype, never a larger one, and rejects unknown dtypes', () => {
    expect(computeModuleSizes(new ModelForTest(), { dtype: 'float16' }).get('')).toBe(118);
    expect(computeModuleSizes(new ModelForTest(), { dtype: 'float8_e4m3fn' }).get('linear2')).toBe(25);
    expect(computeModuleSizes(new ModelForTest(), { dtype: 'float32' }).get('')).toBe(236);
    expect(() => computeModuleSizes(new ModelForTest(), { dtype: 'float64' as never })).toThrow(/not one of/);
  });

  it('counts a tied weight once per module that uses it', () => {
    const t = new Stack3();
    (t.layers.at(1) as ModelForTest).batchnorm = (t.layers.at(0) as ModelForTest).batchnorm;
    const sizes = computeModuleSizes(t);
    expect(sizes.get('layers.0')).toBe(236);
    expect(sizes.get('layers.1')).toBe(236);
    expect(sizes.get('')).toBe(3 * 236 - 72);
  });
});

describe('inferAutoDeviceMap (accelerate test_infer_auto_device_map values)', () => {
  it('keeps room for the largest layer on the first device', () => {
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { cpu: 200, wasm: 200 } })).toEqual({ linear1: 'cpu', batchnorm: 'wasm', linear2: 'wasm' });
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { cpu: 200, wasm: 172, host: 200 } })).toEqual({ linear1: 'cpu', batchnorm: 'wasm', linear2: 'wasm' });
  });

  it('splits modules that do not fit, unless they are no-split classes', () => {
    expect(inferAutoDeviceMap(new Stack3(), { maxMemory: { cpu: 500, wasm: 500 } })).toEqual({
      'layers.0': 'cpu',
      'layers.1.linear1': 'cpu',
      'layers.1.batchnorm': 'cpu',
      'layers.1.linear2': 'wasm',
      'layers.2': 'wasm',
    });
    expect(inferAutoDeviceMap(new Stack3(), { maxMemory: { cpu: 500, wasm: 500 }, noSplitModuleClasses: ['ModelForTest'] })).toEqual({
      'layers.0': 'cpu',
      'layers.1': 'wasm',
      'layers.2': 'wasm',
    });
    expect(inferAutoDeviceMap(new Stack3(), { maxMemory: { cpu: 500, wasm: 500 }, noSplitModuleClasses: [ModelForTest] })).toEqual({
      'layers.0': 'cpu',
      'layers.1': 'wasm',
      'layers.2': 'wasm',
    });
  });

  it('falls back to host, then disk, and merges a module whose parts share a device', () => {
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { device: 1000 } })).toEqual({ '': 'device' });
    // device: 164 - 100 (room for linear2, still to place) fits linear1 only; host keeps the same room for
    // batchnorm (172 - 100 = 72), then linear2, the last layer, may use it.
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { device: 164, host: 172 } })).toEqual({ linear1: 'device', batchnorm: 'host', linear2: 'host' });
    // One byte less on the host: batchnorm no longer fits beside the reserve and the rest spills to disk.
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { device: 164, host: 171 } })).toEqual({ linear1: 'device', batchnorm: 'disk', linear2: 'disk' });
    expect(inferAutoDeviceMap(new ModelForTest(), { maxMemory: { device: 0, host: 0 } })).toEqual({ '': 'disk' });
  });

  it("never lets 'blocks.1' capture 'blocks.10'", () => {
    const chain = new Chain(12, 4);
    const sizes = computeModuleSizes(chain);
    const block = sizes.get('blocks.0')!;
    // Room for 1 block + the reserve of 1 block on the device: blocks 0 on device, the rest on host.
    const map = inferAutoDeviceMap(chain, { maxMemory: { device: 2 * block, host: 100 * block } });
    expect(map).toEqual({ 'blocks.0': 'device', 'blocks.1': 'host', 'blocks.2': 'host', 'blocks.3': 'host', 'blocks.4': 'host', 'blocks.5': 'host', 'blocks.6': 'host', 'blocks.7': 'host', 'blocks.8': 'host', 'blocks.9': 'host', 'blocks.10': 'host', 'blocks.11': 'host', head: 'host' });
    expect(entryFor({ 'blocks.1': 'host', 'blocks.10': 'device' }, 'blocks.10.proj.weight')).toBe('blocks.10');
    expect(entryFor({ 'blocks.1': 'host', '': 'device' }, 'blocks.10.proj.weight')).toBe('');
    expect(cleanDeviceMap({ 'blocks.1.a': 'host', 'blocks.1.b': 'host', 'blocks.10': 'device', 'blocks.11': 'device' })).toEqual({ 'blocks.1': 'host', 'blocks.10': 'device', 'blocks.11': 'device' });
  });

  it('refuses unknown devices and malformed sizes', () => {
    expect(() => inferAutoDeviceMap(new ModelForTest(), { maxMemory: { gpu0: 10 } })).toThrow(/unknown devices "gpu0"/);
    expect(() => inferAutoDeviceMap(new ModelForTest(), { maxMemory: { device: '10 apples' } })).toThrow(MemhooksError);
  });
});

describe('getBalancedMemory (accelerate test_get_balanced_memory values)', () => {
  it('spreads the model over the compute devices, the last one keeping its budget', () => {
    expect(getBalancedMemory(new ModelForTest(), { maxMemory: { cpu: 300, wasm: 300 } })).toEqual({ cpu: 215, wasm: 300 });
    expect(getBalancedMemory(new ModelForTest(), { maxMemory: { cpu: 200, wasm: 200 } })).toEqual({ cpu: 200, wasm: 200 });
    expect(getBalancedMemory(new ModelForTest(), { maxMemory: { cpu: 300, host: 1000 } })).toEqual({ cpu: 300, host: 1000 });
    expect(getBalancedMemory(new ModelForTest(), { maxMemory: { device: 0, cpu: 300, wasm: 300 } })).toEqual({ device: 0, cpu: 215, wasm: 300 });
  });

  it('keeps 10% headroom on a single device whose budget is the default', () => {
    memory.setDeviceBudget(1000);
    try {
      expect(getBalancedMemory(new ModelForTest()).device).toBe(900);
      expect(getBalancedMemory(new ModelForTest(), { maxMemory: { device: 1000 } })).toEqual({ device: 1000 });
    } finally {
      memory.setDeviceBudget(undefined);
    }
  });

  it('keeps the first device nearly empty with lowZero', () => {
    // per device 236 + 97 = 333 > 300: the second keeps 300, so the first needs max(0, 236 - 300) = 0.
    expect(getBalancedMemory(new ModelForTest(), { maxMemory: { cpu: 300, wasm: 300 }, lowZero: true })).toEqual({ cpu: 0, wasm: 300 });
  });
});
