import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Conv2d,
  deviceMapHandleOf,
  GroupNorm,
  Linear,
  preferredLinearLayout,
  MemhooksError,
  Module,
  module,
  ModuleList,
  saveShardedCheckpoint,
  SafetensorsFile,
  withParameterInit,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

@module()
class PretrainedTestNet extends Module {
  conv: Conv2d;
  norm: GroupNorm;
  blocks: ModuleList<Linear>;
  constructor(readonly channels: number, readonly options: { depth: number; groups: number }) {
    super();
    this.conv = new Conv2d(3, channels, 3, { padding: 1 });
    this.norm = new GroupNorm(options.groups, channels);
    this.blocks = new ModuleList(Array.from({ length: options.depth }, () => new Linear(channels, channels)));
  }
  forward(x: tf.Tensor4D): tf.Tensor {
    let h: tf.Tensor = this.norm.forward(this.conv.forward(x));
    for (const b of this.blocks.children()) h = tf.tanh((b as Linear).forward(h));
    return h;
  }
}

@module()
class OtherTestNet extends Module {
  lin = new Linear(2, 2);
  forward(x: tf.Tensor): tf.Tensor {
    return this.lin.forward(x);
  }
}

const input = () => tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
const build = (seed = 1) => withParameterInit({ seed }, () => new PretrainedTestNet(8, { depth: 3, groups: 2 }));

/** Tensors created since `probe` (tfjs numbers every tensor). */
const createdSince = (probe: tf.Tensor) => {
  const now = tf.scalar(0);
  const n = now.id - probe.id - 1;
  now.dispose();
  return n;
};

