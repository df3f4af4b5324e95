import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyGroupOffloading, applySequentialOffload, dispatchModel, Linear, memory, MemhooksError, saveShardedCheckpoint, withParameterInit, type Module } from '../../src/index.js';
import { writeFileAtomicSync } from '../../src/io/atomicWrite.js';
import { nodePlatform } from '../../src/base/platform/node.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { useNodePlatformWith } from '../helpers/platform.js';
import { scratchDirs } from '../helpers/scratch.js';
import { ConvNet, expectSameWeights, hookNames, snapshotWeights, tiers } from './cpu-offload/models.js';
import { Chain } from './device-map/models.js';

/**
 * A full disk (or a folder without permission) cannot be made in a test: the writes fail instead the way
 * the kernel fails them, through the Node platform's writeSync (src/base/platform), after the first `okWrites` writes succeed.
 */
const fault: { code?: 'ENOSPC' | 'EACCES' | 'EROFS'; okWrites: number; free?: number; writes: number } = { okWrites: 0, writes: 0 };
useNodePlatformWith({
  files: {
    // The free space the writers check before writing (assertRoomToWrite), when a test sets one.
    statfsSync: (path: string) => (fault.free === undefined ? nodePlatform.files.statfsSync(path) : { bavail: fault.free, bsize: 1 }),
    writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => {
      fault.writes++;
      if (fault.code !== undefined && fault.okWrites-- <= 0) {
        const messages = { ENOSPC: 'no space left on device', EACCES: 'permission denied', EROFS: 'read-only file system' };
        throw Object.assign(new Error(`${fault.code}: ${messages[fault.code]}, write`), { code: fault.code, syscall: 'write' });
      }
      return nodePlatform.files.writeSync(fd, buffer, offset, length);
    },
  },
});

afterEach(() => {
  fault.code = undefined;
  fault.okWrites = 0;
  fault.free = undefined;
});

const filesUnder = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

/** Applies, expecting the failure; checks that nothing changed; returns the message's first line. */
function failsCleanly(model: Module, folder: string, apply: () => unknown): string {
  const weights = snapshotWeights(model);
  const before = { tiers: tiers(model), hooks: hookNames(model), tensors: tf.memory().numTensors, stats: memory.stats() };
  let error: unknown;
  try {
    apply();
  } catch (e) {
    error = e;
  }
  fault.code = undefined;
  expect(error).toBeInstanceOf(MemhooksError);
  expect(tiers(model)).toEqual(before.tiers);
  expect(hookNames(model)).toEqual(before.hooks);
  expectSameWeights(weights, snapshotWeights(model));
  expect(tf.memory().numTensors).toBe(before.tensors);
  expect(memory.stats().diskBytes).toBe(before.stats.diskBytes);
  expect(memory.stats().hostBytes).toBe(before.stats.hostBytes);
  expect(filesUnder(folder)).toEqual([]);
  return (error as Error).message.split('\n')[0]!;
}

/** The first line says: no space, where, how much was needed and was free, and what to do. */
function expectNoSpaceMessage(first: string, folder: string, option: string): void {
  expect(first).toMatch(/could not be applied to module .*: no space left on the disk holding /);
  expect(first).toContain(folder);
  expect(first).toMatch(/needs [\d.]+ [KMG]?i?B \(\d+ bytes\), [\d.]+ [KMGT]?i?B \(\d+ bytes\) free/);
  expect(first).toContain(`Free space there, or pass ${option} a folder on a disk with room.`);
  expect(first).toMatch(/hook\(s\) it had registered were removed again\./);
}

describe.each(BACKENDS)('a disk write that fails for a reason the user can act on, on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = scratchDirs('memhooks-diskfull-');

  const groupCases = [
    ['group offloading, leaf level + stream', { offloadType: 'leaf_level', useStream: true }],
    ['group offloading, block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }],
  ] as const;
  for (const [name, options] of groupCases) {
    it(`${name}: no space is said first, with the folder, the bytes needed and free`, () => {
      for (const okWrites of [0, 3]) {
        const model = new ConvNet();
        const folder = join(scratch(), 'offload');
        fault.code = 'ENOSPC';
        fault.okWrites = okWrites; // the first file, or a later one after some were written
        const first = failsCleanly(model, folder, () => applyGroupOffloading(model, { ...options, offloadToDiskPath: folder }));
        expectNoSpaceMessage(first, folder, 'offloadToDiskPath');
      }
    });
  }

  it('group offloading: no permission and a read-only file system are said first too', () => {
    for (const [code, said] of [['EACCES', 'no permission to write in'], ['EROFS', 'is on a read-only file system']] as const) {
      const model = new ConvNet();
      const folder = join(scratch(), 'offload');
      fault.code = code;
      const first = failsCleanly(model, folder, () => applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: folder }));
      expect(first).toContain(said);
      expect(first).toContain(folder);
      expect(first).toContain('pass offloadToDiskPath a folder');
    }
  });

  it('sequential offload: no space is said first', () => {
    const model = new ConvNet();
    const folder = join(scratch(), 'offload');
    fault.code = 'ENOSPC';
    fault.okWrites = 2;
    const first = failsCleanly(model, folder, () => applySequentialOffload(model, { offloadToDiskPath: folder }));
    expectNoSpaceMessage(first, folder, 'offloadToDiskPath');
  });

  it('a device map with disk: no space is said first', () => {
    const model = new Chain(3);
    const folder = join(scratch(), 'offload');
    fault.code = 'ENOSPC';
    fault.okWrites = 1;
    const first = failsCleanly(model, folder, () =>
      dispatchModel(model, { 'blocks.0': 'device', 'blocks.1': 'disk', 'blocks.2': 'host', head: 'disk' }, { offloadFolder: folder }),
    );
    expectNoSpaceMessage(first, folder, 'offloadFolder');
  });

  it('a device budget refusal at apply is said first, with its own advice', () => {
    const base = memory.stats().deviceBytes;
    const model = new ConvNet();
    for (const p of model.parameters()) p.toHost();
    memory.setDeviceBudget(base + 100);
    try {
      const first = failsCleanly(model, scratch(), () => applyGroupOffloading(model, { offloadType: 'leaf_level', keepResident: ['conv1'] }));
      expect(first).toMatch(/could not be applied to module ConvNet: the device budget refused it: .*keepResident weights needs/);
      expect(first).toContain('Keep fewer modules resident.');
      expect(first).toMatch(/removed again\.$/);
    } finally {
      memory.setDeviceBudget(undefined);
    }
  });

  it('the bytes needed are the weights the strategy writes', () => {
    const model = new ConvNet();
    const folder = join(scratch(), 'offload');
    fault.code = 'ENOSPC';
    const weightBytes = model.parameters().reduce((n, p) => n + p.byteLength, 0);
    const first = failsCleanly(model, folder, () => applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: folder }));
    expect(first).toContain(`(${weightBytes} bytes), `);
  });
});

