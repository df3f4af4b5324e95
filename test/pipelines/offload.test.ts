import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyBatchSlicing,
  appliedStrategies,
  applySequentialOffload,
  events,
  HookRegistry,
  InvalidArgumentError,
  Linear,
  ModelHook,
  memory,
  module,
  Module,
  Pipeline,
  StrategyConflictError,
  type TransferEvent,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { Mlp } from '../strategies/cpu-offload/models.js';
import { expectBitwise, expectSameWeights, hookNames, snapshotWeights, tiers } from '../strategies/cpu-offload/models.js';
import { disposeComponents, TinyChecker, tinyComponents, TinyPipeline, type TinyComponents } from './fixtures.js';

const tokens = () => tf.randomNormal([2, 4, 8], 0, 1, 'float32', 7);

function transfers(fn: () => void): string[] {
  const log: string[] = [];
  const on = (e: TransferEvent) => log.push(`onload ${e.path}`);
  const off = (e: TransferEvent) => log.push(`offload ${e.path}`);
  events.on('onload', on).on('offload', off);
  try {
    fn();
  } finally {
    events.off('onload', on).off('offload', off);
  }
  return log;
}

function allTiers(p: Pipeline): Record<string, string[]> {
  return Object.fromEntries(Object.entries(p.components).map(([k, m]) => [k, tiers(m)]));
}

class WithChecker extends TinyPipeline<TinyComponents & { checker: TinyChecker }> {
  override run(x: tf.Tensor, steps = 3): tf.Tensor {
    const image = super.run(x, steps);
    const score = this.components.checker.forward(image);
    score.dispose();
    return image;
  }
}

@module({ supportsGroupOffloading: false })
class NoGroup extends Module {
  lin = new Linear(8, 8);
  forward(x: tf.Tensor): tf.Tensor {
    return this.lin.forward(x);
  }
}

class VaeExcluded extends TinyPipeline {
  static override excludeFromCpuOffload = ['vae'];
}

