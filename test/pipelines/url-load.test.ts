// A pipeline folder served over HTTP loads as the folder does: DiffusionPipeline.fromPretrained(url) generates the
// image bit for bit, and the URL options (fetch, headers, allowFullDownload) reach every request of every component.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/index.js';
import { DiffusionPipeline } from '../../src/zoo.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { RangeServer } from '../helpers/rangeServer.js';
import { servePipelineDir } from '../helpers/rangeServerPipeline.js';
import { scratchDirs } from '../helpers/scratch.js';
import { expectBitwise } from '../strategies/cpu-offload/models.js';

describe.each(BACKENDS)('Pipeline.fromPretrained(url) on %s', (backend) => {
  let server: RangeServer;
  beforeAll(async () => {
    await useBackend(backend);
    server = await RangeServer.start();
  });
  afterAll(() => server.close());
  const tmp = scratchDirs('memhooks-pipe-url-');

  it('DiffusionPipeline from a folder URL generates bitwise the image of the same folder on disk', async () => {
    const created = DiffusionPipeline.create('tiny', { seed: 0 });
    const sample = { steps: 2, ...created.defaults };
    const dir = tmp();
    await created.savePretrained(dir, { maxShardSize: 20000 });
    const weights = tensorsOf(created);
    created.dispose();
    const url = servePipelineDir(server, dir, `/${backend}/tiny`);
    const fromDisk = await DiffusionPipeline.fromPretrained(dir);
    const expected = fromDisk.generate(sample);
    fromDisk.dispose();
    // With and without the trailing slash, and as a URL object.
    for (const where of [url, url.slice(0, -1), new URL(url)]) {
      const fromUrl = await expectNoLeaks(() => DiffusionPipeline.fromPretrained(where), { newTensors: weights });
      expect(fromUrl).toBeInstanceOf(DiffusionPipeline);
      expect(fromUrl.componentNames).toEqual(created.componentNames);
      const image = fromUrl.generate(sample);
      expectBitwise(image, expected);
      tf.dispose(image);
      fromUrl.dispose();
    }
    tf.dispose(expected);
  });

  it('passes fetch, headers and allowFullDownload to model_index.json, every config.json and every weight', async () => {
    const created = DiffusionPipeline.create('tiny', { seed: 1 });
    const dir = tmp();
    await created.savePretrained(dir);
    const url = servePipelineDir(server, dir, `/${backend}/opts`);
    const seen: Array<{ url: string; token: string | undefined }> = [];
    const fetch = (u: string, init: { headers: Record<string, string> }) => {
      seen.push({ url: u, token: init.headers['Authorization'] });
      return globalThis.fetch(u, init);
    };
    server.fault = { kind: 'ignoreRange' };
    try {
      const plain = await Pipeline.fromPretrained(url, { fetch, headers: { Authorization: 'Bearer t' }, allowFullDownload: true });
      expect(plain.constructor).toBe(Pipeline);
      const files = new Set(seen.map((s) => new URL(s.url).pathname.slice(`/${backend}/opts/`.length)));
      expect(files).toEqual(new Set(['model_index.json', ...created.componentNames.flatMap((c) => [`${c}/config.json`, `${c}/model.safetensors`])]));
      expect(seen.every((s) => s.token === 'Bearer t')).toBe(true);
      for (const m of Object.values(plain.components)) m.dispose();
    } finally {
      server.fault = undefined;
    }
    created.dispose();
  });
});

function tensorsOf(p: Pipeline): number {
  return Object.values(p.components).reduce((n, m) => n + m.parameters().length, 0);
}
