// The browser suite's range server, started in Node before any page opens (vitest.browser.config.ts globalSetup): a
// RangeServer on 127.0.0.1 serving safetensors files written by the project's writer, on another origin than the
// vite server's, so the pages read them across origins (CORS) as a page reads a model from a CDN.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
// Through the Node entry point, which registers the Node platform before the writer runs.
import { saveSafetensorsSync, saveShardedCheckpoint } from '../../src/index.js';
import { RangeServer } from './rangeServer.js';
import { pageNetConfig, pageNetWeights, pageTensors } from './rangeServerFixtures.js';
import './rangeServerContext.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'memhooks-range-'));
  const server = await RangeServer.start();
  // One file of several dtypes, served twice: with ranges, and by a server that ignores Range.
  mkdirSync(join(dir, 'single'));
  saveSafetensorsSync(join(dir, 'single', 'model.safetensors'), pageTensors(), { format: 'pt' });
  server.serveDir(join(dir, 'single'), '/single');
  server.serveDir(join(dir, 'single'), '/norange');
  server.fault = { kind: 'ignoreRange', path: '/norange/model.safetensors' };
  // A sharded model folder: config.json, the index and its shards.
  saveShardedCheckpoint(pageNetWeights(), join(dir, 'net'), { maxShardSize: 64 });
  writeFileSync(join(dir, 'net', 'config.json'), JSON.stringify(pageNetConfig));
  server.serveDir(join(dir, 'net'), '/net');
  project.provide('rangeServerUrl', server.origin);
  return async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
