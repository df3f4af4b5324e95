import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookRegistry, ModelHook, type Module, type NextForward } from '../../src/index.js';
import { assignComponentsToDevices } from '../../src/pipelines/balanced.js';
import { backendOf } from '../../src/strategies/device-map/backends.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { expectBitwise, hookNames, tiers } from '../strategies/cpu-offload/models.js';
import { disposeComponents, tinyComponents, TinyPipeline } from './fixtures.js';

describe('assignComponentsToDevices', () => {
  it('follows the snake order over budgets, sends what does not fit to host, and names a component that fits nowhere', () => {
    const sizes: Array<[string, number]> = [['e', 10], ['a', 50], ['c', 30], ['b', 40], ['d', 20]];
    // Cycle wasm, cpu, cpu, wasm: a→wasm (50 left), b→cpu (20 left), c does not fit cpu → host (cycle stays),
    // d→cpu (0 left), e→wasm (40 left). Entries come back in the order given.
    expect(assignComponentsToDevices(sizes, [['wasm', 100], ['cpu', 60]], undefined)).toEqual({ e: 'wasm', a: 'wasm', c: 'host', b: 'cpu', d: 'cpu' });
    expect(() => assignComponentsToDevices(sizes, [['wasm', 100], ['cpu', 60]], 25)).toThrow(/component "c" \(30 B\) fits on no device .* and not in the host budget either \(25 B left\)/);
    expect(assignComponentsToDevices([['x', 5]], [['cpu', 4]], 5)).toEqual({ x: 'host' });
  });
});

/** Runs a component's forward with `backend` active: the by-hand reference for a placed component. */
class OnBackend extends ModelHook {
  constructor(private readonly backend: string) {
    super();
  }
  override newForward(_m: Module, args: any[], next: NextForward): any {
    const previous = tf.getBackend();
    void tf.setBackend(this.backend);
    try {
      return next(...args);
    } finally {
      void tf.setBackend(previous);
    }
  }
}

function componentBytes(m: Module): number {
  return m.parameters().reduce((n, p) => n + p.byteLength, 0);
}

