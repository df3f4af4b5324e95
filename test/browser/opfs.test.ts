// The disk tier in a page (#27): memhooks' files are the Origin Private File System. In a dedicated Worker of a
// cross-origin isolated page (the `isolated` browser instance serves this file with COOP/COEP) every disk feature
// runs unchanged on top, through the OPFS server: group offloading to disk (block and leaf, with and without stream),
// sequential offload to disk, device-map 'disk', withParameterInit({ tier: 'disk' }), atomic writes, checksummed
// reuse, files changed behind the model's back, the quota. On a page's main thread, and in a page that is not
// isolated, every synchronous file call is refused with the reason and what to do.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, inject, it } from 'vitest';
import { cdp } from 'vitest/browser';
import { applyGroupOffloading, Linear, Sequential, withParameterInit } from 'memhooks';
import { platform } from '../../src/base/platform/Platform.js';
import * as fs from '../../src/base/platform/fs.js';
import type { OffloadKind, SCENARIOS, ScenarioName } from './opfsScenarios.js';

const ISOLATED = inject('isolated') === true;
const ROOT = '/memhooks-test';

interface PageWorker {
  onmessage: ((event: { data: { result?: unknown; error?: string } }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}
const PageWorker = (globalThis as unknown as { Worker: new (url: URL, options: { type: 'module' }) => PageWorker }).Worker;

type Result<K extends ScenarioName> = Awaited<ReturnType<(typeof SCENARIOS)[K]>>;

/** Runs one scenario of opfsScenarios.ts in a fresh dedicated Worker of this page; resolves with what it posted. */
function inWorker<K extends ScenarioName>(scenario: K, args?: unknown): Promise<Result<K>> {
  const worker = new PageWorker(new URL('./opfsWorker.ts', import.meta.url), { type: 'module' });
  return new Promise<Result<K>>((resolve, reject) => {
    worker.onmessage = (event) => (event.data.error === undefined ? resolve(event.data.result as Result<K>) : reject(new Error(event.data.error)));
    worker.onerror = (event) => reject(new Error(`the Worker failed: ${event.message ?? 'no message'}`));
    worker.postMessage({ scenario, args });
  }).finally(() => worker.terminate());
}

describe(`the disk tier on OPFS, ${ISOLATED ? 'cross-origin isolated' : 'not cross-origin isolated'}: refusals where a file call cannot block`, () => {
  it("refuses every synchronous file call on the page's main thread, saying why and what to do; strategies leave the model unchanged", async () => {
    expect(platform().name).toBe('browser');
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    const error = (() => {
      try {
        fs.mkdirSync(`${ROOT}/main`, { recursive: true });
      } catch (e) {
        return e as Error & { code?: string };
      }
      return undefined;
    })();
    expect(error?.code).toBe('PLATFORM_UNSUPPORTED');
    expect(error?.message).toContain(`mkdirSync("${ROOT}/main")`);
    expect(error?.message).toMatch(ISOLATED ? /main thread, which may not block \(Atomics\.wait\)/ : /not cross-origin isolated/);
    expect(error?.message).toMatch(/dedicated Worker of a page served with Cross-Origin-Opener-Policy.*host tier/);
    const m = withParameterInit({ seed: 9 }, () => new Sequential([new Linear(4, 8), new Linear(8, 2)]));
    const apply = (() => {
      try {
        applyGroupOffloading(m, { offloadType: 'leaf_level', offloadToDiskPath: `${ROOT}/main` });
      } catch (e) {
        return e as Error & { code?: string };
      }
      return undefined;
    })();
    expect(apply?.code).toBe('STRATEGY_APPLY_FAILED');
    expect(apply?.message.split('\n')[0]).toMatch(/could not be applied .*no file system in a page for mkdirSync.*main thread|not cross-origin isolated/);
    expect(m.parameters().every((p) => p.isResident)).toBe(true);
    m.dispose();
    if (previous) await tf.setBackend(previous);
  });

  it('asynchronous file calls work on the main thread (OPFS needs no blocking there)', async () => {
    const files = platform().filesAsync;
    await files.mkdir(`${ROOT}/async`, { recursive: true });
    await files.writeFile(`${ROOT}/async/a.json`, '{"a":1}');
    expect(await files.readFile(`${ROOT}/async/a.json`, 'utf8')).toBe('{"a":1}');
    await files.rename(`${ROOT}/async/a.json`, `${ROOT}/async/b.json`);
    expect(await files.readdir(`${ROOT}/async`)).toEqual(['b.json']);
    await files.rm(ROOT, { recursive: true });
    await expect(files.stat(ROOT)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // Only where the page is not isolated (in the isolated page, a Worker's calls work: the describe below).
  if (!ISOLATED) {
    it('refuses synchronous file calls in a dedicated Worker of a page that is not cross-origin isolated', async () => {
      const { error, exists } = await inWorker('refusal');
      expect(exists).toBe(false);
      expect(error?.code).toBe('PLATFORM_UNSUPPORTED');
      expect(error?.message).toMatch(/not cross-origin isolated, so it has no SharedArrayBuffer/);
    });
  }
});

// Only in the isolated page (vitest.browser.config.ts' ISOLATED_FILES): elsewhere a Worker has no SharedArrayBuffer.
if (ISOLATED) {
  describe('the disk tier on OPFS in a dedicated Worker of a cross-origin isolated page', () => {
    it('file calls: atomic writes (no partial or temporary file after a failure), stat identity across rename, error codes, statfs', async () => {
      const r = await inWorker('files');
      expect(r.same).toBe(true);
      expect(r.identity).toEqual({ size: 3_000_000, sameIno: true, ctimeMoved: true, mtime: true, isFile: true });
      expect(r.read).toEqual({ n: 10, ok: true });
      expect(r.aExists).toBe(false);
      expect([r.exclusive, r.missing]).toEqual(['EEXIST', 'ENOENT']);
      expect(r.failed).toMatch(/Could not write .*c\.bin; the previous file \(if any\) is unchanged/);
      expect(r.afterFailure).toEqual(['b.bin']);
      expect(r.free).toBeGreaterThan(0);
      expect(r.dirIsDirectory).toBe(true);
      expect(r.removed).toBe(true);
      expect(r.leaked).toBe(0);
    });

    const OFFLOADS: Array<[string, { kind: OffloadKind; options?: object; idleFirst?: boolean }]> = [
      ['group offloading, block level', { kind: 'group', options: { offloadType: 'block_level', numBlocksPerGroup: 1 } }],
      ['group offloading, block level + stream', { kind: 'group', options: { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true } }],
      ['group offloading, leaf level', { kind: 'group', options: { offloadType: 'leaf_level' } }],
      ['group offloading, leaf level + stream', { kind: 'group', options: { offloadType: 'leaf_level', useStream: true } }],
      // Its nested transfer worker boots only once this Worker is idle: forwards right after apply must not block on it
      // (before the boot flag of runtime/transfer/boot.ts, the second one waited 120 s and failed).
      ['group offloading, leaf level + stream, two forwards right after apply', { kind: 'group', options: { offloadType: 'leaf_level', useStream: true }, idleFirst: false }],
      ['sequential offload to disk', { kind: 'sequential' }],
      ["device map with 'disk' entries", { kind: 'device-map' }],
    ];
    it.each(OFFLOADS)('%s: bitwise equal, weights in OPFS files while applied, files removed with the handle', async (_label, args) => {
      const r = await inWorker('offload', args);
      expect(r.bitwise).toEqual([true, true, true]);
      expect(r.footprint.disk).toBeGreaterThan(0);
      if (args.kind !== 'device-map') expect(r.footprint.disk).toBe(r.total);
      expect(r.applied?.length).toBeGreaterThan(1);
      expect(r.applied?.filter((f: string) => f.includes('.tmp-'))).toEqual([]);
      // The folder goes with the handle where memhooks made it; a device map's offloadFolder is the user's, left empty.
      if (args.kind === 'device-map') expect(r.after).toEqual([]);
      else expect(r.after).toBeNull();
      expect(r.storage).toMatchObject({ usageBytes: expect.any(Number), quotaBytes: expect.any(Number), measuredAt: expect.any(Number) });
      expect(r.leaked).toBe(0);
    });

    it("withParameterInit({ tier: 'disk' }) builds into OPFS shards and runs from them, bitwise", async () => {
      const r = await inWorker('initDisk');
      expect(r.bitwise).toBe(true);
      expect(r.footprint).toEqual({ device: 0, host: 0, disk: r.total });
      expect(r.files).toEqual(expect.arrayContaining(['memhooks-init.json']));
      expect(r.leaked).toBe(0);
    });

    it('saves a sharded checkpoint into an OPFS folder and loads it back bit for bit', async () => {
      const r = await inWorker('checkpoints');
      expect(r.same).toBe(true);
      expect(r.shards).toBeGreaterThan(1);
      expect(r.files).toEqual(expect.arrayContaining(['model.safetensors.index.json']));
      expect(r.files.filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(r.loaded).toBe(8);
      expect(r.leaked).toBe(0);
    });

    it('reuses files that match the manifest and their checksum, rewrites the one that does not, deletes only its own', async () => {
      const r = await inWorker('reuse');
      expect(r.rewritten).toEqual(r.expected);
      expect(r.kept.sort()).toEqual(r.before.filter((f: string) => !r.expected.includes(f)).sort());
      expect(r.leaked).toBe(0);
    });

    it.each([false, true])('a group file rewritten through the OPFS API behind the model is refused (useStream %s)', async (useStream) => {
      const r = await inWorker('changed', { useStream, how: 'rewrite' });
      for (const e of r.errors) expect(e).toMatchObject({ code: 'OFFLOAD_FILE_CHANGED', message: expect.stringMatching(/changed after group offloading wrote it \(it was modified: .*mtimeMs/) });
      expect(r.leaked).toBe(0);
    });

    it.each([false, true])('a group file deleted (storage cleared) is refused (useStream %s)', async (useStream) => {
      const r = await inWorker('changed', { useStream, how: 'delete' });
      // Read on this thread or by the transfer worker (useStream): the same changed-file error.
      const expected = { code: 'OFFLOAD_FILE_CHANGED', message: expect.stringMatching(/The offload file \/memhooks-test\/.*\.safetensors changed after group offloading wrote it \(it was deleted\)/) };
      expect(r.errors.length).toBeGreaterThan(0);
      for (const e of r.errors) expect(e).toMatchObject(expected);
      expect(r.removal).toBe('OFFLOAD_FILE_CHANGED');
      expect(r.leaked).toBe(0);
    });

    it('a write past the quota rolls back: a MemhooksError naming the quota and the bytes needed, the model unchanged', async () => {
      const session = cdp();
      const origin = (globalThis as unknown as { location: { origin: string } }).location.origin;
      const { usage } = await (globalThis as unknown as { navigator: { storage: { estimate(): Promise<{ usage: number }> } } }).navigator.storage.estimate();
      await session.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 200_000 });
      try {
        const r = await inWorker('quota');
        if (r.error === undefined) throw new Error('the write past the quota did not fail');
        expect(r.error.code, r.error.full).toBe('STRATEGY_APPLY_FAILED');
        expect(r.error.message, r.error.full).toMatch(/could not be applied .*: the disk quota of \/memhooks-test\/quota is used up \(needs [\d.]+ [KMG]i?B \((\d+) bytes\)/);
        expect(Number(/needs [^(]+\((\d+) bytes\)/.exec(r.error.message)![1])).toBe(r.total);
        expect(r.error.full).toMatch(/EDQUOT: QuotaExceededError: .*the origin's storage quota is \d+ bytes/);
        expect(r.unchanged).toBe(true);
        expect(r.files).toBeNull();
        expect(r.leaked).toBe(0);
      } finally {
        await session.send('Storage.overrideQuotaForOrigin', { origin });
      }
    });

    it('leaves no file behind: every scenario removed its own folder', async () => {
      expect(await platform().filesAsync.readdir(ROOT).catch(() => [])).toEqual([]);
      await platform().filesAsync.rm(ROOT, { recursive: true, force: true });
    });
  });
}