describe.each(BACKENDS)('free space checked before writing, on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = scratchDirs('memhooks-diskroom-');

  /** Fails cleanly with the free space below the weights, having written nothing at all; returns the first line. */
  function refusedBeforeWriting(model: Module, folder: string, apply: () => unknown): string {
    fault.free = 100;
    fault.writes = 0;
    const first = failsCleanly(model, folder, apply);
    expect(fault.writes).toBe(0);
    expect(first).toContain('100 B (100 bytes) free');
    return first;
  }

  it('group offloading, sequential offload and a disk device map refuse before their first write', () => {
    const folder = (): string => join(scratch(), 'offload');
    const weights = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);
    let model: Module = new ConvNet();
    let dir = folder();
    let first = refusedBeforeWriting(model, dir, () => applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: dir }));
    expectNoSpaceMessage(first, dir, 'offloadToDiskPath');
    expect(first).toContain(`(${weights(model)} bytes), `);
    model = new ConvNet();
    dir = folder();
    first = refusedBeforeWriting(model, dir, () => applySequentialOffload(model, { offloadToDiskPath: dir }));
    expectNoSpaceMessage(first, dir, 'offloadToDiskPath');
    model = new Chain(3);
    dir = folder();
    first = refusedBeforeWriting(model, dir, () => dispatchModel(model, { 'blocks.0': 'device', 'blocks.1': 'disk', 'blocks.2': 'host', head: 'disk' }, { offloadFolder: dir }));
    expect(first).toMatch(/no space left on the disk holding .*100 B \(100 bytes\) free/);
  });

  it('an atomic write, a generation on disk and a sharded save refuse before their first write', () => {
    const dir = scratch();
    fault.free = 100;
    fault.writes = 0;
    const path = join(dir, 'config.json');
    writeFileSync(path, 'old');
    expect(() => writeFileAtomicSync(path, new Uint8Array(1000))).toThrow(/no space left on the disk holding .*needs 1000 B \(1000 bytes\), 100 B \(100 bytes\) free/);
    expect(readFileSync(path, 'utf8')).toBe('old');
    const init = join(dir, 'init');
    expect(() => withParameterInit({ tier: 'disk', dir: init, seed: 0 }, () => new Linear(16, 16))).toThrow(/needs 1\.\d+ KiB \(\d+ bytes\), 100 B \(100 bytes\) free/);
    expect(filesUnder(init)).toEqual([]);
    const saved = join(dir, 'saved');
    const w = tf.zeros([64]);
    expect(() => saveShardedCheckpoint({ w }, saved)).toThrow(/saveShardedCheckpoint could not write its files .*needs 256 B \(256 bytes\), 100 B \(100 bytes\) free/);
    w.dispose();
    expect(filesUnder(saved)).toEqual([]);
    expect(fault.writes).toBe(0);
  });

  it('with room, the same writes go ahead', () => {
    const model = new ConvNet();
    const dir = join(scratch(), 'offload');
    fault.free = 1e12;
    const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: dir });
    expect(filesUnder(dir).length).toBeGreaterThan(0);
    handle.remove();
  });
});

describe('writeFileAtomicSync on a full disk', () => {
  const scratch = scratchDirs('memhooks-diskfull-atomic-');

  it('says no space first, with the folder and the bytes it needed, and leaves the old file as it was', () => {
    const dir = scratch();
    const path = join(dir, 'config.json');
    writeFileSync(path, 'old');
    fault.code = 'ENOSPC';
    let message = '';
    try {
      writeFileAtomicSync(path, new Uint8Array(1000));
    } catch (e) {
      expect(e).toBeInstanceOf(MemhooksError);
      message = (e as Error).message.split('\n')[0]!;
    }
    fault.code = undefined;
    expect(message).toMatch(new RegExp(`^Could not write ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left on the disk holding `));
    expect(message).toMatch(/needs 1000 B \(1000 bytes\), .* free\)\. Free space there/);
    expect(message).toContain('The previous file (if any) is unchanged.');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['config.json']);
  });
});