describe.each(BACKENDS)('Pipeline offloading on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('takes typed, frozen components and refuses bad ones', () => {
    const c = tinyComponents();
    const pipe = new TinyPipeline(c);
    expect(pipe.components.vae).toBe(c.vae);
    expect(pipe.componentNames).toEqual(['textEncoder', 'denoiser', 'vae']);
    expect(Object.isFrozen(pipe.components)).toBe(true);
    expect(pipe.hfDeviceMap).toBeUndefined();
    expect(() => new Pipeline({ a: c.vae, b: c.vae })).toThrow(/"a" and "b" are the same module/);
    expect(() => new Pipeline({ a: {} as never })).toThrow(/component "a" must be a Module, got a plain object/);
    expect(() => new Pipeline(null as never)).toThrow(InvalidArgumentError);
    expect(() => new Pipeline({ vae: c.vae }).enableModelCpuOffload()).toThrow(/Pipeline.modelCpuOffloadSeq is not set/);
    disposeComponents(pipe);
  });

  it('model offload chains textEncoder → denoiser → vae in order, bitwise, and maybeFreeModelHooks empties the device', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    const weights = Object.values(pipe.components).map(snapshotWeights);
    const resident = memory.track(() => pipe.run(x).dispose()).peakDeviceBytes;
    pipe.enableModelCpuOffload();
    expect(allTiers(pipe)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['host'] });
    let image!: tf.Tensor;
    let peak = 0;
    const log = transfers(() => ({ result: image, peakDeviceBytes: peak } = memory.track(() => pipe.run(x))));
    expectBitwise(image, expected);
    // The denoiser runs three times and is onloaded once; each component offloads its predecessor; the
    // last one is offloaded by maybeFreeModelHooks at the end of run().
    expect(log).toEqual([
      'onload TinyEncoder',
      'offload TinyEncoder',
      'onload TinyDenoiser',
      'offload TinyDenoiser',
      'onload TinyVae',
      'offload TinyVae',
    ]);
    expect(allTiers(pipe)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['host'] });
    const biggest = Math.max(...Object.values(pipe.components).map((m) => m.memoryFootprint().host));
    const total = Object.values(pipe.components).reduce((n, m) => n + m.memoryFootprint().host, 0);
    expect(resident - peak).toBeGreaterThanOrEqual(total - biggest - 1024);
    // The chain is re-armed: a second run is the same.
    const again = pipe.run(x);
    expectBitwise(again, expected);
    pipe.removeAllHooks();
    expect(allTiers(pipe)).toEqual({ textEncoder: ['device'], denoiser: ['device'], vae: ['device'] });
    Object.values(pipe.components).forEach((m, i) => expectSameWeights(weights[i]!, snapshotWeights(m)));
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    tf.dispose([x, expected, image, again]);
    disposeComponents(pipe);
  });

  it('maybeFreeModelHooks resets the stateful hooks of every component, offloading or not', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const resets: string[] = [];
    class Cache extends ModelHook {
      override readonly stateful = true;
      override resetState(m: Module): void {
        resets.push(m.path);
      }
    }
    HookRegistry.checkIfExistsOrInitialize(pipe.components.denoiser.attn).registerHook(new Cache(), 'cache');
    HookRegistry.checkIfExistsOrInitialize(pipe.components.vae).registerHook(new Cache(), 'cache');
    pipe.maybeFreeModelHooks();
    expect(resets).toEqual(['attn', '']);
    pipe.enableModelCpuOffload();
    const x = tokens();
    tf.dispose([pipe.run(x), x]);
    expect(resets).toEqual(['attn', '', 'attn', '']);
    pipe.removeAllHooks();
    disposeComponents(pipe);
  });

  it('leaves excluded components where they are, and gives components outside the sequence an unchained offload', () => {
    const excl = new VaeExcluded(tinyComponents());
    excl.enableModelCpuOffload();
    expect(allTiers(excl)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['device'] });
    expect(hookNames(excl.components.vae)).toEqual([]);
    const x = tokens();
    tf.dispose(excl.run(x));
    expect(allTiers(excl)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['device'] });
    excl.removeAllHooks();
    disposeComponents(excl);

    const pipe = new WithChecker({ ...tinyComponents(), checker: new TinyChecker() });
    const expected = pipe.run(x);
    pipe.enableModelCpuOffload();
    const log = transfers(() => {
      const y = pipe.run(x);
      expectBitwise(y, expected);
      y.dispose();
    });
    // The checker runs after maybeFreeModelHooks inside run(): it stays on the device until the next free.
    expect(log.slice(-2)).toEqual(['offload TinyVae', 'onload TinyChecker']);
    expect(allTiers(pipe).checker).toEqual(['device']);
    pipe.maybeFreeModelHooks();
    expect(allTiers(pipe).checker).toEqual(['host']);
    pipe.removeAllHooks();
    tf.dispose([x, expected]);
    disposeComponents(pipe);
  });

  it('sequential offload keeps every weight on the host between modules, bitwise, below model offload at peak', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    pipe.enableModelCpuOffload();
    const modelPeak = memory.track(() => pipe.run(x).dispose()).peakDeviceBytes;
    // Switching from model to sequential offload replaces it.
    pipe.enableSequentialCpuOffload();
    expect(Object.values(pipe.components).map((m) => appliedStrategies(m))).toEqual([['sequential_offload'], ['sequential_offload'], ['sequential_offload']]);
    const { result, peakDeviceBytes } = memory.track(() => pipe.run(x));
    expectBitwise(result, expected);
    expect(peakDeviceBytes).toBeLessThan(modelPeak);
    expect(allTiers(pipe)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['host'] });
    pipe.enableModelCpuOffload();
    expect(Object.values(pipe.components).map((m) => appliedStrategies(m))).toEqual([['model_cpu_offload'], ['model_cpu_offload'], ['model_cpu_offload']]);
    pipe.removeAllHooks();
    const excl = new VaeExcluded(pipe.components);
    excl.enableSequentialCpuOffload();
    expect(allTiers(excl)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['device'] });
    excl.removeAllHooks();
    tf.dispose([x, expected, result]);
    disposeComponents(pipe);
  });

  it('group offload applies to every component but the excluded ones, bitwise', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level', excludeModules: ['vea'] })).toThrow(/`excludeModules` names "vea", which is no component/);
    pipe.enableGroupOffload({ offloadType: 'leaf_level', excludeModules: 'vae' });
    expect(allTiers(pipe)).toEqual({ textEncoder: ['host'], denoiser: ['host'], vae: ['device'] });
    expect(appliedStrategies(pipe.components.vae)).toEqual([]);
    const y = pipe.run(x);
    expectBitwise(y, expected);
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/already enabled/);
    pipe.removeAllHooks();
    expect(allTiers(pipe)).toEqual({ textEncoder: ['device'], denoiser: ['device'], vae: ['device'] });
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    tf.dispose([x, expected, y]);
    disposeComponents(pipe);
  });

  it('group offload to disk gives each component a folder of its own (components share module names), bitwise', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'memhooks-pipeline-disk-'));
    try {
      const pipe = new TinyPipeline(tinyComponents());
      const x = tokens();
      const expected = pipe.run(x);
      // The encoder and the denoiser both have an "attn" with "to_q", …: one folder for both would mix their files.
      pipe.enableGroupOffload({ offloadType: 'leaf_level', offloadToDiskPath: dir });
      expect(readdirSync(dir).sort()).toEqual(['denoiser', 'textEncoder', 'vae']);
      for (let i = 0; i < 2; i++) {
        const y = pipe.run(x);
        expectBitwise(y, expected);
        y.dispose();
      }
      pipe.removeAllHooks();
      tf.dispose([x, expected]);
      disposeComponents(pipe);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses group offload over model/sequential offload and the reverse, naming what is there and how to remove it', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const weights = Object.values(pipe.components).map(snapshotWeights);
    pipe.enableGroupOffload({ offloadType: 'block_level', numBlocksPerGroup: 1 });
    for (const enable of [() => pipe.enableModelCpuOffload(), () => pipe.enableSequentialCpuOffload()]) {
      expect(enable).toThrow(StrategyConflictError);
      expect(enable).toThrow(/this pipeline has group offloading \(strategy "group_offloading"\) enabled on "textEncoder", "denoiser", "vae" by enableGroupOffload\(\)\. Call pipeline.removeAllHooks\(\) first/);
    }
    pipe.removeAllHooks();
    pipe.enableModelCpuOffload();
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/Cannot enableGroupOffload\(\): this pipeline has model CPU offload \(strategy "model_cpu_offload"\)/);
    pipe.enableSequentialCpuOffload();
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/sequential CPU offload \(strategy "sequential_offload"\)/);
    pipe.removeAllHooks();
    // Strategies applied by hand inside a component are named with the component and the module.
    const hand = applySequentialOffload(pipe.components.denoiser.attn);
    const before = allTiers(pipe);
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/component "denoiser" \(at module "attn" \(Attention\)\) has strategy "sequential_offload" applied\. Remove it first/);
    expect(() => pipe.enableModelCpuOffload()).toThrow(/has strategy "sequential_offload" applied/);
    // Nothing was changed by the refusals.
    expect(allTiers(pipe)).toEqual(before);
    expect(appliedStrategies(pipe.components.denoiser)).toEqual([]);
    hand.remove();
    Object.values(pipe.components).forEach((m, i) => expectSameWeights(weights[i]!, snapshotWeights(m)));
    disposeComponents(pipe);
  });

  it('removeAllHooks removes strategies applied by hand too, and a failed enable leaves nothing applied', () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    applyBatchSlicing(pipe.components.textEncoder);
    pipe.enableSequentialCpuOffload();
    pipe.removeAllHooks();
    expect(Object.values(pipe.components).flatMap((c) => c.modules().flatMap((m) => appliedStrategies(m)))).toEqual([]);
    pipe.removeAllHooks();
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level', prefetchDepth: 0 })).toThrow(/prefetchDepth/);
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    expect(allTiers(pipe)).toEqual({ textEncoder: ['device'], denoiser: ['device'], vae: ['device'] });
    const y = pipe.run(x);
    expectBitwise(y, expected);
    tf.dispose([x, expected, y]);
    disposeComponents(pipe);
  });

  it('rolls back the components already offloaded when a later one refuses', () => {
    const pipe = new Pipeline({ a: new Mlp(), b: new Mlp(), c: new NoGroup() });
    const weights = Object.values(pipe.components).map(snapshotWeights);
    expect(() => pipe.enableGroupOffload({ offloadType: 'leaf_level' })).toThrow(/NoGroup declares @module\(\{ supportsGroupOffloading: false \}\)/);
    expect(Object.values(pipe.components).flatMap(hookNames)).toEqual([]);
    expect(Object.values(pipe.components).flatMap((m) => appliedStrategies(m))).toEqual([]);
    expect(allTiers(pipe)).toEqual({ a: ['device'], b: ['device'], c: ['device'] });
    Object.values(pipe.components).forEach((m, i) => expectSameWeights(weights[i]!, snapshotWeights(m)));
    // The pipeline holds no half-applied mode: other offloads work.
    pipe.enableSequentialCpuOffload();
    pipe.removeAllHooks();
    disposeComponents(pipe);
  });
});
