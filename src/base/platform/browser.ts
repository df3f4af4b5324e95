/**
 * The browser platform: the seam of Platform.ts in a page or a Web Worker, with no Node built-in. Paths are
 * POSIX in pure code, sha256 is pure code (synchronous, as the offload file names need it), random bytes come
 * from Web Crypto. Files are the Origin Private File System (opfs/): asynchronous calls on any thread,
 * synchronous ones in a dedicated Worker of a cross-origin isolated page (they block on the OPFS server), and
 * refused elsewhere with a PLATFORM_UNSUPPORTED error that says why and what to do. Free memory, the home
 * folder and the environment are unknown; programs cannot run. The transfer worker is a Web Worker started
 * from a Blob URL of the same program the Node worker runs; it reads group files through the same OPFS server.
 */
import { ERROR_CODES, MemhooksError } from '../errors.js';
import type { AsyncFiles, Platform, WorkerStarter } from './Platform.js';
import { OPFS_INSTEAD, opfsFiles, opfsFilesAsync, opfsMailbox, opfsReady, storageEstimate } from './opfs/opfsFiles.js';
import { OPFS_CLIENT_EXPRESSION } from './opfs/serverSource.js';
import * as posix from './posixPath.js';
import { createSha256 } from './sha256.js';

/** A browser without the Origin Private File System: every asynchronous file call is refused. */
function noFiles(call: string, path?: string): MemhooksError {
  const what = path === undefined ? `${call}()` : `${call}("${path}")`;
  const reason = `this browser has no Origin Private File System (memhooks' browser build was asked for ${what}). ${OPFS_INSTEAD}`;
  const error = new MemhooksError(
    ERROR_CODES.PLATFORM_UNSUPPORTED,
    `No file system: ${what} needs one, and this browser has no Origin Private File System (navigator.storage.getDirectory). ${OPFS_INSTEAD}`,
  );
  return Object.assign(error, { actionable: reason });
}

const refuseAsync =
  (call: string) =>
  (path?: unknown): Promise<never> =>
    Promise.reject(noFiles(call, typeof path === 'string' ? path : undefined));

const filesAsync: AsyncFiles = opfsFilesAsync ?? {
  open: refuseAsync('open'),
  stat: refuseAsync('stat'),
  readFile: refuseAsync('readFile'),
  writeFile: refuseAsync('writeFile'),
  readdir: refuseAsync('readdir'),
  mkdir: refuseAsync('mkdir'),
  mkdtemp: refuseAsync('mkdtemp'),
  rename: refuseAsync('rename'),
  rm: refuseAsync('rm'),
};

/** What memhooks uses of a Web Worker (the DOM types are not in this project's lib). */
interface PageWorker {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}
type PageWorkerConstructor = new (url: string, options?: { name?: string }) => PageWorker;

/**
 * The worker's host in a page: `self`'s messages, and files once the model's thread sends the mailbox of its OPFS
 * server (the first message, where there is one): the synchronous OPFS calls over it, which this worker may make,
 * being a dedicated Worker. Without it read jobs fail (runTransferWorker says so).
 */
const PAGE_HOST_BINDING = `const host = {
  onMessage: (handler) => {
    self.onmessage = (event) => {
      const m = event.data;
      if (m && m.op === 'opfs-mailbox') { host.files = ${OPFS_CLIENT_EXPRESSION}(m.mailbox); return; }
      handler(m);
    };
  },
  post: (reply, transfer) => self.postMessage(reply, transfer),
};`;

const pageWorker: WorkerStarter = {
  hostBinding: PAGE_HOST_BINDING,
  // A Worker's nested Worker starts only once its parent is idle: a forward must not block on it before (boot.ts).
  bootsWhileBlocked: false,
  start(source, name, onGone, onMessage) {
    const Worker = (globalThis as { Worker?: PageWorkerConstructor }).Worker;
    if (Worker === undefined) {
      throw new MemhooksError(
        ERROR_CODES.PLATFORM_UNSUPPORTED,
        `The transfer worker "${name}" needs Web Workers, which this context does not have. Run memhooks in a page or a dedicated Worker, or use strategies without a stream.`,
      );
    }
    // A Blob URL of the program text: no file to ship or to locate beside the bundle.
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const w = new Worker(url, { name });
    w.onerror = () => onGone();
    if (onMessage !== undefined) w.onmessage = (event) => onMessage(event.data);
    // Before any job: the mailbox of this thread's OPFS server, so that read jobs read group files through it.
    const mailbox = opfsMailbox();
    if (mailbox !== undefined) w.postMessage({ op: 'opfs-mailbox', mailbox });
    return {
      postMessage: (message, transfer) => w.postMessage(message, transfer ?? []),
      terminate: () => {
        w.terminate();
        URL.revokeObjectURL(url);
      },
    };
  },
};

export const browserPlatform: Platform = {
  name: 'browser',
  files: opfsFiles,
  filesAsync,
  path: posix,
  createHash: () => createSha256(),
  randomHex(bytes) {
    const values = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
    return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('');
  },
  freeMemory: () => undefined,
  homeDir: () => undefined,
  storageEstimate,
  filesReady: () => opfsReady(),
  env: () => undefined,
  pid: 0,
  isProcessAlive: (pid) => pid === 0,
  execFile: (command) =>
    Promise.reject(
      new MemhooksError(
        ERROR_CODES.PLATFORM_UNSUPPORTED,
        `Running "${command}" needs Node: a page cannot start programs (fetchPretrained downloads with npm and tar). In a page, ` +
          'load the model with tfjs (tf.loadLayersModel / tf.loadGraphModel from a URL) and wrap it with wrapLayersModel / wrapGraphModel.',
      ),
    ),
  removeProcessListeners: () => 0,
  worker: pageWorker,
};