describe.each(BACKENDS)('balanced placement with %s active', (backend) => {
  const other = backend === 'cpu' ? 'wasm' : 'cpu';
  beforeAll(async () => {
    await useBackend(other);
    await useBackend(backend);
  });
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** The pipeline's image with each component run by hand on the backend `map` gives it. */
  function byHand(pipe: TinyPipeline, map: Record<string, string>, x: tf.Tensor): tf.Tensor {
    const handles = Object.entries(map).map(([n, d]) =>
      HookRegistry.checkIfExistsOrInitialize((pipe.components as unknown as Record<string, Module>)[n]!).registerHook(new OnBackend(d === 'host' ? other : d), 'by-hand'),
    );
    try {
      return pipe.run(x);
    } finally {
      handles.forEach((h) => h.remove());
    }
  }

  it('places all on one device, splits over two, and sends one to host, each bitwise the by-hand run', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 3);
    const resident = pipe.run(x);
    const sizes = Object.fromEntries(pipe.componentNames.map((n) => [n, componentBytes((pipe.components as unknown as Record<string, Module>)[n]!)]));
    const [big, mid, small] = Object.entries(sizes).sort((a, b) => b[1] - a[1]).map(([n]) => n) as [string, string, string];
    const total = sizes[big]! + sizes[mid]! + sizes[small]!;
    const cases: Array<[Record<string, number>, Record<string, string>]> = [
      // One device with room for everything.
      [{ [backend]: total }, { [big]: backend, [mid]: backend, [small]: backend }],
      // Snake: the largest on the larger budget, the next two on the other one.
      [{ [other]: total, [backend]: sizes[mid]! + sizes[small]! }, { [big]: other, [mid]: backend, [small]: backend }],
      // The largest fits nowhere: host, with model offload on the first device.
      [{ [other]: sizes[mid]!, [backend]: sizes[small]!, host: total }, { [big]: 'host', [mid]: other, [small]: backend }],
    ];
    for (const [maxMemory, expected] of cases) {
      const ordered = Object.fromEntries(pipe.componentNames.map((n) => [n, expected[n]!]));
      const want = byHand(pipe, ordered, x);
      expect(pipe.placeComponents('balanced', { maxMemory })).toEqual(ordered);
      expect(pipe.hfDeviceMap).toEqual(ordered);
      for (const [n, d] of Object.entries(ordered)) {
        const m = (pipe.components as unknown as Record<string, Module>)[n]!;
        if (d === 'host') expect(tiers(m)).toEqual(['host']);
        else expect(new Set(m.parameters().map((p) => backendOf(p.read())))).toEqual(new Set([d]));
      }
      const got = pipe.run(x);
      expectBitwise(got, want);
      expect(tf.getBackend()).toBe(backend);
      expect(() => pipe.enableModelCpuOffload()).toThrow(/is placed over devices \(hfDeviceMap .*\)\. Call pipeline.resetDeviceMap\(\) first/);
      expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/resetDeviceMap\(\) first/);
      pipe.resetDeviceMap();
      expect(pipe.hfDeviceMap).toBeUndefined();
      expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
      for (const m of Object.values(pipe.components)) expect(new Set(m.parameters().map((p) => backendOf(p.read())))).toEqual(new Set([backend]));
      tf.dispose([want, got]);
    }
    // Reset, then model offload works and is the resident image again.
    pipe.resetDeviceMap();
    pipe.enableModelCpuOffload();
    const y = pipe.run(x);
    expectBitwise(y, resident);
    pipe.removeAllHooks();
    tf.dispose([x, resident, y]);
    disposeComponents(pipe);
  });

  it('refuses bad placements before changing anything', () => {
    const pipe = new TinyPipeline(tinyComponents());
    expect(() => pipe.placeComponents('auto')).toThrow(/'auto' splits one model .* componentOptions: \{ denoiser: \{ deviceMap: 'auto'/);
    expect(() => pipe.placeComponents('balanced')).toThrow(/needs maxMemory/);
    expect(() => pipe.placeComponents('balanced', { maxMemory: { gpu0: '1GB' } })).toThrow(/maxMemory names "gpu0", which is no registered tfjs backend/);
    expect(() => pipe.placeComponents('balanced', { maxMemory: { [backend]: 10, host: 10 } })).toThrow(/fits on no device/);
    pipe.enableSequentialCpuOffload();
    expect(() => pipe.placeComponents(backend)).toThrow(/Cannot place the components: component "textEncoder" has strategy "sequential_offload" applied/);
    pipe.removeAllHooks();
    expect(pipe.hfDeviceMap).toBeUndefined();
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    // One device name places everything there.
    expect(pipe.placeComponents(other)).toEqual({ textEncoder: other, denoiser: other, vae: other });
    expect(() => pipe.placeComponents(other)).toThrow(/already placed/);
    pipe.removeAllHooks();
    expect(pipe.hfDeviceMap).toBeUndefined();
    disposeComponents(pipe);
  });

  it('fromPretrained places the loaded components, and releases them when they fit nowhere', async () => {
    const pipe = new TinyPipeline(tinyComponents());
    const dir = mkdtempSync(join(os.tmpdir(), 'memhooks-place-'));
    dirs.push(dir);
    await pipe.savePretrained(dir);
    const x = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 4);
    const maxMemory = { [other]: '1GB', [backend]: '1GB' };
    const loaded = await TinyPipeline.fromPretrained(dir, { deviceMap: 'balanced', maxMemory });
    const fresh = new TinyPipeline(tinyComponents());
    expect(loaded.hfDeviceMap).toEqual(fresh.placeComponents('balanced', { maxMemory }));
    fresh.removeAllHooks();
    disposeComponents(fresh);
    const want = byHand(pipe, loaded.hfDeviceMap!, x);
    const got = loaded.run(x);
    expectBitwise(got, want);
    loaded.resetDeviceMap();
    disposeComponents(loaded);
    await expectNoLeaks(async () => {
      await expect(TinyPipeline.fromPretrained(dir, { deviceMap: 'balanced', maxMemory: { [backend]: 10, host: 10 } })).rejects.toThrow(/fits on no device/);
      await expect(TinyPipeline.fromPretrained(dir, { deviceMap: 'auto' })).rejects.toThrow(/'auto' splits one model/);
      await expect(TinyPipeline.fromPretrained(dir, { deviceMap: 'balanced', maxMemory: { nope: 1 } })).rejects.toThrow(/"nope", which is no registered/);
    });
    tf.dispose([x, want, got]);
    disposeComponents(pipe);
  });
});
