import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import posixPath from 'node:path/posix';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { browserPlatform } from '../../src/base/platform/browser.js';
import { nodePlatform } from '../../src/base/platform/node.js';
import { setPlatform } from '../../src/base/platform/Platform.js';
import * as posix from '../../src/base/platform/posixPath.js';
import { createSha256 } from '../../src/base/platform/sha256.js';
import { applyGroupOffloading, defaultMaxMemory, Linear, MemhooksError, Sequential, withParameterInit } from '../../src/index.js';
import { transferWorkerSource } from '../../src/runtime/transfer/workerSource.js';
import { mulberry32 } from '../../src/runtime/random.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { thrown } from '../helpers/thrown.js';
import { hookNames } from '../strategies/cpu-offload/models.js';

afterEach(() => setPlatform(nodePlatform));

describe('the browser platform: sha256 in pure code', () => {
  const random = mulberry32(0x5ea256);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

  it("digests every length around the block and padding boundaries as Node's crypto does", () => {
    for (const n of [...Array.from({ length: 130 }, (_, i) => i), 1000, 4096 + 3]) {
      const data = bytes(n);
      expect(createSha256().update(data).digest('hex'), `length ${n}`).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('gives the same digest for data fed in pieces, and hashes strings as UTF-8', () => {
    const data = bytes(777);
    const pieces = createSha256();
    for (let at = 0; at < data.length; ) {
      const n = Math.floor(random() * 90);
      pieces.update(data.subarray(at, at + n));
      at += n;
    }
    expect(pieces.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const text = 'blocks.3.attn — ünïcödé ✓';
    expect(createSha256().update(text).digest('hex')).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });
});

describe('the browser platform: POSIX paths in pure code', () => {
  const joins = [['a', 'b'], ['/a', '../b'], ['a/', './b/c'], ['', ''], ['/', '..'], ['a', '..', '..', 'x'], ['/offload//dir/', 'group_1.safetensors'], ['.']];
  it.each(joins)('join(%j …) as node:path/posix', (...parts) => {
    expect(posix.join(...parts)).toBe(posixPath.join(...parts).replace(/(.)\/$/, '$1'));
  });
  const paths = ['/a/b/', 'a', '/', 'a/b//c//', '/a', 'a/b', '.', '../x/y'];
  it.each(paths)('dirname, basename and resolve of %j as node:path/posix (a page resolves from /)', (p) => {
    expect(posix.dirname(p)).toBe(posixPath.dirname(p));
    expect(posix.basename(p)).toBe(posixPath.basename(p));
    expect(posix.resolve(p)).toBe(posixPath.resolve('/', p));
    expect(posix.resolve('/root', p, 'f')).toBe(posixPath.resolve('/root', p, 'f'));
  });
});

describe('the browser platform without OPFS (as under Node): no files, no process', () => {
  const refusal = (error: unknown, call: string, path: string) => {
    expect(error).toBeInstanceOf(MemhooksError);
    expect((error as MemhooksError).code).toBe('PLATFORM_UNSUPPORTED');
    expect((error as Error).message).toContain(`${call}("${path}")`);
    expect((error as Error).message).toMatch(/no Origin Private File System .*dedicated Worker of a page served with Cross-Origin-Opener-Policy.*host tier/);
  };

  it('refuses every file call, naming the call and the path and saying what to use instead', () => {
    const files = browserPlatform.files;
    refusal(thrown(() => files.openSync('/w/model.safetensors', 'r')), 'openSync', '/w/model.safetensors');
    refusal(thrown(() => files.mkdirSync('/offload', { recursive: true })), 'mkdirSync', '/offload');
    refusal(thrown(() => files.readFileSync('/w/config.json', 'utf8')), 'readFileSync', '/w/config.json');
    refusal(thrown(() => files.readdirSync('/w')), 'readdirSync', '/w');
    refusal(thrown(() => files.rmSync('/w/x', { force: true })), 'rmSync', '/w/x');
    expect(files.existsSync('/w')).toBe(false);
  });

  it('rejects every asynchronous file call and every program run the same way', async () => {
    const rejection = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    refusal(await rejection(browserPlatform.filesAsync.open('/w/x', 'wx')), 'open', '/w/x');
    refusal(await rejection(browserPlatform.filesAsync.readdir('/cache')), 'readdir', '/cache');
    const run = await rejection(browserPlatform.execFile('npm', ['pack', 'x'], { maxBuffer: 1 }));
    expect(run).toMatchObject({ code: 'PLATFORM_UNSUPPORTED' });
    expect((run as Error).message).toMatch(/"npm" needs Node.*tf\.loadLayersModel/);
  });

  it('knows no free memory, home, environment or process; random bytes come from Web Crypto', () => {
    expect(browserPlatform.freeMemory()).toBeUndefined();
    expect(browserPlatform.homeDir()).toBeUndefined();
    expect(browserPlatform.env('MEMHOOKS_CACHE')).toBeUndefined();
    expect(browserPlatform.removeProcessListeners('uncaughtException', () => true)).toBe(0);
    const a = browserPlatform.randomHex(6);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(browserPlatform.randomHex(6)).not.toBe(a);
  });

  it('with it registered, defaultMaxMemory counts the unknown host memory as unlimited (the documented fallback)', () => {
    setPlatform(browserPlatform);
    expect(defaultMaxMemory().host).toEqual({ bytes: Number.POSITIVE_INFINITY, source: 'free host memory' });
    setPlatform(nodePlatform);
    expect(defaultMaxMemory().host.bytes).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  for (const backend of BACKENDS) {
    it(`on ${backend}, with it registered, group offloading to disk refuses with the reason first and leaves the model unchanged`, async () => {
      await useBackend(backend);
      const model = withParameterInit({ seed: 3 }, () => new Sequential([new Linear(4, 8), new Linear(8, 2)]));
      const x = tf.ones([2, 4]);
      const before = model.forward(x) as tf.Tensor;
      setPlatform(browserPlatform);
      const error = thrown(() => applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: '/offload' }));
      expect(error).toMatchObject({ code: 'STRATEGY_APPLY_FAILED' });
      expect((error as Error).message.split('\n')[0]).toMatch(/no file system in a page for mkdirSync\("\/offload"\).*no Origin Private File System.*host tier/);
      expect(hookNames(model)).toEqual([]);
      // The host tier needs no files: it works with the browser platform, with the same outputs.
      const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
      const after = model.forward(x) as tf.Tensor;
      handle.remove();
      expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
      tf.dispose([x, before, after]);
    });
  }
});

describe('the transfer worker through the seam', () => {
  it("binds the registered platform's host: Node's port and files, or a page's self with no files", () => {
    expect(transferWorkerSource()).toContain("require('node:worker_threads')");
    setPlatform(browserPlatform);
    const page = transferWorkerSource();
    expect(page).toContain('self.onmessage');
    expect(page).not.toMatch(/require\(|node:/);
  });

  it('starts a Web Worker from a Blob URL of the program in a page, and refuses where there are no Web Workers', () => {
    const started: { url: string; name?: string; posted: unknown[]; terminated: boolean }[] = [];
    class FakeWorker {
      onerror: ((e: unknown) => void) | null = null;
      readonly record: (typeof started)[number];
      constructor(url: string, options?: { name?: string }) {
        this.record = { url, name: options?.name, posted: [], terminated: false };
        started.push(this.record);
      }
      postMessage(m: unknown) {
        this.record.posted.push(m);
      }
      terminate() {
        this.record.terminated = true;
      }
    }
    const gone = vi.fn();
    expect(thrown(() => browserPlatform.worker.start('x', 'memhooks-transfer', gone))).toMatchObject({ code: 'PLATFORM_UNSUPPORTED' });
    vi.stubGlobal('Worker', FakeWorker);
    try {
      const port = browserPlatform.worker.start(transferWorkerSource(undefined, browserPlatform.worker.hostBinding), 'memhooks-transfer', gone);
      port.postMessage({ op: 'forget', id: 1 });
      port.terminate();
      expect(started).toEqual([{ url: expect.stringMatching(/^blob:/), name: 'memhooks-transfer', posted: [{ op: 'forget', id: 1 }], terminated: true }]);
      expect(gone).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('the browser entries', () => {
  it('register the browser platform and export the same names as the lists they re-export', async () => {
    const pairs: [object, object][] = [
      [await import('../../src/browser.js'), await import('../../src/index.js')],
      [await import('../../src/browser-plugin.js'), await import('../../src/plugin.js')],
      [await import('../../src/browser-zoo.js'), await import('../../src/zoo.js')],
    ];
    for (const [browser, list] of pairs) expect(Object.keys(browser).sort()).toEqual(Object.keys(list).sort());
    expect(transferWorkerSource()).toContain('self.onmessage');
  });
});

describe('the seam without a platform', () => {
  it('says which entry to import when a module runs before any platform is registered', async () => {
    vi.resetModules();
    const fresh = await import('../../src/base/platform/Platform.js');
    const error = thrown(() => fresh.platform());
    expect(error).toMatchObject({ code: 'PLATFORM_UNSUPPORTED' });
    expect((error as Error).message).toMatch(/Import 'memhooks'/);
  });
});
