// describeRemoteCheckpoint(url) reads the same summary from a server as describeCheckpoint(folder) from disk, by
// the index and the headers alone: a single file, a sharded folder (by its folder or index URL), another weightsName.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCheckpoint, type CheckpointSummary } from '../../src/io/checkpoints/describeCheckpoint.js';
import { describeRemoteCheckpoint } from '../../src/io/checkpoints/describeRemoteCheckpoint.js';
import { Conv2d, Linear, Module, module, ModuleList, withParameterInit } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { RangeServer } from '../helpers/rangeServer.js';

@module({ name: 'UrlDescribeTestNet' })
class UrlDescribeTestNet extends Module {
  conv: Conv2d;
  blocks: ModuleList<Linear>;
  constructor(readonly channels: number) {
    super();
    this.conv = new Conv2d(3, channels, 3);
    this.blocks = new ModuleList(Array.from({ length: 12 }, () => new Linear(channels, channels)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.conv.forward(x as tf.Tensor4D);
  }
}

/** The summary less where it was read from. */
const content = ({ dir: _dir, ...rest }: CheckpointSummary) => rest;

describe.each(BACKENDS)('describeRemoteCheckpoint on %s', (backend) => {
  let root: string;
  let server: RangeServer;
  beforeAll(async () => {
    await useBackend(backend);
    root = mkdtempSync(join(tmpdir(), 'memhooks-urldescribe-'));
    server = await RangeServer.start();
    const model = withParameterInit({ seed: 4 }, () => new UrlDescribeTestNet(8));
    await model.savePretrained(join(root, 'single'));
    await model.savePretrained(join(root, 'sharded'), { maxShardSize: 700 });
    await model.savePretrained(join(root, 'named'), { weightsName: 'diffusion_pytorch_model.safetensors', torchLayouts: false });
    model.dispose();
    for (const name of ['single', 'sharded', 'named']) server.serveDir(join(root, name), `/${name}`);
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a single file, by its URL or its folder URL, equals the local summary', async () => {
    const local = describeCheckpoint(join(root, 'single'));
    expect(local.tensors.length).toBe(2 + 12 * 2);
    for (const url of [server.url('/single/model.safetensors'), server.url('/single/'), new URL(server.url('/single'))]) {
      const remote = await describeRemoteCheckpoint(url);
      expect(content(remote)).toEqual(content(local));
      expect(remote.dir).toBe(String(url));
    }
  });

  it('a sharded folder, by its folder or index URL, equals the local summary, reading no tensor data', async () => {
    const local = describeCheckpoint(join(root, 'sharded'));
    expect(readdirSync(join(root, 'sharded')).filter((n) => n.endsWith('.safetensors')).length).toBeGreaterThan(2);
    for (const url of [server.url('/sharded/'), server.url('/sharded/model.safetensors.index.json')]) {
      server.requests.length = 0;
      expect(content(await describeRemoteCheckpoint(url))).toEqual(content(local));
      // The index whole; of each shard only the first 64 KiB (more than the file): the header.
      const ranges = server.requests.filter((r) => r.path.endsWith('.safetensors') && r.range !== undefined).map((r) => r.range);
      expect(new Set(ranges)).toEqual(new Set(['bytes=0-65535']));
    }
  });

  it('another weightsName: given for a folder URL, read from a file URL; the layouts metadata too', async () => {
    const local = describeCheckpoint(join(root, 'named'));
    expect(local.layouts).toBe('memhooks');
    expect(content(await describeRemoteCheckpoint(server.url('/named/'), { weightsName: 'diffusion_pytorch_model.safetensors' }))).toEqual(content(local));
    expect(content(await describeRemoteCheckpoint(server.url('/named/diffusion_pytorch_model.safetensors')))).toEqual(content(local));
    await expect(describeRemoteCheckpoint(server.url('/named/'))).rejects.toThrow(/No checkpoint at .*\/named\/: neither model\.safetensors nor model\.safetensors\.index\.json exists there \(404\)/);
  });
});
