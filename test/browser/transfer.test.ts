// The transfer path in a page (#25): the transfer worker is a Web Worker built from the same program as Node's. On a
// page's main thread nothing blocks (Atomics.wait throws there): a staged group not ready in time is onloaded
// synchronously. Cross-origin isolated, staging is SharedArrayBuffer; not isolated, transferable ArrayBuffers by
// message. Inside a dedicated Worker of an isolated page the model blocks as in Node and gets full prefetch. The
// `isolated` browser instance (vitest.browser.config.ts) serves this file with COOP/COEP; the others without.
import { describe, expect, inject, it } from 'vitest';
import { runSmallModel, type SmallModelRun, type StorageDtype } from './transferModel.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Whether this browser instance's pages are served with COOP/COEP (cross-origin isolated). */
    isolated?: boolean;
  }
}

const ISOLATED = inject('isolated') === true;
const DTYPES: StorageDtype[] = ['bfloat16', 'float8_e4m3fn'];

/** What this file uses of a page's Worker (the DOM types are not in this project's lib). */
interface PageWorker {
  onmessage: ((event: { data: SmallModelRun }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}
const PageWorker = (globalThis as unknown as { Worker: new (url: URL, options: { type: 'module' }) => PageWorker }).Worker;

/** The run of transferModel.ts inside a dedicated Worker of this page (a module worker, served by vite). */
function runInWorker(storageDtype: StorageDtype): Promise<SmallModelRun> {
  const worker = new PageWorker(new URL('./transferWorker.ts', import.meta.url), { type: 'module' });
  return new Promise<SmallModelRun>((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`the model's Worker failed: ${event.message ?? 'no message'}`));
    worker.postMessage(storageDtype);
  }).finally(() => worker.terminate());
}

/** What every run must show: no error, bitwise outputs, never a wait, one transfer worker, stopped at remove(). */
function expectSound(run: SmallModelRun): void {
  expect(run.error).toBeUndefined();
  expect(run.crossOriginIsolated).toBe(ISOLATED);
  expect(run.bitwise.length).toBeGreaterThan(1);
  expect(run.bitwise.every(Boolean), JSON.stringify(run.bitwise)).toBe(true);
  expect(run.starts).toBe(1);
  expect(run.runningAfterRemove).toBe(false);
  expect(run.castGroups.length).toBe(4);
}

/**
 * Without shared memory a reply comes by message, so only while the thread is idle: at most the first cast group of a
 * call (staged when the previous call ended) comes decoded from the worker. Whether its reply beat the next call depends
 * on the machine's load (a busy CI machine once took over 100 ms): if not, that group is late (onloaded and decoded
 * here). No other group is ever staged or late; at least one call of the run must show the worker's decoding used.
 */
function expectMessageReplies(run: SmallModelRun): void {
  const first = run.castGroups[0];
  for (const [i, groups] of run.onWorker.entries()) {
    expect([...groups, ...run.late[i]!].length).toBeLessThanOrEqual(1);
    expect([[], [first]]).toContainEqual(groups);
    expect([[], [first]]).toContainEqual(run.late[i]);
  }
  expect(run.onWorker.filter((groups) => groups.length === 1).length).toBeGreaterThan(0);
}

describe(`the transfer worker in a page, ${ISOLATED ? 'cross-origin isolated (SharedArrayBuffer)' : 'not cross-origin isolated (transferable ArrayBuffers)'}`, () => {
  it('the page is as its browser instance serves it', () => {
    expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(ISOLATED);
    expect(typeof SharedArrayBuffer === 'function').toBe(ISOLATED);
  });

  it.each(DTYPES)("%s, leaf offloading with stream on the page's main thread: bitwise, never blocks, late groups onloaded synchronously", async (storageDtype) => {
    const run = await runSmallModel(storageDtype);
    expectSound(run);
    expect(run.thread).toEqual({ shared: ISOLATED, canBlock: false });
    expect(run.waits).toBe(0);
    // A group is decoded on the worker in time, or is late and decoded here by the casting hook: never both.
    for (const [i, late] of run.late.entries()) expect(late.filter((g) => run.onWorker[i]!.includes(g))).toEqual([]);
    if (ISOLATED) {
      // With shared memory the worker runs beside this thread: what is ready in time depends on timing (the slots of
      // late jobs stay taken until those finish), but the worker's decodings are used.
      expect(run.onWorker.flat().length).toBeGreaterThan(0);
    } else {
      // A reply by message arrives only while the page is idle: nothing is staged during a call; the first cast group,
      // staged when the previous call ended, comes decoded; the casting hook decodes the others here.
      expectMessageReplies(run);
    }
  });

  it.each(DTYPES)('%s, the same model inside a dedicated Worker: bitwise; with shared memory, full prefetch as in Node', async (storageDtype) => {
    const run = await runInWorker(storageDtype);
    expectSound(run);
    expect(run.thread).toEqual({ shared: ISOLATED, canBlock: ISOLATED });
    if (ISOLATED) {
      // Atomics.wait is allowed here: every prefetched group is used (waited for if need be), none is late, and
      // every cast group but the first of a call (nothing runs before it to prefetch it) is decoded on the worker.
      for (const [i, groups] of run.onWorker.entries()) {
        expect(groups).toEqual(run.castGroups.slice(1));
        expect(run.late[i]).toEqual([]);
      }
    } else {
      expectMessageReplies(run);
    }
  });
});
