import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d,
  GroupNorm,
  Linear,
  loadRemoteCheckpoint,
  loadShardedCheckpoint,
  memory,
  Module,
  module,
  ModuleList,
  openRemoteCheckpoint,
  withParameterInit,
  type Parameter,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { RangeServer } from '../helpers/rangeServer.js';

@module({ name: 'UrlCheckpointTestNet' })
class UrlCheckpointTestNet extends Module {
  conv: Conv2d;
  norm: GroupNorm;
  blocks: ModuleList<Linear>;
  constructor(readonly channels: number, readonly options: { depth: number }) {
    super();
    this.conv = new Conv2d(3, channels, 3, { padding: 1 });
    this.norm = new GroupNorm(2, channels);
    this.blocks = new ModuleList(Array.from({ length: options.depth }, () => new Linear(channels, channels)));
  }
  forward(x: tf.Tensor4D): tf.Tensor {
    let h: tf.Tensor = this.norm.forward(this.conv.forward(x));
    for (const b of this.blocks.children()) h = tf.tanh((b as Linear).forward(h));
    return h;
  }
}

async function thrown(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, but the call succeeded');
}

const input = () => tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
const bits = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A weight's values on whichever tier holds it. */
function valuesOf(p: Parameter): Float32Array | Int32Array {
  if (p.tier === 'disk') return p.diskRef!.read() as Float32Array;
  return (p.isResident ? p.storedTensor()!.dataSync() : p.hostData()) as Float32Array;
}

