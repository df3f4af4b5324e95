import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  events,
  Linear,
  memory,
  Module,
  ModuleList,
  StrategyConflictError,
  type GroupOffloadingOptions,
  type TransferEvent,
} from '../../../src/index.js';
import { SafetensorsFile } from '../../../src/io/safetensors/index.js';
import { transferWorkerStatus } from '../../../src/runtime/transfer/index.js';
import { groupFileName } from '../../../src/strategies/shared/groupFiles.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { bitsOf, CAST_BY_DEFAULT, Caster, copyWeights, ids } from './models.js';
import { expectSameForwards } from './forwards.js';

const MANIFEST = 'memhooks-offload-manifest.json';
const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
/** Bytes of the group files in `dir` (the manifest excluded). */
const fileBytes = (dir: string): number => listing(dir).filter((f) => f !== MANIFEST).reduce((n, f) => n + fs.statSync(join(dir, f)).size, 0);

/** Linear(128, 128) layers: large enough that the safetensors headers are a small part of each file. */
class Stack extends Module {
  layers = new ModuleList(Array.from({ length: 3 }, () => new Linear(128, 128)));
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const l of this.layers) h = tf.relu(l.forward(h));
    return h;
  }
}

const CONFIGS: Array<[string, GroupOffloadingOptions]> = [
  ['leaf level', { offloadType: 'leaf_level' }],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }],
  ['block level', { numBlocksPerGroup: 1 }],
  ['block level + stream + recordStream', { numBlocksPerGroup: 1, useStream: true, recordStream: true }],
];

