
/**
 * The browser platform's files over the Origin Private File System. The asynchronous calls work on any thread
 * (asyncFiles.ts). The synchronous ones block on the OPFS server (a Web Worker that this module starts when it is
 * imported where they can work: a dedicated Worker of a cross-origin isolated page); everywhere else each of them is
 * refused with a PLATFORM_UNSUPPORTED error that says why and what to do.
 */
import { ERROR_CODES, MemhooksError } from '../../errors.js';
import { atomicsWaitAllowed } from '../atomics.js';
import type { AsyncFiles, StorageUsage, SyncFiles } from '../Platform.js';
import { createOpfsAsyncFiles } from './asyncFiles.js';
import { createOpfsClient } from './clientMain.js';
import { CLIENT_TIMEOUT_MS, OPFS_SERVER_SOURCE } from './serverSource.js';
import { MAILBOX, type OpfsStorage } from './types.js';

/** Bytes of the scratch area: reads and writes move in pieces of this size. */
const SCRATCH_BYTES = 8 * 1024 * 1024;

/** What to do instead of the disk tier where it cannot run. */
export const OPFS_INSTEAD =
  'Run the model in a dedicated Worker of a page served with Cross-Origin-Opener-Policy: same-origin and ' +
  'Cross-Origin-Embedder-Policy: require-corp (cross-origin isolated), where the disk tier runs on the Origin Private File System; ' +
  "or keep offloaded weights on the host tier (leave offloadToDiskPath / offloadFolder unset, and give a deviceMap only 'device' and 'host').";

interface PageWorker {
  postMessage(message: unknown): void;
  onerror: ((event: { message?: string }) => void) | null;
}
type PageWorkerConstructor = new (url: string, options?: { name?: string }) => PageWorker;

const storage = (globalThis as { navigator?: { storage?: Partial<OpfsStorage> } }).navigator?.storage;
const hasOpfs = typeof storage?.getDirectory === 'function';

const shared = typeof SharedArrayBuffer === 'function';
const canBlock = shared && atomicsWaitAllowed();

/** Why synchronous files cannot run on this thread, or undefined where they can. */
function whyNot(): string | undefined {
  if (!hasOpfs) return 'this browser has no Origin Private File System (navigator.storage.getDirectory)';
  if (!shared) {
    return 'this page is not cross-origin isolated, so it has no SharedArrayBuffer, which a synchronous file call needs to wait for the OPFS server';
  }
  if (!canBlock) {
    return "this is a page's main thread, which may not block (Atomics.wait), and memhooks' disk tier reads and writes files synchronously";
  }
  return undefined;
}

const refusal = whyNot();

/** The mailbox of this thread's client, once its server is started. */
let mailbox: SharedArrayBuffer | undefined;
let client: SyncFiles | undefined;
/** Why the OPFS server stopped, if it did. */
let serverError: string | undefined;

/**
 * Resolves when this thread's OPFS server serves its mailbox (at once where there is none: the calls refuse). The
 * server is a Web Worker, which boots only while this thread is idle; awaiting this lets it.
 */