describe('checkpoints from a URL', () => {
  let root: string;
  let server: RangeServer;
  let folder: string;
  const sharded = () => join(root, 'sharded');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'memhooks-urlckpt-'));
    server = await RangeServer.start();
    await useBackend('cpu');
    const model = withParameterInit({ seed: 3 }, () => new UrlCheckpointTestNet(8, { depth: 3 }));
    await model.savePretrained(sharded(), { maxShardSize: 600 });
    model.dispose();
    folder = server.serveDir(sharded(), '/models/net');
  });
  afterEach(() => {
    server.fault = undefined;
    server.requests.length = 0;
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    it(`${backend}: loadRemoteCheckpoint (index URL or folder URL) equals the local loader bit for bit, one request per tensor`, async () => {
      await useBackend(backend);
      try {
        const local = loadShardedCheckpoint(sharded());
        const shards = readdirSync(sharded()).filter((f) => f.endsWith('.safetensors'));
        for (const url of [`${folder}model.safetensors.index.json`, folder, folder.slice(0, -1)]) {
          server.requests.length = 0;
          const remote = await expectNoLeaks(() => loadRemoteCheckpoint(url), { newTensors: local.size });
          expect([...remote.keys()]).toEqual([...local.keys()]);
          for (const [name, t] of local) {
            const r = remote.get(name)!;
            expect([r.dtype, r.shape]).toEqual([t.dtype, t.shape]);
            expect(bits(await r.data())).toEqual(bits(await t.data()));
          }
          tf.dispose([...remote.values()]);
          const ranged = server.requests.filter((r) => r.range !== undefined);
          // The index once (whole, no Range; a folder URL first asks for the single file, a 404), a header per shard, a request per tensor.
          expect(server.requests.filter((r) => r.path.endsWith('.index.json'))).toEqual([{ path: '/models/net/model.safetensors.index.json', range: undefined }]);
          expect(ranged.filter((r) => r.range === 'bytes=0-65535').map((r) => r.path).sort()).toEqual(
            [...(url.endsWith('.json') ? [] : ['/models/net/model.safetensors']), ...shards.map((s) => `/models/net/${s}`)].sort(),
          );
          expect(ranged.length).toBe(local.size + shards.length + (url.endsWith('.json') ? 0 : 1));
        }
        tf.dispose([...local.values()]);
      } finally {
        await useBackend('cpu');
      }
    });
  }

  it('refuses an index whose shard names leave its folder, before requesting any shard', async () => {
    for (const name of ['../model-00001-of-00002.safetensors', 'sub/x.safetensors', 'http://127.0.0.2/x.safetensors', '//evil.example/x.safetensors', '%2e%2e%2fx.safetensors', '..', 'x.bin', '/abs.safetensors', 'a\\b.safetensors']) {
      server.files.set('/models/evil/model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: { 'conv.weight': name } })));
      server.requests.length = 0;
      const error = await thrown(() => openRemoteCheckpoint(server.url('/models/evil/model.safetensors.index.json')));
      expect(error, name).toMatchObject({ code: 'UNSAFE_PATH' });
      expect(error.message).toContain(`The index ${server.url('/models/evil/model.safetensors.index.json')} names the shard ${JSON.stringify(name)}`);
      expect(server.requests.map((r) => r.path)).toEqual(['/models/evil/model.safetensors.index.json']);
    }
  });

  it('says when a folder URL holds no checkpoint', async () => {
    const error = await thrown(() => openRemoteCheckpoint(server.url('/models/nothing/')));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(error.message).toContain(`No checkpoint at ${server.url('/models/nothing/')}: neither model.safetensors nor model.safetensors.index.json exists there (404)`);
  });

  for (const backend of BACKENDS) {
    it(`${backend}: fromPretrained(url, { deviceMap }) puts each weight in its tier as the local load does, bit for bit`, async () => {
      await useBackend(backend);
      const offloadLocal = join(root, `offload-local-${backend}`);
      const offloadUrl = join(root, `offload-url-${backend}`);
      const deviceMap = { conv: 'device', norm: 'host', blocks: 'disk' } as const;
      try {
        const x = input();
        const local = (await Module.fromPretrained(sharded(), { deviceMap, offloadFolder: offloadLocal })) as UrlCheckpointTestNet;
        const expected = local.forward(x);
        const remote = await expectNoLeaks(() => UrlCheckpointTestNet.fromPretrained(new URL(folder), { deviceMap, offloadFolder: offloadUrl }), { newTensors: 2 }); // conv's weight and bias on the device
        const localParams = new Map(local.namedParameters());
        for (const [name, p] of remote.namedParameters()) {
          const q = localParams.get(name)!;
          expect(p.tier, name).toBe(q.tier);
          expect(bits(valuesOf(p)), name).toEqual(bits(valuesOf(q)));
        }
        expect(remote.blocks.at(0).weight.tier).toBe('disk');
        // The disk weights were written, as they arrived, to files of the offload folder; nothing else was.
        expect(readdirSync(offloadUrl).filter((f) => f.endsWith('.safetensors'))).toHaveLength(6);
        const actual = remote.forward(x);
        expect(bits(await actual.data())).toEqual(bits(await expected.data()));
        tf.dispose([x, expected, actual]);
        local.dispose();
        remote.dispose();
      } finally {
        await useBackend('cpu');
      }
    });
  }

  it('holds at most one weight on the host while loading to disk: placeholders cost nothing, each weight goes to its file as it arrives', async () => {
    const offloadFolder = join(root, 'offload-heap');
    const base = memory.stats().hostBytes;
    const held: number[] = [];
    // Sampled at every request: the header and tensor requests of each shard.
    const sampling = (url: string, init: { headers: Record<string, string> }) => {
      held.push(memory.stats().hostBytes - base);
      return fetch(url, init);
    };
    const model = await UrlCheckpointTestNet.fromPretrained(folder, { deviceMap: { '': 'disk' }, offloadFolder, fetch: sampling });
    const sizes = model.namedParameters().map(([, p]) => p.byteLength);
    expect(held.length).toBeGreaterThan(sizes.length);
    expect(Math.max(...held)).toBeLessThanOrEqual(Math.max(...sizes));
    expect(memory.stats().hostBytes - base).toBe(0);
    model.dispose();
  });

  it('a tensor that fails to arrive fails fromPretrained with the URL and the tensor, leaving no tensor behind', async () => {
    server.fault = { kind: 'truncate', fromByte: 8 };
    const error = await expectNoLeaks(() => thrown(() => Module.fromPretrained(folder)));
    expect(error).toMatchObject({ code: 'RANGE_READ_FAILED' });
    expect(error.message).toMatch(new RegExp(`The body of tensor "[^"]+" of ${folder.replace(/[.]/g, '\\.')}model-\\d{5}-of-\\d{5}\\.safetensors \\(bytes \\d+-\\d+\\)`));
    server.fault = undefined;
    const noConfig = await thrown(() => Module.fromPretrained(server.url('/models/none/')));
    expect(noConfig).toMatchObject({ code: 'RANGE_READ_FAILED' });
    expect(noConfig.message).toContain(`${server.url('/models/none/config.json')} answered 404 Not Found to the request for the model config`);
  });
});