describe.each(BACKENDS)('layerwise casting + offloading to disk on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const tmp = scratchDirs('memhooks-cast-disk-');
  const pair = (): [Caster, Caster] => {
    const a = new Caster();
    const b = new Caster();
    models.push(a, b);
    copyWeights(a, b);
    return [a, b];
  };

  it.each(CONFIGS)('group offloading (%s): codes in valid safetensors files, bitwise the output of casting alone, files deleted at remove()', (_l, options) => {
    const [model, reference] = pair();
    const decoded = new Caster();
    models.push(decoded);
    copyWeights(model, decoded, CAST_BY_DEFAULT, 'float8_e4m3fn');
    applyLayerwiseCasting(reference);
    const x = ids();
    const expected = reference.forward(x) as tf.Tensor;
    const dir = join(tmp(), 'offload');
    const host = memory.stats().hostBytes;
    const cast = applyLayerwiseCasting(model);
    const offload = applyGroupOffloading(model, { ...options, offloadToDiskPath: dir });
    const total = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    expect(model.memoryFootprint()).toEqual({ device: 0, host: 0, disk: total });
    // The file of a cast leaf holds F8_E4M3 codes with the weight's true shape, one byte per weight.
    const file = SafetensorsFile.open(join(dir, groupFileName(options.offloadType === 'leaf_level' ? 'head' : 'blocks_1_1')));
    try {
      const name = options.offloadType === 'leaf_level' ? 'head.weight' : 'blocks.1.ff.weight';
      const p = model.getParameter(name);
      expect(file.info(name)).toMatchObject({ dtype: 'F8_E4M3', shape: [...p.shape], byteLength: p.size });
    } finally {
      file.close();
    }
    const onWorker: TransferEvent[] = [];
    const on = (e: TransferEvent): void => void (e.site === 'worker' && onWorker.push(e));
    events.on('cast', on);
    tf.dispose(model.forward(x));
    expectNoLeaks(() => {
      try {
        for (let i = 0; i < 5; i++) {
          const out = model.forward(x) as tf.Tensor;
          expect(bitsOf(out)).toEqual(bitsOf(expected));
          out.dispose();
          expect(model.memoryFootprint().device).toBe(0);
          for (const p of model.parameters()) expect(p.hasDecoded).toBe(false);
        }
      } finally {
        events.off('cast', on);
      }
    });
    // With a stream the worker reads and decodes; without one the casting hook decodes on the main thread.
    expect(onWorker.length > 0).toBe(options.useStream === true);
    expect(() => cast.remove()).toThrow(StrategyConflictError);
    offload.remove();
    expect(fs.existsSync(dir)).toBe(false);
    cast.remove();
    for (const [path, p] of model.namedParameters()) {
      expect([p.tier, p.storageDtype]).toEqual(['device', p.dtype]);
      expect(bitsOf(p.read())).toEqual(bitsOf(decoded.getParameter(path).read()));
    }
    expect(memory.stats().hostBytes).toBe(host);
    expect(transferWorkerStatus().leases).toBe(0);
    const after = model.forward(x) as tf.Tensor;
    expect(bitsOf(after)).toEqual(bitsOf(expected));
    tf.dispose([x, expected, after]);
  });

  it.each([false, true])('fp8 files take at most 26%% of the float32 files (useStream %s), and the forward is bitwise', (useStream) => {
    const float32 = new Stack();
    const model = new Stack();
    const reference = new Stack();
    models.push(float32, model, reference);
    copyWeights(float32, model);
    copyWeights(float32, reference);
    applyLayerwiseCasting(reference, { skipModulesPattern: null });
    const x = tf.randomNormal([4, 128], 0, 1, 'float32', 3);
    const expected = reference.forward(x) as tf.Tensor;
    const plainDir = tmp();
    const castDir = tmp();
    const plain = applyGroupOffloading(float32, { offloadType: 'leaf_level', useStream, offloadToDiskPath: plainDir });
    const cast = applyLayerwiseCasting(model, { skipModulesPattern: null });
    const offload = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream, offloadToDiskPath: castDir });
    expect(fileBytes(castDir) / fileBytes(plainDir)).toBeLessThanOrEqual(0.26);
    expect(memory.stats().diskBytes).toBeGreaterThanOrEqual(fileBytes(castDir) + fileBytes(plainDir));
    expectSameForwards(model, x, expected);
    offload.remove();
    cast.remove();
    plain.remove();
    expect(listing(castDir)).toEqual([]);
    tf.dispose([x, expected]);
  });

  it('reuses a file only for the same storage: never a float32 file for a cast group, nor a cast file for a float32 one', () => {
    const [a, b] = pair();
    const c = new Caster();
    models.push(c);
    copyWeights(a, c);
    const x = ids();
    const seed = tmp();
    const shared = tmp();
    // float32 files from a, kept in `shared` after a's offloading is removed.
    const h1 = applyGroupOffloading(a, { offloadType: 'leaf_level', offloadToDiskPath: seed });
    fs.cpSync(seed, shared, { recursive: true });
    h1.remove();
    // A rewrite is an atomic replace (temp file + rename), so a rewritten file has a new inode. Inodes, unlike
    // mtimes, cannot collide: the kernel stamps mtimes from a coarse clock, and a copy and a rewrite a few ms
    // apart can read the same mtime.
    const mtimes = new Map(listing(shared).map((f) => [f, fs.statSync(join(shared, f)).ino]));
    const rewrittenIn = (dir: string, before: Map<string, number>): string[] =>
      listing(dir).filter((f) => f !== MANIFEST && fs.statSync(join(dir, f)).ino !== before.get(f)).sort();
    const castGroups = ['embed', 'blocks.0.ff', 'blocks.1.ff', 'conv', 'head'].map(groupFileName).sort();
    // b is cast: exactly the files of groups holding cast weights are rewritten; the others are reused.
    const castB = applyLayerwiseCasting(b);
    const expected = b.forward(x) as tf.Tensor;
    const h2 = applyGroupOffloading(b, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: shared });
    expect(rewrittenIn(shared, mtimes)).toEqual(castGroups);
    for (let i = 0; i < 2; i++) {
      const y = b.forward(x) as tf.Tensor;
      expect(bitsOf(y)).toEqual(bitsOf(expected));
      y.dispose();
    }
    // A cast model with the same weights reuses b's cast files as they are.
    const castSeed = tmp();
    fs.cpSync(shared, castSeed, { recursive: true });
    h2.remove();
    castB.remove();
    expect(listing(shared).sort()).toEqual([...mtimes.keys()].filter((f) => !castGroups.includes(f)).sort());
    const castMtimes = new Map(listing(castSeed).map((f) => [f, fs.statSync(join(castSeed, f)).ino]));
    const castC = applyLayerwiseCasting(c);
    const h3 = applyGroupOffloading(c, { offloadType: 'leaf_level', offloadToDiskPath: castSeed });
    expect(rewrittenIn(castSeed, castMtimes)).toEqual([]);
    const y = c.forward(x) as tf.Tensor;
    expect(bitsOf(y)).toEqual(bitsOf(expected));
    h3.remove();
    castC.remove();
    // Back to float32 (c holds the decoded values now): the cast files are not taken for float32 ones.
    const h4 = applyGroupOffloading(c, { offloadType: 'leaf_level', offloadToDiskPath: castSeed });
    expect(rewrittenIn(castSeed, castMtimes)).toEqual(castGroups);
    const file = SafetensorsFile.open(join(castSeed, groupFileName('head')));
    expect(file.info('head.weight').dtype).toBe('F32');
    file.close();
    h4.remove();
    tf.dispose([x, expected, y]);
  });

  it('detects a cast group file changed after apply, with and without stream', () => {
    for (const useStream of [false, true]) {
      const [model] = pair();
      const dir = tmp();
      const x = ids();
      applyLayerwiseCasting(model);
      applyGroupOffloading(model, { offloadType: 'leaf_level', useStream, offloadToDiskPath: dir });
      tf.dispose(model.forward(x));
      const file = join(dir, groupFileName('head'));
      fs.appendFileSync(file, 'x');
      expectNoLeaks(() => {
        expect(() => model.forward(x)).toThrow(/changed after group offloading wrote it \(it was modified: size \d+ vs \d+/);
      });
      expect(model.memoryFootprint().device).toBe(0);
      for (const p of model.parameters()) expect(p.hasDecoded).toBe(false);
      x.dispose();
    }
  });

  it('sequential offload to disk of cast weights: codes on disk, bitwise the output of casting alone, files deleted at remove()', () => {
    const [model, reference] = pair();
    applyLayerwiseCasting(reference);
    const x = ids();
    const expected = reference.forward(x) as tf.Tensor;
    const dir = join(tmp(), 'sequential');
    const cast = applyLayerwiseCasting(model);
    const offload = applySequentialOffload(model, { offloadToDiskPath: dir });
    const onDisk = CAST_BY_DEFAULT.map((path) => model.getParameter(path));
    for (const p of onDisk) expect([p.tier, p.storageDtype]).toEqual(['disk', 'float8_e4m3fn']);
    expectSameForwards(model, x, expected);
    expect(() => cast.remove()).toThrow(StrategyConflictError);
    offload.remove();
    expect(fs.existsSync(dir)).toBe(false);
    cast.remove();
    for (const [, p] of model.namedParameters()) expect([p.tier, p.storageDtype]).toEqual(['device', p.dtype]);
    const after = model.forward(x) as tf.Tensor;
    expect(bitsOf(after)).toEqual(bitsOf(expected));
    tf.dispose([x, expected, after]);
  });
});
