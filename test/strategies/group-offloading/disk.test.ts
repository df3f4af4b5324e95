import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, events, Linear, memory, Module, Parameter, type GroupOffloadingOptions, type MemhooksError, type TransferEvent } from '../../../src/index.js';
import { transferWorkerStatus } from '../../../src/runtime/transfer/index.js';
import { groupFileName } from '../../../src/strategies/shared/groupFiles.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { bits, Blocky, snapshot } from './models.js';

const MANIFEST = 'memhooks-offload-manifest.json';
const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

const CONFIGS: Array<[string, GroupOffloadingOptions]> = [
  ['block level', { numBlocksPerGroup: 2 }],
  ['leaf level', { offloadType: 'leaf_level' }],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }],
  ['block level + stream + recordStream, depth 2', { numBlocksPerGroup: 1, useStream: true, recordStream: true, prefetchDepth: 2 }],
  ['leaf level + stream + lowCpuMemUsage + recordStream', { offloadType: 'leaf_level', useStream: true, lowCpuMemUsage: true, recordStream: true }],
];

describe.each(BACKENDS)('group offloading to disk on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const tmp = scratchDirs('memhooks-disk-');
  const make = (): Blocky => {
    const m = new Blocky();
    models.push(m);
    return m;
  };

  it.each(CONFIGS)('keeps the weights only on disk, one file per group, and is bitwise equal over repeated calls (%s)', (_l, options) => {
    const model = make();
    const dir = join(tmp(), 'offload');
    const x = tf.randomNormal([3, 8], 0, 1, 'float32', 23);
    const ref = [false, true].map((b) => bits(model.forward(x, b)));
    const total = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    const host = memory.stats().hostBytes;
    const handle = applyGroupOffloading(model, { ...options, offloadToDiskPath: dir });
    expect(model.memoryFootprint()).toEqual({ device: 0, host: 0, disk: total });
    const files = listing(dir);
    expect(files).toContain(MANIFEST);
    const manifest = JSON.parse(fs.readFileSync(join(dir, MANIFEST), 'utf8'));
    expect(files.filter((f) => f !== MANIFEST)).toEqual(Object.values(manifest.groups).map((g: any) => g.file).sort());
    expect(files.some((f) => f.includes('.tmp'))).toBe(false);
    expectNoLeaks(() => {
      for (const branch of [false, false, true, false, true]) {
        const y = model.forward(x, branch);
        expect(bits(y)).toEqual(ref[branch ? 1 : 0]);
        y.dispose();
        expect(model.memoryFootprint().device).toBe(0);
      }
    });
    handle.remove();
    expect(listing(dir)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(model.memoryFootprint()).toEqual({ device: total, host: 0, disk: 0 });
    expect(memory.stats().hostBytes).toBe(host);
    expect(transferWorkerStatus().leases).toBe(0);
    x.dispose();
  });

  it('stages groups on the transfer worker ahead of use, holding host memory only for the groups in flight', () => {
    const model = make();
    const dir = tmp();
    const x = tf.randomNormal([2, 8]);
    const host = memory.stats().hostBytes;
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, lowCpuMemUsage: true, recordStream: true, prefetchDepth: 2, offloadToDiskPath: dir });
    expect(transferWorkerStatus().running).toBe(false);
    const seen: TransferEvent[] = [];
    const onPrefetch = (e: TransferEvent) => seen.push(e);
    let peakHost = 0;
    const onOnload = () => (peakHost = Math.max(peakHost, memory.stats().hostBytes - host));
    events.on('prefetch', onPrefetch);
    events.on('onload', onOnload);
    try {
      model.forward(x).dispose();
      expect(seen).toEqual([]);
      model.forward(x).dispose();
      expect(transferWorkerStatus().running).toBe(true);
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.every((e) => e.staged === true)).toBe(true);
      const largest = Math.max(...model.modules().map((m) => m.parameters({ recurse: false }).reduce((n, p) => n + p.byteLength, 0)));
      expect(peakHost).toBeGreaterThan(0);
      expect(peakHost).toBeLessThanOrEqual(3 * (largest + 64));
    } finally {
      events.off('prefetch', onPrefetch);
      events.off('onload', onOnload);
    }
    handle.remove();
    expect(transferWorkerStatus()).toMatchObject({ running: false, leases: 0 });
    x.dispose();
  });

  it('persists a weight the forward itself assigns (as a batch norm updates its statistics) across offloads to disk', () => {
    class Counter extends Module {
      count = new Parameter(tf.zeros([4]));
      forward(x: tf.Tensor): tf.Tensor {
        this.count.assign(tf.add(this.count.read(), 1));
        return tf.add(x, this.count.read());
      }
    }
    class Host extends Module {
      first = new Linear(4, 4);
      counter = new Counter();
      forward(x: tf.Tensor): tf.Tensor {
        return this.counter.forward(this.first.forward(x));
      }
    }
    for (const useStream of [false, true]) {
      const model = new Host();
      models.push(model);
      const dir = tmp();
      const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream, offloadToDiskPath: dir });
      const x = tf.zeros([1, 4]);
      for (let i = 0; i < 3; i++) model.forward(x).dispose();
      expect(model.counter.count.tier).toBe('disk');
      handle.remove();
      expect([...model.counter.count.read().dataSync()]).toEqual([3, 3, 3, 3]);
      expect(listing(dir)).toEqual([]);
      x.dispose();
    }
  });

  it('reserves staging slots up front by default and none with lowCpuMemUsage, which allocates per transfer', () => {
    const x = tf.randomNormal([2, 8]);
    const largest = (m: Blocky) => Math.max(...m.modules().map((sub) => sub.parameters({ recurse: false }).reduce((n, p) => n + p.byteLength, 0)));
    for (const lowCpuMemUsage of [false, true]) {
      const model = make();
      const host = memory.stats().hostBytes;
      const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, prefetchDepth: 2, lowCpuMemUsage, offloadToDiskPath: tmp() });
      const reserved = memory.stats().hostBytes - host;
      // Slots hold a group's tensors 16-byte aligned: at most 16 bytes more per tensor.
      if (lowCpuMemUsage) expect(reserved).toBe(0);
      else {
        expect(reserved).toBeGreaterThanOrEqual(3 * largest(model));
        expect(reserved).toBeLessThanOrEqual(3 * (largest(model) + 32));
      }
      model.forward(x).dispose();
      model.forward(x).dispose();
      expect(memory.stats().hostBytes - host).toBe(reserved);
      handle.remove();
      expect(memory.stats().hostBytes).toBe(host);
    }
    x.dispose();
  });

  it('reuses files that match the manifest and bytes, rewrites those that do not, and deletes only the files it wrote', () => {
    const a = make();
    const b = make();
    for (const [path, p] of b.namedParameters()) p.assign(a.getParameter(path).read());
    const first = tmp();
    const shared = tmp();
    const h1 = applyGroupOffloading(a, { numBlocksPerGroup: 1, offloadToDiskPath: first });
    fs.cpSync(first, shared, { recursive: true });
    h1.remove();
    // A rewrite is an atomic replace (temp file + rename): a new inode. mtimes come from a coarse kernel clock
    // and can read the same for a copy and a rewrite a few ms apart.
    const mtimes = new Map(listing(shared).map((f) => [f, fs.statSync(join(shared, f)).ino]));
    // b's head differs: only the file of the group holding it is rewritten.
    const headBefore = b.head.weight.read().clone();
    b.head.weight.assign(tf.add(headBefore, 1));
    const h2 = applyGroupOffloading(b, { numBlocksPerGroup: 1, offloadToDiskPath: shared });
    const rewritten = listing(shared).filter((f) => f !== MANIFEST && fs.statSync(join(shared, f)).ino !== mtimes.get(f));
    expect(rewritten).toEqual([groupFileName('Blocky_unmatched_group')]);
    const x = tf.randomNormal([2, 8]);
    const y = b.forward(x);
    h2.remove();
    // The reused block files stay; the rewritten one (written by this application) is deleted.
    expect(listing(shared)).toEqual([...mtimes.keys()].filter((f) => f !== groupFileName('Blocky_unmatched_group')));
    expect(bits(y)).toEqual(bits(b.forward(x)));
    tf.dispose([x, y, headBefore]);
  });

  it('detects a file changed between apply and forward, by size and by content with the same size and mtime', () => {
    for (const useStream of [false, true]) {
      const model = make();
      const dir = tmp();
      const x = tf.randomNormal([2, 8]);
      applyGroupOffloading(model, { numBlocksPerGroup: 1, useStream, offloadToDiskPath: dir });
      model.forward(x).dispose();
      const file = join(dir, groupFileName('blocks_3_3'));
      const st = fs.statSync(file);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 5]! ^= 0xff;
      fs.writeFileSync(file, bytes);
      fs.utimesSync(file, st.atime, (Math.floor(st.mtimeMs) + 0.5) / 1000);
      expect(Math.floor(fs.statSync(file).mtimeMs)).toBe(Math.floor(st.mtimeMs));
      // Same size, same mtime: the change time (which no call can set back) gives it away.
      expect(() => model.forward(x)).toThrow(/changed after group offloading wrote it \(it was modified: ctimeMs [\d.]+ vs [\d.]+\)/);
      fs.appendFileSync(file, 'x');
      expect(() => model.forward(x)).toThrow(/changed after group offloading wrote it \(it was modified: size \d+ vs \d+/);
      // Replaced by another file (a rename over it) with the very same bytes and times: a new inode.
      fs.truncateSync(file, st.size);
      const copy = `${file}.copy`;
      fs.copyFileSync(file, copy);
      fs.renameSync(copy, file);
      expect(() => model.forward(x)).toThrow(/it was modified: .*ino \d+ vs \d+/);
      expect(model.memoryFootprint().device).toBe(0);
      x.dispose();
    }
  });

  it('leaves the model exactly as before when a file cannot be written: weights resident, no hooks, no files, no temp files', () => {
    const model = make();
    const dir = tmp();
    const before = snapshot(model);
    // A folder where the third group's file must go: the rename onto it fails after two files were written.
    fs.mkdirSync(join(dir, groupFileName('blocks_1_1')));
    let error: unknown;
    try {
      applyGroupOffloading(model, { numBlocksPerGroup: 1, offloadToDiskPath: dir });
    } catch (e) {
      error = e;
    }
    expect((error as MemhooksError).code).toBe('STRATEGY_APPLY_FAILED');
    expect((error as Error).message).toMatch(/caused by MemhooksError: Group offloading could not write its files to .*; the model is unchanged/);
    expect(listing(dir)).toEqual([groupFileName('blocks_1_1')]);
    expect(snapshot(model)).toEqual(before);
    expect(model.parameters().every((p) => p.isResident)).toBe(true);
    expect(transferWorkerStatus().leases).toBe(0);
    const x = tf.randomNormal([2, 8]);
    model.forward(x).dispose();
    x.dispose();
  });
});