describe('savePretrained / fromPretrained', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'memhooks-pre-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => useBackend('cpu'));

  for (const backend of BACKENDS) {
    describe(backend, () => {
      it('round-trips config and weights through shards, bit for bit, without leaks', async () => {
        await useBackend(backend);
        const start = tf.memory().numTensors;
        const original = build();
        const x = input();
        const expected = original.forward(x);
        await original.savePretrained(dir, { maxShardSize: 600 });
        const files = readdirSync(dir).sort();
        expect(files).toContain('config.json');
        expect(files).toContain('model.safetensors.index.json');
        expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
        expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({
          _class_name: 'PretrainedTestNet',
          _memhooks_format: 1,
          args: [8, { depth: 3, groups: 2 }],
        });
        const before = tf.memory().numTensors;
        const loaded = await PretrainedTestNet.fromPretrained(dir);
        expect(loaded).toBeInstanceOf(PretrainedTestNet);
        expect(loaded.options).toEqual({ depth: 3, groups: 2 });
        expect(loaded.parameters().every((p) => p.tier === 'device')).toBe(true);
        // One device tensor per weight, and nothing else left behind by the load.
        expect(tf.memory().numTensors - before).toBe(loaded.parameters().length);
        const y = loaded.forward(x);
        expect(await y.data()).toEqual(await expected.data());
        tf.dispose([x, expected, y]);
        loaded.dispose();
        original.dispose();
        expect(tf.memory().numTensors).toBe(start);
      });

      it("loads host-mapped weights without ever putting them on the device, onloading them per forward", async () => {
        await useBackend(backend);
        const original = build(2);
        await original.savePretrained(dir);
        const x = input();
        const expected = original.forward(x);
        const probe = tf.scalar(0);
        const loaded = (await Module.fromPretrained(dir, { deviceMap: { conv: 'device', norm: 'device', blocks: 'host' } })) as PretrainedTestNet;
        // Only the conv and norm weights were uploaded (4 tensors); the Linear weights stayed on the host.
        expect(createdSince(probe)).toBe(4);
        expect(loaded.blocks.at(0).weight.tier).toBe('host');
        expect(loaded.conv.weight.tier).toBe('device');
        const y = loaded.forward(x);
        expect(await y.data()).toEqual(await expected.data());
        expect(loaded.blocks.at(0).weight.tier).toBe('host');
        deviceMapHandleOf(loaded)!.remove();
        expect(loaded.blocks.at(0).weight.tier).toBe('host');
        tf.dispose([x, expected, y, probe]);
        loaded.dispose();
        original.dispose();
      });
    });
  }

  for (const torchLayouts of [true, false]) {
    it(`loads on wasm what was saved on cpu, and back, though their Linears keep different layouts (torchLayouts: ${torchLayouts})`, async () => {
      // Square Linears (8 → 8): a weight read in the wrong layout would have the right shape and wrong values.
      for (const [from, to] of [['cpu', 'wasm'], ['wasm', 'cpu']] as const) {
        await useBackend(from);
        const original = build(3);
        const x = input();
        const expected = original.forward(x);
        const want = expected.dataSync().slice();
        await original.savePretrained(dir, { torchLayouts });
        tf.dispose([x, expected]);
        await useBackend(to);
        const loaded = await PretrainedTestNet.fromPretrained(dir);
        expect((loaded.blocks.at(0) as Linear).layout).not.toBe((original.blocks.at(0) as Linear).layout);
        const x2 = input();
        const y = loaded.forward(x2);
        const got = y.dataSync();
        // Same weights; the two backends' kernels sum in other orders: float32 rounding of 8-term sums.
        got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5));
        tf.dispose([x2, y]);
        loaded.dispose();
        await useBackend(from);
        original.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("places weights with deviceMap: 'auto' under maxMemory and still computes the same output", async () => {
    await useBackend('cpu');
    const original = build(3);
    await original.savePretrained(dir);
    const x = input();
    const expected = original.forward(x);
    const total = original.parameters().reduce((a, p) => a + p.byteLength, 0);
    const budget = Math.floor(total * 0.7);
    const loaded = (await Module.fromPretrained(dir, { deviceMap: 'auto', maxMemory: { device: budget, host: total * 4 } })) as PretrainedTestNet;
    const onDevice = loaded.parameters().filter((p) => p.tier === 'device').reduce((a, p) => a + p.byteLength, 0);
    // conv and norm fit beside the room kept for one Linear block; the blocks go to the host.
    expect(onDevice).toBe(loaded.conv.memoryFootprint().device + loaded.norm.memoryFootprint().device);
    expect(onDevice).toBeGreaterThan(0);
    expect(onDevice).toBeLessThanOrEqual(budget);
    expect(loaded.parameters().some((p) => p.tier === 'host')).toBe(true);
    const y = loaded.forward(x);
    expect(await y.data()).toEqual(await expected.data());
    tf.dispose([x, expected, y]);
    loaded.dispose();
    original.dispose();
  });

  it('leaves disk-mapped weights in the checkpoint itself, read back per forward', async () => {
    await useBackend('cpu');
    const original = build(4);
    await original.savePretrained(dir);
    const x = input();
    const expected = original.forward(x);
    const offload = join(dir, 'offload');
    const loaded = (await Module.fromPretrained(dir, { deviceMap: { conv: 'device', norm: 'host', blocks: 'disk' }, offloadFolder: offload })) as PretrainedTestNet;
    expect(loaded.blocks.at(1).weight.tier).toBe('disk');
    expect(loaded.norm.weight!.tier).toBe('host');
    const y = loaded.forward(x);
    expect(await y.data()).toEqual(await expected.data());
    expect(loaded.blocks.at(1).weight.tier).toBe('disk');
    // Nothing was copied: the references point into the checkpoint's own shards.
    expect(readdirSync(dir)).not.toContain('offload');
    tf.dispose([x, expected, y]);
    loaded.dispose();
    original.dispose();
  });

  it("refuses a map that needs disk without an offloadFolder before reading any weight", async () => {
    await useBackend('cpu');
    const original = build(5);
    await original.savePretrained(dir);
    await expectNoLeaks(async () => {
      await expect(Module.fromPretrained(dir, { deviceMap: 'auto', maxMemory: { device: 0, host: 0 } })).rejects.toThrow(/puts "" on 'disk', which needs an offloadFolder/);
      await expect(Module.fromPretrained(dir, { deviceMap: { '': 'disk' } })).rejects.toThrow(/needs an offloadFolder/);
    });
    original.dispose();
  });

  it('names missing, unexpected and mismatched weights, leaking nothing', async () => {
    await useBackend('cpu');
    const original = build();
    await original.savePretrained(dir);
    const weights = SafetensorsFile.open(join(dir, 'model.safetensors'));
    const all = Object.fromEntries(weights.keys().map((k) => [k, { ...weights.info(k), data: weights.readBytes(k) }]));
    weights.close();
    const rewrite = (tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>) => {
      saveShardedCheckpoint(tensors, dir, { metadata: { format: 'pt' } });
    };
    await expectNoLeaks(async () => {
      const { ['blocks.1.bias']: _dropped, ...missing } = all as Record<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>;
      rewrite({ ...missing, extra: { dtype: 'F32', shape: [1], data: new Uint8Array(4) } });
      await expect(PretrainedTestNet.fromPretrained(dir)).rejects.toThrow(/missing weights "blocks\.1\.bias"; unexpected weights "extra"/);
      const typed = all as Record<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>;
      rewrite({ ...typed, 'norm.weight': { dtype: 'F32', shape: [2, 4], data: typed['norm.weight']!.data } });
      await expect(PretrainedTestNet.fromPretrained(dir)).rejects.toThrow(/Weight "norm\.weight" has shape \[2, 4\] in the checkpoint, but the model expects \[8\]/);
      rewrite({ ...typed, 'blocks.0.weight': { dtype: 'F32', shape: [4, 16], data: typed['blocks.0.weight']!.data } });
      // On cpu a Linear keeps PyTorch's [out, in] itself (no conversion); elsewhere [in, out], converted from PyTorch's.
      await expect(PretrainedTestNet.fromPretrained(dir)).rejects.toThrow(
        preferredLinearLayout() === 'out_in'
          ? /Weight "blocks\.0\.weight" has shape \[4, 16\] in the checkpoint, but the model expects \[8, 8\]/
          : /Weight "blocks\.0\.weight" has shape \[4, 16\] in the checkpoint, which does not convert/,
      );
    });
    original.dispose();
  });

  it('resolves the class through the registry and says how to register an unknown one', async () => {
    await useBackend('cpu');
    const original = build();
    await original.savePretrained(dir);
    await expect(OtherTestNet.fromPretrained(dir)).rejects.toThrow(/The saved model is a PretrainedTestNet, not a OtherTestNet/);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, _class_name: 'NeverDefinedNet' }));
    let error: unknown;
    try {
      await Module.fromPretrained(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MemhooksError);
    expect((error as MemhooksError).code).toBe('UNKNOWN_MODULE_CLASS');
    expect((error as Error).message).toMatch(/"NeverDefinedNet", which is not registered\. Import the file that defines it .*@module\(\{ name: 'NeverDefinedNet' \}\)/);
    original.dispose();
  });

  it('refuses to save an undecorated class or unserializable arguments, writing nothing', async () => {
    await useBackend('cpu');
    class Plain extends Module {
      lin = new Linear(2, 2);
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    const plain = new Plain();
    await expect(plain.savePretrained(dir)).rejects.toThrow(/not decorated with @module/);
    @module()
    class WithFunctionArg extends Module {
      constructor(readonly act: (x: number) => number) {
        super();
      }
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    await expect(new WithFunctionArg((x) => x).savePretrained(dir)).rejects.toThrow(/argument 0 is a function, which config\.json cannot hold/);
    expect(readdirSync(dir)).toEqual([]);
    plain.dispose();
  });
});
