import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadShardedCheckpoint, MemhooksError, openCheckpoint, SafetensorsFile, saveShardedCheckpoint } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

const f32 = (n: number, seed: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed * 1000 + i) * 10;
  return a;
};
const entry = (a: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Uint8Array(a.buffer) });

describe('sharded checkpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'memhooks-ckpt-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits by size into Hugging Face shard names plus an index, in order, a big tensor alone', () => {
    // 400, 400, 400, 2000, 40 bytes with a 1000-byte limit: [a b] [c] [big] [d].
    const tensors = { a: entry(f32(100, 1), [10, 10]), b: entry(f32(100, 2), [100]), c: entry(f32(100, 3), [4, 25]), big: entry(f32(500, 4), [500]), d: entry(f32(10, 5), [10]) };
    const saved = saveShardedCheckpoint(tensors, dir, { maxShardSize: 1000 });
    const names = ['model-00001-of-00004.safetensors', 'model-00002-of-00004.safetensors', 'model-00003-of-00004.safetensors', 'model-00004-of-00004.safetensors'];
    expect(saved.files).toEqual(names);
    expect(readdirSync(dir).sort()).toEqual([...names, 'model.safetensors.index.json'].sort());
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index).toEqual({
      metadata: { total_size: 3240 },
      weight_map: { a: names[0], b: names[0], c: names[1], big: names[2], d: names[3] },
    });
    const first = SafetensorsFile.open(join(dir, names[0]!));
    expect(first.keys().sort()).toEqual(['a', 'b']);
    expect(first.metadata()).toEqual({ format: 'pt' });
    first.close();
  });

  it('writes one unsuffixed file when everything fits, and removes what an earlier save of another shape left', () => {
    const tensors = { a: entry(f32(100, 1), [100]), b: entry(f32(100, 2), [100]) };
    saveShardedCheckpoint(tensors, dir, { maxShardSize: 500, weightsName: 'diffusion_pytorch_model.safetensors' });
    expect(readdirSync(dir).sort()).toEqual([
      'diffusion_pytorch_model-00001-of-00002.safetensors',
      'diffusion_pytorch_model-00002-of-00002.safetensors',
      'diffusion_pytorch_model.safetensors.index.json',
    ]);
    writeFileSync(join(dir, 'unrelated.safetensors'), 'kept');
    saveShardedCheckpoint(tensors, dir, { maxShardSize: '10GB', weightsName: 'diffusion_pytorch_model.safetensors' });
    expect(readdirSync(dir).sort()).toEqual(['diffusion_pytorch_model.safetensors', 'unrelated.safetensors']);
    saveShardedCheckpoint(tensors, dir, { maxShardSize: '0.5KB', weightsName: 'diffusion_pytorch_model.safetensors' });
    expect(readdirSync(dir)).toHaveLength(4);
    expect(readdirSync(dir)).not.toContain('diffusion_pytorch_model.safetensors');
  });

  it('refuses bad options before writing anything', () => {
    const tensors = { a: entry(f32(4, 1), [4]) };
    expect(() => saveShardedCheckpoint(tensors, dir, { maxShardSize: '10 parsecs' })).toThrow(MemhooksError);
    expect(() => saveShardedCheckpoint(tensors, dir, { maxShardSize: 0 })).toThrow(/must be positive/);
    expect(() => saveShardedCheckpoint(tensors, dir, { weightsName: '../model.safetensors' })).toThrow(/plain file name/);
    expect(() => saveShardedCheckpoint(tensors, dir, { weightsName: 'model.bin' })).toThrow(/ending in .safetensors/);
    expect(() => saveShardedCheckpoint({ a: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } }, dir)).toThrow(/8 bytes\) but 4/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('creates its folder, parents included, as savePretrained does; a refused save leaves no folder behind', () => {
    const tensors = { a: entry(f32(100, 1), [100]), b: entry(f32(100, 2), [100]) };
    const target = join(dir, 'new', 'ckpt');
    const saved = saveShardedCheckpoint(tensors, target, { maxShardSize: 500 });
    expect(readdirSync(target).sort()).toEqual([...saved.files, saved.index].sort());
    expect(openCheckpoint(target).weightMap.size).toBe(2);
    // The second tensor's data is short: the save fails after the first shard, and the folders it made go too.
    const bad = { a: entry(f32(100, 1), [100]), b: { dtype: 'F32' as const, shape: [100], data: new Uint8Array(4) } };
    expect(() => saveShardedCheckpoint(bad, join(dir, 'other', 'ckpt'), { maxShardSize: 500 })).toThrow(/400 bytes\) but 4/);
    expect(readdirSync(dir)).toEqual(['new']);
    // A path that is a file is refused, naming it.
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => saveShardedCheckpoint(tensors, join(dir, 'file'))).toThrow(/could not create the folder .*file/);
  });

  for (const backend of BACKENDS) {
    describe(backend, () => {
      afterAll(() => useBackend('cpu'));

      it('loads shard by shard, bit for bit, from tensors, raw and lazy entries, without leaks', async () => {
        await useBackend(backend);
        const t = tf.tensor2d(f32(6, 7), [2, 3]);
        const ints = tf.tensor1d([1, -2, 3], 'int32');
        const lazyValues = f32(50, 8);
        const lazy = { dtype: 'F32' as const, shape: [5, 10], read: vi.fn(() => new Uint8Array(lazyValues.buffer)) };
        const before = tf.memory().numTensors;
        saveShardedCheckpoint({ t, ints, raw: entry(f32(100, 9), [100]), lazy }, dir, { maxShardSize: 300 });
        expect(lazy.read).toHaveBeenCalledTimes(1);
        expect(tf.memory().numTensors).toBe(before);
        const opened = vi.spyOn(SafetensorsFile, 'open');
        const loaded = loadShardedCheckpoint(dir);
        // One open per shard while planning nothing else: the loader streams shard by shard.
        expect(opened).toHaveBeenCalledTimes(readdirSync(dir).filter((n) => n.endsWith('.safetensors')).length);
        expect([...loaded.keys()].sort()).toEqual(['ints', 'lazy', 'raw', 't']);
        expect(await loaded.get('t')!.data()).toEqual(await t.data());
        expect(loaded.get('ints')!.dtype).toBe('int32');
        expect(await loaded.get('ints')!.data()).toEqual(new Int32Array([1, -2, 3]));
        expect(await loaded.get('raw')!.data()).toEqual(f32(100, 9));
        expect(loaded.get('lazy')!.shape).toEqual([5, 10]);
        expect(await loaded.get('lazy')!.data()).toEqual(lazyValues);
        expect(tf.memory().numTensors).toBe(before + 4);
        tf.dispose([...loaded.values(), t, ints]);
      });
    });
  }

  describe('index entries from an untrusted folder', () => {
    const writeIndex = (weightMap: unknown, extra = '') =>
      writeFileSync(join(dir, 'model.safetensors.index.json'), extra !== '' ? extra : JSON.stringify({ metadata: { total_size: 8 }, weight_map: weightMap }));

    beforeEach(() => {
      saveShardedCheckpoint({ a: entry(f32(1, 1), [1]), b: entry(f32(1, 2), [1]) }, dir, { maxShardSize: 4 });
    });

    const escapes: Array<[string, string]> = [
      ['parent folder', '../model-00001-of-00002.safetensors'],
      ['absolute path', '/etc/passwd.safetensors'],
      ['separator', 'sub/x.safetensors'],
      ['backslash', 'sub\\x.safetensors'],
      ['empty name', ''],
      ['dot-dot', '..'],
      ['drive prefix', 'C:x.safetensors'],
      ['not safetensors', 'model.safetensors.index.json'],
    ];
    for (const [what, name] of escapes) {
      it(`refuses a ${what} before reading any shard`, () => {
        writeIndex({ a: 'model-00001-of-00002.safetensors', b: name });
        const opened = vi.spyOn(SafetensorsFile, 'open');
        let error: unknown;
        try {
          loadShardedCheckpoint(dir);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(MemhooksError);
        expect((error as MemhooksError).code).toBe('UNSAFE_PATH');
        expect(opened).not.toHaveBeenCalled();
      });
    }

    it('refuses a shard that is a link or a folder, a missing shard, and a malformed or duplicated index', () => {
      symlinkSync(join(dir, 'model-00001-of-00002.safetensors'), join(dir, 'link.safetensors'));
      mkdirSync(join(dir, 'folder.safetensors'));
      writeIndex({ a: 'link.safetensors' });
      expect(() => openCheckpoint(dir)).toThrow(/not a regular file/);
      writeIndex({ a: 'folder.safetensors' });
      expect(() => openCheckpoint(dir)).toThrow(/not a regular file/);
      writeIndex({ a: 'missing.safetensors' });
      expect(() => openCheckpoint(dir)).toThrow(/does not exist/);
      writeIndex(undefined, '{"weight_map":{"a":"model-00001-of-00002.safetensors","a":"model-00002-of-00002.safetensors"}}');
      expect(() => openCheckpoint(dir)).toThrow(/not valid JSON[\s\S]*duplicate key "a"/);
      writeIndex(undefined, '{"weight_map":{"a":3}}');
      expect(() => openCheckpoint(dir)).toThrow(/weight_map\["a"\] is not a file name/);
      writeIndex(undefined, '[1]');
      expect(() => openCheckpoint(dir)).toThrow(/not a JSON object/);
    });

    it('names the key when the index maps a tensor to a shard that lacks it, and leaks nothing', () => {
      writeIndex({ a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors' });
      expectNoLeaks(() => {
        expect(() => loadShardedCheckpoint(dir)).toThrow(/maps "b" to .*model-00001-of-00002\.safetensors, which does not hold it/);
      });
    });

    it('says what it looked for when there is no checkpoint', () => {
      const empty = join(dir, 'empty');
      mkdirSync(empty);
      expect(() => loadShardedCheckpoint(empty)).toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json exists/);
    });
  });
});
