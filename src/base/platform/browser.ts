/**
 * The browser platform: the seam of Platform.ts in a page or a Web Worker, with no Node built-in. Paths are
 * POSIX in pure code, sha256 is pure code (synchronous, as the offload file names need it), random bytes come
 * from Web Crypto. A page gives memhooks no file system: every file call is refused with a
 * PLATFORM_UNSUPPORTED error that names the call and the path and says what to use instead; free memory, the
 * home folder and the environment are unknown; programs cannot run. The transfer worker is a Web Worker
 * started from a Blob URL of the same program the Node worker runs.
 */
import { ERROR_CODES, MemhooksError } from '../errors.js';
import type { AsyncFiles, Platform, SyncFiles, WorkerStarter } from './Platform.js';
import * as posix from './posixPath.js';
import { createSha256 } from './sha256.js';

/** Where the disk tier stands in a page (OPFS, issue #27, will change this sentence). */
const INSTEAD =
  'In a page, keep offloaded weights on the host tier (leave offloadToDiskPath / offloadFolder unset, and give a deviceMap ' +
  "only 'device' and 'host'); the browser disk tier (OPFS) is not available yet.";

/**
 * The refusal of a file call. It carries `actionable` (as base/actionable.ts' markActionable sets it), so a
 * strategy whose apply fails on it leads its message with this reason.
 */
function noFiles(call: string, path?: string): MemhooksError {
  const what = path === undefined ? `${call}()` : `${call}("${path}")`;
  const reason = `there is no file system in a page (memhooks' browser build was asked for ${what}). ${INSTEAD}`;
  const error = new MemhooksError(
    ERROR_CODES.PLATFORM_UNSUPPORTED,
    `No file system: ${what} needs one, and memhooks' browser build has none. Offloading to disk, checkpoints, ` +
      `fromPretrained / savePretrained folders and fetchPretrained need Node. ${INSTEAD}`,
  );
  return Object.assign(error, { actionable: reason });
}

/** A call that refuses (every file call of a page). */
const refuse =
  (call: string) =>
  (path?: unknown): never => {
    throw noFiles(call, typeof path === 'string' ? path : undefined);
  };
const refuseAsync =
  (call: string) =>
  (path?: unknown): Promise<never> =>
    Promise.reject(noFiles(call, typeof path === 'string' ? path : undefined));

const files: SyncFiles = {
  openSync: refuse('openSync'),
  readSync: refuse('readSync'),
  writeSync: refuse('writeSync'),
  fstatSync: refuse('fstatSync'),
  fsyncSync: refuse('fsyncSync'),
  fchmodSync: refuse('fchmodSync'),
  closeSync: refuse('closeSync'),
  // Nothing exists where there are no files; asking is no error.
  existsSync: () => false,
  statSync: refuse('statSync'),
  lstatSync: refuse('lstatSync'),
  statfsSync: refuse('statfsSync'),
  accessSync: refuse('accessSync'),
  readFileSync: refuse('readFileSync'),
  readdirSync: refuse('readdirSync'),
  mkdirSync: refuse('mkdirSync'),
  renameSync: refuse('renameSync'),
  rmSync: refuse('rmSync'),
  rmdirSync: refuse('rmdirSync'),
  constants: { W_OK: 2 },
};

const filesAsync: AsyncFiles = {
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

/** The worker's host in a page: `self`'s messages; no files, so read jobs fail there (runTransferWorker says so). */
const PAGE_HOST_BINDING = `const host = {
  onMessage: (handler) => { self.onmessage = (event) => handler(event.data); },
  post: (reply, transfer) => self.postMessage(reply, transfer),
};`;

const pageWorker: WorkerStarter = {
  hostBinding: PAGE_HOST_BINDING,
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
  files,
  filesAsync,
  path: posix,
  createHash: () => createSha256(),
  randomHex(bytes) {
    const values = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
    return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('');
  },
  freeMemory: () => undefined,
  homeDir: () => undefined,
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
