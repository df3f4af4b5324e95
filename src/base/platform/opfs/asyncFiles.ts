import type { AsyncFiles, FileHandle, FileStats } from '../Platform.js';
import { createOpfsOps, type OpfsOps } from './opfsOps.js';
import type { OpfsStat, OpfsStorage, OpfsWritable } from './types.js';

export function statsOf(s: OpfsStat): FileStats {
  const mode = s.kind === 'directory' ? 0o40755 : 0o100644;
  return { size: s.size, mode, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, isFile: () => s.kind === 'file', isDirectory: () => s.kind === 'directory' };
}

/** A handle of a directory, or of a file opened to read: memhooks only syncs and closes those (atomicWrite). */
const idleHandle = (path: string, ops: OpfsOps): FileHandle => ({
  chmod: () => Promise.resolve(),
  write: () => Promise.reject(ops.rethrow(Object.assign(new Error('opened for reading'), { code: 'EBADF' }), 'write', path)),
  writeFile: () => Promise.reject(ops.rethrow(Object.assign(new Error('opened for reading'), { code: 'EBADF' }), 'write', path)),
  sync: () => Promise.resolve(),
  close: () => Promise.resolve(),
});

/**
 * A file opened to write, over a writable stream: the browser writes to a swap file and replaces the file's content
 * at close, so a reader never sees a part (an aborted write leaves the file as it was). sync() has nothing to do
 * before that commit.
 */
function writingHandle(path: string, writable: OpfsWritable, ops: OpfsOps): FileHandle {
  const guard = <T>(call: string, p: Promise<T>): Promise<T> => p.catch((e: unknown) => ops.rethrow(e, call, path));
  return {
    chmod: () => Promise.resolve(),
    // A copy: the caller may reuse its buffer, and a stream's write may not take shared memory.
    write: (buffer, offset, length) => guard('write', writable.write(buffer.slice(offset, offset + length))).then(() => ({ bytesWritten: length })),
    writeFile: (data) => guard('write', writable.write(typeof data === 'string' ? new TextEncoder().encode(data) : data.slice())),
    sync: () => Promise.resolve(),
    close: () => guard('close', writable.close()),
  };
}

/**
 * The asynchronous file calls over OPFS, straight from the calling thread (any thread: a page's main thread too),
 * with Node's semantics and error codes. They share no state with the OPFS server: a file the server holds open
 * (an fd of the synchronous calls) cannot be written here at the same time.
 */
export function createOpfsAsyncFiles(storage: OpfsStorage): AsyncFiles {
  let made: OpfsOps | undefined;
  const ops = (): OpfsOps => (made ??= createOpfsOps(storage));

  async function openWritable(path: string, flags: string): Promise<FileHandle> {
    const o = ops();
    const entry = await o.lookup(path, 'open');
    if (entry?.kind === 'directory') o.rethrow(Object.assign(new Error('illegal operation on a directory'), { code: 'EISDIR' }), 'open', path);
    if (entry !== undefined && flags.includes('x')) o.rethrow(Object.assign(new Error('file already exists'), { code: 'EEXIST' }), 'open', path);
    // Created empty now, as Node's open does, so that the name is taken.
    if (entry === undefined) await createEmpty(path);
    const found = await o.lookup(path, 'open');
    if (found?.kind !== 'file') return o.rethrow(Object.assign(new Error('no such file or directory'), { code: 'ENOENT' }), 'open', path);
    const writable = await found.handle.createWritable({ keepExistingData: flags.startsWith('a') }).catch((e: unknown) => o.rethrow(e, 'open', path));
    return writingHandle(path, writable, o);
  }

  /** Creates an empty file in an existing folder. */
  async function createEmpty(path: string): Promise<void> {
    const o = ops();
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    const name = parts.pop()!;
    const parent = await o.lookup('/' + parts.join('/'), 'open');
    if (parent?.kind !== 'directory') return o.rethrow(Object.assign(new Error('no such file or directory'), { code: 'ENOENT' }), 'open', path);
    await parent.handle.getFileHandle(name, { create: true }).catch((e: unknown) => o.rethrow(e, 'open', path));
  }

  return {
    async open(path, flags) {
      if (/[wa+]/.test(flags)) return openWritable(path, flags);
      await ops().stat(path);
      return idleHandle(path, ops());
    },
    stat: async (path) => statsOf(await ops().stat(path)),
    async readFile(path) {
      const entry = await ops().lookup(path, 'open');
      if (entry?.kind !== 'file') return ops().rethrow(Object.assign(new Error(entry === undefined ? 'no such file or directory' : 'illegal operation on a directory'), { code: entry === undefined ? 'ENOENT' : 'EISDIR' }), 'open', path);
      const file = await entry.handle.getFile().catch((e: unknown) => ops().rethrow(e, 'read', path));
      return new TextDecoder().decode(await file.arrayBuffer());
    },
    async writeFile(path, data) {
      const handle = await openWritable(path, 'w');
      await handle.writeFile(data);
      await handle.close();
    },
    readdir: (path) => ops().readdir(path),
    mkdir: (path, options) => ops().mkdir(path, options?.recursive === true),
    async mkdtemp(prefix) {
      const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
      for (;;) {
        const path = prefix + Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) => letters[b % letters.length]).join('');
        if (!(await ops().exists(path))) return (await ops().mkdir(path, false), path);
      }
    },
    rename: (from, to) => ops().rename(from, to),
    rm: (path, options) => ops().rm(path, options?.force === true, options?.recursive === true),
  };
}
