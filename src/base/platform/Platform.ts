/**
 * The platform seam: everything memhooks needs from its host (files, paths, sha256 and random bytes, free
 * memory, the process, the transfer worker) behind one interface, so that the library's import graph holds
 * no Node built-in. `node.ts` implements it with Node's modules (the only library file outside src/cli/ that
 * imports `node:*`); `browser.ts` implements it for a page, where files are the Origin Private File System (opfs/).
 * The entry files register one (src/index.ts the Node one, src/browser.ts the browser one) before any other
 * module runs; code reads the registered one at call time through the small modules beside this one
 * (fs.ts, fsPromises.ts, path.ts, system.ts), which mirror the names of Node's modules they replace.
 */
import { ERROR_CODES, MemhooksError } from '../errors.js';

/** What memhooks reads of a file's status (a subset of Node's fs.Stats). */
export interface FileStats {
  size: number;
  mode: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** The synchronous file calls memhooks makes, with Node's signatures (node:fs satisfies it). */
export interface SyncFiles {
  openSync(path: string, flags: string): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fstatSync(fd: number): FileStats;
  fsyncSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
  closeSync(fd: number): void;
  existsSync(path: string): boolean;
  statSync(path: string): FileStats;
  lstatSync(path: string): FileStats;
  statfsSync(path: string): { bavail: number | bigint; bsize: number | bigint };
  accessSync(path: string, mode: number): void;
  readFileSync(path: string): Uint8Array;
  readFileSync(path: string, encoding: 'utf8'): string;
  readdirSync(path: string): string[];
  mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options?: { force?: boolean; recursive?: boolean }): void;
  rmdirSync(path: string): void;
  readonly constants: { readonly W_OK: number };
}

/** An open file of the asynchronous calls (a subset of Node's FileHandle). */
export interface FileHandle {
  chmod(mode: number): Promise<void>;
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  writeFile(data: string | Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The asynchronous file calls memhooks makes (node:fs/promises satisfies it). */
export interface AsyncFiles {
  open(path: string, flags: string): Promise<FileHandle>;
  stat(path: string): Promise<FileStats>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined>;
  mkdtemp(prefix: string): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options?: { force?: boolean; recursive?: boolean }): Promise<void>;
}

/** Path calls (node:path satisfies it; the browser's are POSIX, in pure code). */
export interface PathCalls {
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
}

/** An incremental sha256, as Node's createHash('sha256') gives. */
export interface Hash {
  update(data: string | Uint8Array): Hash;
  digest(encoding: 'hex'): string;
}

/** The browser's estimate of the origin's storage (navigator.storage.estimate()), where the disk tier is OPFS. */
export interface StorageUsage {
  /** Bytes the origin stores (OPFS files included). */
  usageBytes: number;
  /** Bytes the browser lets the origin store. */
  quotaBytes: number;
  /** When it was measured (Date.now()): the estimate is refreshed in the background, so it may be a second old or more. */
  measuredAt: number;
}

/** The transfer worker as its owner (runtime/transfer/TransferWorker.ts) drives it. */
export interface WorkerPort {
  /** Posts `message`, transferring the ArrayBuffers in `transfer` (they are detached here). */
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
}

/** How the host starts the transfer worker. */
export interface WorkerStarter {
  /**
   * Script text that declares `const host` for runTransferWorker (runtime/transfer/workerMain.ts): its message
   * port (`onMessage`, and `post` to reply with transfers), and, where the worker can read files, its files and sha256.
   */
  readonly hostBinding: string;
  /**
   * Whether a started worker boots while the thread that started it blocks (Node's worker threads do). A page's
   * nested Worker starts only once its parent's event loop runs: the model's thread must not block on it before.
   */
  readonly bootsWhileBlocked: boolean;
  /**
   * Starts a worker running `source` (classic script: the host binding, then the program). `onGone` is called
   * when the worker fails or exits; `onMessage` receives what the worker posts back (`host.post`). The worker never
   * keeps the process alive by itself.
   */
  start(source: string, name: string, onGone: () => void, onMessage?: (message: unknown) => void): WorkerPort;
}

export interface Platform {
  /** 'node' or 'browser', for messages and tests. */
  readonly name: string;
  readonly files: SyncFiles;
  readonly filesAsync: AsyncFiles;
  readonly path: PathCalls;
  createHash(algorithm: 'sha256'): Hash;
  /** `bytes` random bytes as lowercase hex. */
  randomHex(bytes: number): string;
  /** The host's free memory in bytes, or undefined where it cannot be known (a page). */
  freeMemory(): number | undefined;
  /** The user's home folder, or undefined where there is none. */
  homeDir(): string | undefined;
  /** The origin's storage estimate where files live in the browser's storage (a page's OPFS); undefined elsewhere. */
  storageEstimate?(): StorageUsage | undefined;
  /** Resolves when the synchronous file calls can run (a page's OPFS server has booted); absent where they always can. */
  filesReady?(): Promise<void>;
  /** An environment variable, or undefined (always in a page). */
  env(name: string): string | undefined;
  /** This process's id (0 where there is none). */
  readonly pid: number;
  /** Whether a process with this id runs (on this machine). */
  isProcessAlive(pid: number): boolean;
  /** Runs a program without a shell; rejects when it fails. */
  execFile(command: string, args: readonly string[], options: { maxBuffer: number }): Promise<{ stdout: string }>;
  /** Removes the process's listeners of `event` for which `test` is true; returns how many (0 where there is no process). */
  removeProcessListeners(event: 'uncaughtException' | 'unhandledRejection', test: (listener: Function) => boolean): number;
  readonly worker: WorkerStarter;
}

let current: Platform | undefined;

/** Registers the platform memhooks runs on (the entry files do this first; a later call replaces it). */
export function setPlatform(platform: Platform): void {
  current = platform;
}

/** The registered platform. */
export function platform(): Platform {
  if (current === undefined) {
    throw new MemhooksError(
      ERROR_CODES.PLATFORM_UNSUPPORTED,
      "memhooks has no platform registered: a module of memhooks was imported without its entry point. Import 'memhooks' " +
        "(or 'memhooks/plugin', 'memhooks/zoo'), which registers the Node or the browser platform, instead of a file inside the package.",
    );
  }
  return current;
}
