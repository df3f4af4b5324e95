import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applySequentialOffload,
  cpuOffloadWithHook,
  Linear,
  memory,
  ModuleList,
  withParameterInit,
  type GroupOffloadingOptions,
  type Module,
  type Parameter,
} from '../../../src/index.js';
import {
  createDiffusionComponents,
  DiffusionPipeline,
  DIFFUSION_COMPONENT_NAMES,
  generateImage,
  type DiffusionComponents,
} from '../../../src/zoo.js';
import { EARLY_UPLOAD_BACKENDS } from '../../../src/strategies/group-offloading/stores.js';
import type { DiskRef } from '../../../src/models/Parameter.js';
import { DiskHomes } from '../../../src/strategies/group-offloading/homes.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';

const GEN = { steps: 2, latentSize: 8, promptTokens: 8, seed: 1 } as const;
const roots: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(join(os.tmpdir(), 'memhooks-disk-init-'));
  roots.push(d);
  return d;
};
afterAll(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const modules = (c: DiffusionComponents): Module[] => DIFFUSION_COMPONENT_NAMES.map((k) => c[k]);
const params = (c: DiffusionComponents): Parameter[] => modules(c).flatMap((m) => m.parameters());
const dispose = (c: DiffusionComponents): void => modules(c).forEach((m) => m.dispose());
const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const image = (c: DiffusionComponents): Buffer => {
  const out = generateImage(c, GEN);
  const b = Buffer.from(bytesOf(out.dataSync()));
  out.dispose();
  return b;
};

describe('withParameterInit({ tier: "disk" }) input checks', () => {
  beforeAll(() => useBackend('cpu'));

  it('refuses a missing dir, a dir with another tier, an unwritable dir and a zero shard size, building nothing', () => {
    const host = memory.stats().hostBytes;
    expectNoLeaks(() => {
      let built = 0;
      const build = (): Linear => {
        built++;
        return new Linear(4, 4);
      };
      expect(() => withParameterInit({ tier: 'disk', seed: 0 }, build)).toThrow(/tier 'disk' needs `dir`/);
      expect(() => withParameterInit({ tier: 'host', seed: 0, dir: tmp() }, build)).toThrow(/`dir` applies only to tier 'disk'/);
      expect(() => withParameterInit({ tier: 'device', seed: 0, maxShardSize: '1MB' }, build)).toThrow(/`maxShardSize` applies only to tier 'disk'/);
      const file = join(tmp(), 'a-file');
      fs.writeFileSync(file, 'x');
      expect(() => withParameterInit({ tier: 'disk', seed: 0, dir: file }, build)).toThrow(expect.objectContaining({ code: 'WRITE_FAILED' }));
      expect(() => withParameterInit({ tier: 'disk', seed: 0, dir: tmp(), maxShardSize: 0 }, build)).toThrow(/maxShardSize/);
      expect(() => createDiffusionComponents('tiny', { tier: 'disk' })).toThrow(/needs `dir`/);
      expect(() => createDiffusionComponents('tiny', { tier: 'host', dir: tmp() })).toThrow(/`dir` applies only to tier 'disk'/);
      expect(built).toBe(0);
    });
    expect(memory.stats().hostBytes).toBe(host);
  });

  it('a build that throws releases its weights and removes the shards it wrote', () => {
    const dir = tmp();
    const host = memory.stats().hostBytes;
    expect(() =>
      withParameterInit({ tier: 'disk', seed: 0, dir, maxShardSize: 100 }, () => {
        new Linear(8, 8);
        new Linear(8, 8);
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(memory.stats().hostBytes).toBe(host);
  });
});

describe.each(BACKENDS)('generating weights straight to disk on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('gives bitwise the weights and the image of the host tier, with every weight on disk and none in memory', () => {
    const tensors = tf.memory().numTensors;
    const host = memory.stats().hostBytes;
    const dir = tmp();
    const onDisk = createDiffusionComponents('tiny', { tier: 'disk', dir, seed: 4 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(memory.stats().hostBytes).toBe(host);
    for (const m of modules(onDisk)) {
      const fp = m.memoryFootprint();
      expect(fp.device + fp.host).toBe(0);
      expect(fp.disk).toBeGreaterThan(0);
    }
    // One folder per component, each with its shard and its index (which lists every parameter path).
    for (const name of DIFFUSION_COMPONENT_NAMES) {
      expect(fs.readdirSync(join(dir, name)).sort()).toEqual(['memhooks-init.json', 'weights-00001.safetensors']);
      const index = JSON.parse(fs.readFileSync(join(dir, name, 'memhooks-init.json'), 'utf8'));
      expect(Object.keys(index.weights).sort()).toEqual(onDisk[name].namedParameters().map(([n]) => n).sort());
    }
    const onHost = createDiffusionComponents('tiny', { tier: 'host', seed: 4 });
    const a = params(onHost);
    params(onDisk).forEach((p, i) => expect(bytesOf(p.diskRef!.read()).equals(bytesOf(a[i]!.hostData()))).toBe(true));
    for (const p of [...params(onDisk), ...a]) p.toDevice();
    expect(image(onDisk).equals(image(onHost))).toBe(true);
    dispose(onHost);
    dispose(onDisk);
    // The files are the caller's: disposing the model leaves them.
    expect(fs.readdirSync(join(dir, 'denoiser'))).toContain('weights-00001.safetensors');
    expect(tf.memory().numTensors).toBe(tensors);
    expect(memory.stats().hostBytes).toBe(host);
  });

  it('holds at most one shard buffer in host memory while building, never the model', () => {
    const host = memory.stats().hostBytes;
    const shard = 64 * 64 * 4 * 2;
    const seen: number[] = [];
    const stack = withParameterInit({ tier: 'disk', dir: tmp(), seed: 1, maxShardSize: shard }, () => {
      const layers: Linear[] = [];
      for (let i = 0; i < 24; i++) {
        layers.push(new Linear(64, 64));
        seen.push(memory.stats().hostBytes - host);
      }
      return new ModuleList(layers);
    });
    const total = stack.parameters().reduce((n, p) => n + p.byteLength, 0);
    const largest = 64 * 64 * 4;
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(shard + largest);
    expect(total).toBeGreaterThan(8 * (shard + largest));
    expect(stack.memoryFootprint()).toEqual({ device: 0, host: 0, disk: total });
    expect(memory.stats().hostBytes).toBe(host);
    stack.dispose();
  });

  it('building again into the same dir replaces the files atomically; the earlier model refuses the replaced files', () => {
    const dir = tmp();
    const small = (seed: number, n: number) =>
      withParameterInit({ tier: 'disk', dir, seed, maxShardSize: 16 * 16 * 4 }, () => new ModuleList(Array.from({ length: n }, () => new Linear(16, 16))));
    const first = small(1, 4);
    const shardsOf = () => fs.readdirSync(dir).filter((f) => f.startsWith('weights-')).length;
    const firstShards = shardsOf();
    const second = small(2, 2);
    // The earlier, larger generation's extra shards are gone; no temporary file is left.
    expect(shardsOf()).toBeLessThan(firstShards);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(() => first.parameters()[0]!.toDevice()).toThrow(expect.objectContaining({ code: 'OFFLOAD_FILE_CHANGED' }));
    const again = withParameterInit({ tier: 'host', seed: 2 }, () => new ModuleList(Array.from({ length: 2 }, () => new Linear(16, 16))));
    second.parameters().forEach((p, i) => expect(bytesOf(p.diskRef!.read()).equals(bytesOf(again.parameters()[i]!.hostData()))).toBe(true));
    for (const m of [first, second, again]) m.dispose();
  });
});

const CONFIGS: Array<[string, GroupOffloadingOptions, boolean]> = [
  ['host, block level', { numBlocksPerGroup: 1 }, false],
  ['host, leaf level + stream (early uploads)', { offloadType: 'leaf_level', useStream: true }, true],
  ['disk, block level', { numBlocksPerGroup: 1, offloadToDiskPath: '' }, false],
  ['disk, leaf level + stream', { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: '' }, false],
];

describe.each(BACKENDS)('group offloading a pipeline generated on disk, on %s', (backend) => {
  let resident: Buffer;
  beforeAll(async () => {
    await useBackend(backend);
    const c = createDiffusionComponents('tiny', { seed: 7 });
    resident = image(c);
    dispose(c);
  });
  afterEach(() => {
    EARLY_UPLOAD_BACKENDS.delete('cpu');
    EARLY_UPLOAD_BACKENDS.delete('wasm');
    tf.disposeVariables();
  });

  it.each(CONFIGS)('%s: bitwise the resident image; remove() puts every weight back on its own file', (_name, options, early) => {
    if (early) EARLY_UPLOAD_BACKENDS.add(backend);
    const host = memory.stats().hostBytes;
    const { c, offloadDir } = expectNoLeaks(() => {
      const c = createDiffusionComponents('tiny', { tier: 'disk', dir: tmp(), seed: 7 });
      const refs = new Map<Parameter, DiskRef>(params(c).map((p) => [p, p.diskRef!]));
      const offloadDir = options.offloadToDiskPath === undefined ? undefined : tmp();
      const handles = modules(c).map((m, i) =>
        applyGroupOffloading(m, offloadDir === undefined ? options : { ...options, offloadToDiskPath: join(offloadDir, String(i)) }),
      );
      expect(image(c).equals(resident)).toBe(true);
      // Between forwards nothing is on the device and no weight in host memory: they are on disk (the disk
      // store's staging slots for useStream are host memory held while it is applied).
      expect(params(c).every((p) => p.tier === 'disk')).toBe(true);
      if (offloadDir === undefined || options.useStream !== true) expect(memory.stats().hostBytes).toBe(host);
      expect(image(c).equals(resident)).toBe(true);
      for (const h of handles) h.remove();
      expect(params(c).every((p) => p.tier === 'disk' && p.diskRef === refs.get(p))).toBe(true);
      return { c, offloadDir };
    });
    expect(memory.stats().hostBytes).toBe(host);
    if (offloadDir !== undefined) for (const i of [0, 1, 2]) expect(fs.existsSync(join(offloadDir, String(i)))).toBe(false);
    // Still the same model after remove(): onloaded by hand, it gives the resident image.
    for (const p of params(c)) p.toDevice();
    expect(image(c).equals(resident)).toBe(true);
    dispose(c);
  });

  it('runs and is removed under a device budget below the model: remove() puts nothing on the device', () => {
    const c = createDiffusionComponents('tiny', { tier: 'disk', dir: tmp(), seed: 7 });
    const total = params(c).reduce((n, p) => n + p.byteLength, 0);
    memory.setDeviceBudget(Math.floor(total / 2));
    try {
      const handles = modules(c).map((m) => applyGroupOffloading(m, { offloadType: 'leaf_level', useStream: true }));
      expect(image(c).equals(resident)).toBe(true);
      const device = memory.stats().deviceBytes;
      const { peakDeviceBytes } = memory.track(() => handles.forEach((h) => h.remove()));
      expect(peakDeviceBytes).toBeLessThanOrEqual(device);
      expect(params(c).every((p) => p.tier === 'disk')).toBe(true);
    } finally {
      memory.setDeviceBudget(undefined);
    }
    dispose(c);
  });

  it('a weight assigned while on the device keeps its new values (on the host) instead of returning to its file', () => {
    const c = createDiffusionComponents('tiny', { tier: 'disk', dir: tmp(), seed: 7 });
    const [kept, changed] = c.vae.parameters();
    const refs = [kept!.diskRef!, changed!.diskRef!];
    const homes = new DiskHomes([kept!, changed!]);
    expect(homes.onload(kept!) && homes.onload(changed!)).toBe(true);
    expect(kept!.tier).toBe('device');
    const value = tf.fill([...changed!.shape], 0.25);
    changed!.assign(value);
    value.dispose();
    homes.offload(kept!);
    homes.offload(changed!);
    expect(kept!.diskRef).toBe(refs[0]);
    expect(changed!.tier).toBe('host');
    expect(Array.from(changed!.hostData()).every((v) => v === 0.25)).toBe(true);
    // It has no home any more: remove() leaves it on the host.
    expect(homes.has(changed!)).toBe(false);
    homes.sendHome(changed!);
    expect(changed!.tier).toBe('host');
    dispose(c);
  });

  it('layerwise casting reads a disk weight once and keeps its codes on the host: the same codes as from the host tier', () => {
    const c = createDiffusionComponents('tiny', { tier: 'disk', dir: tmp(), seed: 7 });
    const h = createDiffusionComponents('tiny', { tier: 'host', seed: 7 });
    const onDisk = c.denoiser.parameters()[0]!;
    const onHost = h.denoiser.parameters()[0]!;
    onDisk.castStorage('float8_e4m3fn');
    onHost.castStorage('float8_e4m3fn');
    expect(onDisk.tier).toBe('host');
    expect(onDisk.byteLength).toBe(onHost.byteLength);
    expect(bytesOf(onDisk.hostData()).equals(bytesOf(onHost.hostData()))).toBe(true);
    dispose(c);
    dispose(h);
  });

  it('model and sequential offload refuse a disk-tier model with a clear error, changing nothing', () => {
    const c = createDiffusionComponents('tiny', { tier: 'disk', dir: tmp(), seed: 7 });
    const refs = params(c).map((p) => p.diskRef);
    expect(() => applySequentialOffload(c.denoiser)).toThrow(/disk tier.*Use group offloading/s);
    expect(() => cpuOffloadWithHook(c.denoiser)).toThrow(/disk tier.*Use group offloading/s);
    expect(params(c).map((p) => p.diskRef)).toEqual(refs);
    dispose(c);
  });

  it('DiffusionPipeline.create({ tier: "disk" }): enableGroupOffload gives the resident image; removeAllHooks leaves it on disk', () => {
    const dir = tmp();
    const pipe = DiffusionPipeline.create('tiny', { tier: 'disk', dir, seed: 7 });
    expect(fs.readdirSync(dir).sort()).toEqual([...DIFFUSION_COMPONENT_NAMES].sort());
    expect(() => pipe.enableModelCpuOffload()).toThrow(/Use group offloading/);
    expect(() => pipe.enableSequentialCpuOffload()).toThrow(/Use group offloading/);
    pipe.enableGroupOffload({ offloadType: 'leaf_level', useStream: true });
    const out = pipe.generate({ ...GEN });
    expect(bytesOf(out.dataSync()).equals(resident)).toBe(true);
    out.dispose();
    pipe.removeAllHooks();
    expect(params(pipe.components).every((p) => p.tier === 'disk')).toBe(true);
    pipe.dispose();
  });
});