export async function opfsReady(timeoutMs = 10_000): Promise<void> {
  if (mailbox === undefined) return;
  const ctl = new Int32Array(mailbox);
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(ctl, MAILBOX.READY) !== 1 && serverError === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Starts the OPFS server (a Web Worker; it boots once this thread is idle) and this thread's client. */
function start(): void {
  const Worker = (globalThis as { Worker?: PageWorkerConstructor }).Worker;
  if (refusal !== undefined || Worker === undefined) return;
  mailbox = new SharedArrayBuffer(MAILBOX.SCRATCH_AT + SCRATCH_BYTES);
  const url = URL.createObjectURL(new Blob([OPFS_SERVER_SOURCE], { type: 'text/javascript' }));
  const server = new Worker(url, { name: 'memhooks-opfs' });
  server.onerror = (event) => {
    serverError = event.message ?? 'the OPFS server failed';
  };
  server.postMessage({ mailbox });
  client = createOpfsClient(mailbox, MAILBOX, CLIENT_TIMEOUT_MS);
}
start();

/** The mailbox the page's transfer worker talks to the OPFS server through (undefined where there is no server). */
export function opfsMailbox(): SharedArrayBuffer | undefined {
  return mailbox;
}

function refused(call: string, path: string | undefined): MemhooksError {
  const what = path === undefined ? `${call}()` : `${call}("${path}")`;
  const why = refusal ?? 'this thread cannot start Web Workers (the OPFS server is one)';
  const reason = `there is no file system in a page for ${what} here: ${why}. ${OPFS_INSTEAD}`;
  const error = new MemhooksError(
    ERROR_CODES.PLATFORM_UNSUPPORTED,
    `No file system here: ${what} needs one. In a page, memhooks' files are the Origin Private File System, which offloading to ` +
      `disk, checkpoints and savePretrained use synchronously; but ${why}. ${OPFS_INSTEAD}`,
  );
  return Object.assign(error, { actionable: reason });
}

/** A client error that the user must act on, as a MemhooksError; file errors (ENOENT, EDQUOT...) stay as they are. */
function translate(error: unknown, call: string): unknown {
  if ((error as { code?: unknown }).code !== 'EOPFSNOTREADY') return error;
  if (serverError !== undefined) {
    return new MemhooksError(ERROR_CODES.PLATFORM_UNSUPPORTED, `${call}() cannot run: the OPFS server (a Web Worker) failed: ${serverError}`, { cause: error });
  }
  return new MemhooksError(
    ERROR_CODES.PLATFORM_UNSUPPORTED,
    `${call}() was called before the OPFS server started: it is a Web Worker, which boots only while the thread that imported ` +
      'memhooks is idle. Let that thread idle once between importing memhooks and its first disk call (any `await` of a timer or ' +
      'of I/O, e.g. `await new Promise((r) => setTimeout(r, 0))`).',
    { cause: error },
  );
}

function guarded(): SyncFiles {
  const wrap =
    <A extends unknown[], R>(call: string, f: (c: SyncFiles) => (...args: A) => R) =>
    (...args: A): R => {
      if (client === undefined) throw refused(call, typeof args[0] === 'string' ? args[0] : undefined);
      try {
        return f(client)(...args);
      } catch (error) {
        throw translate(error, call);
      }
    };
  return {
    openSync: wrap('openSync', (c) => c.openSync),
    readSync: wrap('readSync', (c) => c.readSync),
    writeSync: wrap('writeSync', (c) => c.writeSync),
    fstatSync: wrap('fstatSync', (c) => c.fstatSync),
    fsyncSync: wrap('fsyncSync', (c) => c.fsyncSync),
    fchmodSync: wrap('fchmodSync', (c) => c.fchmodSync),
    closeSync: wrap('closeSync', (c) => c.closeSync),
    // Where there are no files, nothing exists; asking is no error (the write that follows is refused).
    existsSync: (path) => (client === undefined ? false : wrap('existsSync', (c) => c.existsSync)(path)),
    statSync: wrap('statSync', (c) => c.statSync),
    lstatSync: wrap('lstatSync', (c) => c.lstatSync),
    statfsSync: wrap('statfsSync', (c) => (path: string) => {
      const s = c.statfsSync(path) as { bavail: number; bsize: number; usage?: number; quota?: number };
      if (s.usage !== undefined && s.quota !== undefined) estimate = { usageBytes: s.usage, quotaBytes: s.quota, measuredAt: Date.now() };
      return s;
    }),
    accessSync: wrap('accessSync', (c) => c.accessSync),
    readFileSync: wrap('readFileSync', (c) => c.readFileSync as (path: string, encoding?: 'utf8') => never),
    readdirSync: wrap('readdirSync', (c) => c.readdirSync),
    mkdirSync: wrap('mkdirSync', (c) => c.mkdirSync),
    renameSync: wrap('renameSync', (c) => c.renameSync),
    rmSync: wrap('rmSync', (c) => c.rmSync),
    rmdirSync: wrap('rmdirSync', (c) => c.rmdirSync),
    constants: { W_OK: 2 },
  };
}

export const opfsFiles: SyncFiles = guarded();

/** The asynchronous calls over OPFS, or undefined where the browser has none. */
export const opfsFilesAsync: AsyncFiles | undefined = hasOpfs ? createOpfsAsyncFiles(storage as OpfsStorage) : undefined;

/** The last storage estimate, refreshed in the background when older than a second. */
let estimate: StorageUsage | undefined;
let refreshing = false;

function refresh(): void {
  if (refreshing || typeof storage?.estimate !== 'function') return;
  refreshing = true;
  storage.estimate().then(
    ({ usage = 0, quota = 0 }) => {
      estimate = { usageBytes: usage, quotaBytes: quota, measuredAt: Date.now() };
      refreshing = false;
    },
    () => {
      refreshing = false;
    },
  );
}
refresh();

/** The origin's storage as last estimated (navigator.storage.estimate()); asking starts a refresh when it is stale. */
export function storageEstimate(): StorageUsage | undefined {
  if (estimate === undefined || Date.now() - estimate.measuredAt > 1000) refresh();
  return estimate;
}
