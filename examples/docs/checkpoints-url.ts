import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadRemoteCheckpoint, SafetensorsSource, useBackend } from 'memhooks';
import { Denoiser } from './checkpoints-denoiser.js';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-url-'));
const saved = new Denoiser(64, { depth: 4 });
await saved.savePretrained(dir, { maxShardSize: '40KB' });
saved.dispose();

// What a server must do (any static file server does it): answer `Range: bytes=a-b` with 206 Partial Content
// and `Content-Range: bytes a-b/total`. This one serves `dir` on 127.0.0.1 for the example.
const server = createServer((req, res) => {
  const path = join(dir, new URL(req.url!, 'http://x').pathname.split('/').pop()!);
  if (!existsSync(path)) return void res.writeHead(404).end();
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? [];
  const start = a === undefined ? 0 : Number(a);
  const end = b === undefined ? size : Math.min(Number(b) + 1, size);
  const body = Buffer.alloc(end - start);
  readSync(fd, body, 0, body.length, start);
  closeSync(fd);
  res.writeHead(a === undefined ? 200 : 206, a === undefined ? {} : { 'Content-Range': `bytes ${start}-${end - 1}/${size}` }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/denoiser/`;

try {
  // One file: the header with one ranged request, then each tensor with one request of exactly its bytes.
  const shard = readdirSync(dir).find((n) => n.endsWith('.safetensors'))!;
  const file = await SafetensorsSource.openUrl(url + shard);
  const name = file.keys()[0]!;
  console.log(name, file.info(name).shape, (await file.readBytes(name)).byteLength);
  file.close();

  // A sharded checkpoint by the URL of its folder (or of its index): shard names are checked first.
  const weights = await loadRemoteCheckpoint(url);
  tf.dispose([...weights.values()]);

  // A model: config.json and the weights, each straight into its tier.
  const model = await Denoiser.fromPretrained(url, { deviceMap: { 'blocks.0': 'device', 'blocks.1': 'device', 'blocks.2': 'host', 'blocks.3': 'host' } });
  model.dispose();
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
