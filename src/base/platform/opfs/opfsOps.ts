import type { OpfsDirectoryHandle, OpfsErrorData, OpfsFileHandle, OpfsStat, OpfsStorage, OpfsSyncAccessHandle } from './types.js';

/** The operations on the Origin Private File System, as the OPFS server and the asynchronous files call them. */
export type OpfsOps = ReturnType<typeof createOpfsOps>;

/**
 * The file operations memhooks needs, over the Origin Private File System, with Node's semantics and error codes.
 * Paths are POSIX paths from the OPFS root ('/memhooks/offload'; a relative one resolves against '/').
 *
 * Closed (it reads only its argument and JavaScript built-ins): serverSource.ts serialises this very function into
 * the OPFS server's program, and asyncFiles.ts calls it directly. Files are opened with synchronous access handles
 * (dedicated Workers only), one per path shared by every fd on it, since a handle is exclusive.
 *
 * What Node's stat gives and OPFS lacks is emulated so that memhooks' identity checks hold: mtimeMs is the file's
 * lastModified (read whenever no handle is open; while one is, the time of the last write through it), ino a number
 * this instance assigns per file (kept across renames, as an inode), and ctimeMs the last time this instance saw
 * the file change: written or renamed by us, or found with another size or lastModified than we left it (a write
 * behind our back).
 */
export function createOpfsOps(storage: OpfsStorage) {
  interface Meta {
    ino: number;
    ctimeMs: number;
    mtimeMs: number;
    /** size and lastModified as last seen with no handle open. */
    seenSize: number;
    seenModified: number;
  }
  interface Open {
    file: OpfsFileHandle;
    handle: OpfsSyncAccessHandle;
    refs: number;
    dirty: boolean;
  }
  interface Fd {
    key: string;
    /** undefined for a directory opened for fsync. */
    open: Open | undefined;
    position: number;
    append: boolean;
  }

  const metas = new Map<string, Meta>();
  const opens = new Map<string, Open>();
  const fds = new Map<number, Fd>();
  let nextIno = 1;
  let nextFd = 3;
  let root: OpfsDirectoryHandle | undefined;

  const CODES: Record<string, string> = {
    NotFoundError: 'ENOENT',
    TypeMismatchError: 'ENOTDIR',
    InvalidModificationError: 'ENOTEMPTY',
    NoModificationAllowedError: 'EBUSY',
    QuotaExceededError: 'EDQUOT',
    NotAllowedError: 'EACCES',
  };

  function fail(code: string, call: string, path: string, message: string): never {
    const error = new Error(`${code}: ${message}, ${call} '${path}'`) as Error & OpfsErrorData;
    error.code = code;
    throw error;
  }

  /** An error of the platform (a DOMException), as a Node-style error with a code. */
  function rethrow(e: unknown, call: string, path: string): never {
    const code = (e as { code?: unknown } | undefined)?.code;
    if (e instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) throw e;
    const name = (e as { name?: string } | undefined)?.name ?? 'Error';
    const message = (e as { message?: string } | undefined)?.message ?? String(e);
    return fail(CODES[name] ?? 'EIO', call, path, `${name}: ${message}`);
  }

  function segments(path: string): string[] {
    const out: string[] = [];
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
    return out;
  }
  const keyOf = (parts: string[]): string => '/' + parts.join('/');

  async function rootDir(): Promise<OpfsDirectoryHandle> {
    return (root ??= await storage.getDirectory());
  }

  /** The directory at `parts`, created on the way if `create`; ENOENT / ENOTDIR otherwise. */
  async function directory(parts: string[], create: boolean, call: string, path: string): Promise<OpfsDirectoryHandle> {
    let dir = await rootDir();
    for (const part of parts) {
      try {
        dir = await dir.getDirectoryHandle(part, { create });
      } catch (e) {
        rethrow(e, call, path);
      }
    }
    return dir;
  }

  type Entry = { kind: 'file'; handle: OpfsFileHandle; parent: OpfsDirectoryHandle; name: string } | { kind: 'directory'; handle: OpfsDirectoryHandle; parent: OpfsDirectoryHandle | undefined; name: string };

  /** What is at `path`, or undefined when nothing is (a missing parent included). */
  async function lookup(path: string, call: string): Promise<Entry | undefined> {
    const parts = segments(path);
    if (parts.length === 0) return { kind: 'directory', handle: await rootDir(), parent: undefined, name: '' };
    const name = parts[parts.length - 1]!;
    let parent: OpfsDirectoryHandle;
    try {
      parent = await directory(parts.slice(0, -1), false, call, path);
    } catch (e) {
      if ((e as OpfsErrorData).code === 'ENOENT' || (e as OpfsErrorData).code === 'ENOTDIR') return undefined;
      throw e;
    }
    try {
      return { kind: 'file', handle: await parent.getFileHandle(name), parent, name };
    } catch (e) {
      if ((e as { name?: string }).name !== 'TypeMismatchError') {
        if ((e as { name?: string }).name === 'NotFoundError') return undefined;
        rethrow(e, call, path);
      }
    }
    return { kind: 'directory', handle: await parent.getDirectoryHandle(name), parent, name };
  }

  async function mustFind(path: string, call: string): Promise<Entry> {
    const entry = await lookup(path, call);
    return entry ?? fail('ENOENT', call, path, 'no such file or directory');
  }

  /** The file's status; a file found changed since we last saw it gets a new ctime. */
  async function fileStat(key: string, file: OpfsFileHandle): Promise<OpfsStat> {
    const open = opens.get(key);
    let meta = metas.get(key);
    if (open !== undefined && meta !== undefined) {
      return { kind: 'file', size: open.handle.getSize(), mtimeMs: meta.mtimeMs, ctimeMs: meta.ctimeMs, ino: meta.ino };
    }
    const f = await file.getFile();
    if (meta === undefined) {
      meta = { ino: nextIno++, ctimeMs: f.lastModified, mtimeMs: f.lastModified, seenSize: f.size, seenModified: f.lastModified };
      metas.set(key, meta);
    } else if (meta.seenSize !== f.size || meta.seenModified !== f.lastModified) {
      Object.assign(meta, { ctimeMs: Math.max(Date.now(), meta.ctimeMs + 1), mtimeMs: f.lastModified, seenSize: f.size, seenModified: f.lastModified });
    }
    return { kind: 'file', size: f.size, mtimeMs: meta.mtimeMs, ctimeMs: meta.ctimeMs, ino: meta.ino };
  }

  function fdOf(fd: number, call: string): Fd {
    return fds.get(fd) ?? fail('EBADF', call, String(fd), 'bad file descriptor');
  }

  async function stat(path: string): Promise<OpfsStat> {
    const entry = await mustFind(path, 'stat');
    if (entry.kind === 'directory') return { kind: 'directory', size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 };
    return fileStat(keyOf(segments(path)), entry.handle);
  }

  async function open(path: string, flags: string): Promise<number> {
    const key = keyOf(segments(path));
    const creates = /[wa]/.test(flags);
    const entry = await lookup(path, 'open');
    if (entry?.kind === 'directory') {
      if (creates || flags.includes('+')) fail('EISDIR', 'open', path, 'illegal operation on a directory');
      const fd = nextFd++;
      fds.set(fd, { key, open: undefined, position: 0, append: false });
      return fd;
    }
    if (entry !== undefined && flags.includes('x')) fail('EEXIST', 'open', path, 'file already exists');
    if (entry === undefined && !creates) fail('ENOENT', 'open', path, 'no such file or directory');
    let file: OpfsFileHandle;
    if (entry === undefined) {
      const parts = segments(path);
      const parent = await directory(parts.slice(0, -1), false, 'open', path);
      try {
        file = await parent.getFileHandle(parts[parts.length - 1]!, { create: true });
      } catch (e) {
        rethrow(e, 'open', path);
      }
      metas.delete(key);
    } else {
      file = entry.handle;
    }
    let o = opens.get(key);
    if (o === undefined) {
      // Seen before the handle opens (lastModified cannot be read while it is open).
      await fileStat(key, file);
      if (file.createSyncAccessHandle === undefined) fail('ENOSYS', 'open', path, 'synchronous access handles exist only in dedicated Workers');
      let handle: OpfsSyncAccessHandle;
      try {
        handle = await file.createSyncAccessHandle();
      } catch (e) {
        rethrow(e, 'open', path);
      }
      o = { file, handle, refs: 0, dirty: false };
      opens.set(key, o);
      if (entry === undefined) metas.get(key)!.ctimeMs = Date.now();
    }
    o.refs++;
    if (flags.startsWith('w') && o.handle.getSize() > 0) {
      o.handle.truncate(0);
      touch(key, o);
    }
    const fd = nextFd++;
    fds.set(fd, { key, open: o, position: 0, append: flags.startsWith('a') });
    return fd;
  }

  function touch(key: string, o: Open): void {
    o.dirty = true;
    const meta = metas.get(key)!;
    meta.mtimeMs = meta.ctimeMs = Math.max(Date.now(), meta.ctimeMs + 1);
  }

  /** Reads into `into` from `position` (the fd's position when null); returns the bytes read (0 at the end). */
  function read(fd: number, into: Uint8Array, position: number | null): number {
    const f = fdOf(fd, 'read');
    if (f.open === undefined) fail('EISDIR', 'read', f.key, 'illegal operation on a directory');
    const at = position ?? f.position;
    let n: number;
    try {
      n = f.open.handle.read(into, { at });
    } catch {
      // A handle that refuses a view of shared memory: through a private buffer.
      const own = new Uint8Array(into.length);
      n = f.open.handle.read(own, { at });
      into.set(own.subarray(0, n));
    }
    if (position === null) f.position += n;
    return n;
  }

  /** Writes `bytes` at the fd's position (the end when appending); returns the bytes written. */
  function write(fd: number, bytes: Uint8Array): number {
    const f = fdOf(fd, 'write');
    if (f.open === undefined) fail('EISDIR', 'write', f.key, 'illegal operation on a directory');
    const at = f.append ? f.open.handle.getSize() : f.position;
    let n: number;
    try {
      try {
        n = f.open.handle.write(bytes, { at });
      } catch (e) {
        if ((e as { name?: string }).name !== 'TypeError') throw e;
        n = f.open.handle.write(bytes.slice(), { at });
      }
    } catch (e) {
      rethrow(e, 'write', f.key);
    }
    // A synchronous handle writes everything, or past the origin's quota only part: Chromium then returns its error
    // code (-8, no space) read as an unsigned count (4294967288), which Node's contract would take as a success.
    if (n !== bytes.length) {
      touch(f.key, f.open);
      fail('EDQUOT', 'write', f.key, `QuotaExceededError: the origin's storage quota did not hold a write of ${bytes.length} bytes`);
    }
    f.position = at + n;
    touch(f.key, f.open);
    return n;
  }

  async function fstat(fd: number): Promise<OpfsStat> {
    const f = fdOf(fd, 'fstat');
    if (f.open === undefined) return { kind: 'directory', size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 };
    return fileStat(f.key, f.open.file);
  }

  function flush(fd: number): void {
    const f = fdOf(fd, 'fsync');
    try {
      f.open?.handle.flush();
    } catch (e) {
      rethrow(e, 'fsync', f.key);
    }
  }

  /** Closes the fd; the last one on a path closes its handle and records what the file now is. */
  async function close(fd: number): Promise<void> {
    const f = fdOf(fd, 'close');
    fds.delete(fd);
    const o = f.open;
    if (o === undefined || --o.refs > 0) return;
    opens.delete(f.key);
    o.handle.close();
    const meta = metas.get(f.key);
    if (meta === undefined) return;
    const now = await o.file.getFile();
    // What we leave is what the next stat compares with; our own writes are not a change behind our back.
    Object.assign(meta, { mtimeMs: now.lastModified, seenSize: now.size, seenModified: now.lastModified });
  }

  async function exists(path: string): Promise<boolean> {
    return (await lookup(path, 'exists')) !== undefined;
  }

  async function mkdir(path: string, recursive: boolean): Promise<string | undefined> {
    const parts = segments(path);
    const entry = await lookup(path, 'mkdir');
    if (entry !== undefined) {
      if (recursive && entry.kind === 'directory') return undefined;
      fail('EEXIST', 'mkdir', path, 'file already exists');
    }
    let first: string | undefined;
    for (let i = 1; i <= parts.length; i++) {
      const at = parts.slice(0, i);
      if (first === undefined && (await lookup(keyOf(at), 'mkdir')) === undefined) {
        if (!recursive && i < parts.length) fail('ENOENT', 'mkdir', path, 'no such file or directory');
        first = keyOf(at);
      }
    }
    await directory(parts, true, 'mkdir', path);
    return recursive ? first : undefined;
  }

  async function readdir(path: string): Promise<string[]> {
    const entry = await mustFind(path, 'scandir');
    if (entry.kind !== 'directory') fail('ENOTDIR', 'scandir', path, 'not a directory');
    const names: string[] = [];
    for await (const name of entry.handle.keys()) names.push(name);
    return names.sort();
  }

  function forget(key: string): void {
    for (const k of [...metas.keys()]) if (k === key || k.startsWith(key + '/')) metas.delete(k);
  }

  async function rm(path: string, force: boolean, recursive: boolean): Promise<void> {
    const entry = await lookup(path, 'rm');
    if (entry === undefined) {
      if (force) return;
      fail('ENOENT', 'rm', path, 'no such file or directory');
    }
    if (entry.parent === undefined) fail('EPERM', 'rm', path, 'the OPFS root cannot be removed');
    if (entry.kind === 'directory' && !recursive) fail('EISDIR', 'rm', path, 'is a directory (pass recursive: true)');
    try {
      await entry.parent.removeEntry(entry.name, { recursive });
    } catch (e) {
      rethrow(e, 'rm', path);
    }
    forget(keyOf(segments(path)));
  }

  async function rmdir(path: string): Promise<void> {
    const entry = await mustFind(path, 'rmdir');
    if (entry.kind !== 'directory') fail('ENOTDIR', 'rmdir', path, 'not a directory');
    if (entry.parent === undefined) fail('EPERM', 'rmdir', path, 'the OPFS root cannot be removed');
    try {
      await entry.parent.removeEntry(entry.name);
    } catch (e) {
      rethrow(e, 'rmdir', path);
    }
    forget(keyOf(segments(path)));
  }

  /** Renames a file (over an existing one, as POSIX rename does): FileSystemFileHandle.move. */
  async function rename(from: string, to: string): Promise<void> {
    const source = await mustFind(from, 'rename');
    if (source.kind !== 'file' || source.handle.move === undefined) fail('ENOSYS', 'rename', from, 'only files can be renamed in OPFS');
    const parts = segments(to);
    const target = await directory(parts.slice(0, -1), false, 'rename', to);
    const name = parts[parts.length - 1]!;
    try {
      await source.handle.move(target, name);
    } catch (e) {
      // A browser whose move() will not replace an existing file: remove it, then move.
      if ((await lookup(to, 'rename'))?.kind !== 'file') rethrow(e, 'rename', from);
      await target.removeEntry(name);
      await source.handle.move(target, name).catch((again: unknown) => rethrow(again, 'rename', from));
    }
    const fromKey = keyOf(segments(from));
    const toKey = keyOf(parts);
    const meta = metas.get(fromKey);
    metas.delete(fromKey);
    metas.delete(toKey);
    if (meta !== undefined) metas.set(toKey, { ...meta, ctimeMs: Math.max(Date.now(), meta.ctimeMs + 1) });
  }

  /** The origin's free storage as statfs gives it: quota − usage bytes of 1 byte (navigator.storage.estimate()). */
  async function statfs(): Promise<{ bavail: number; bsize: number; usage: number; quota: number }> {
    const { usage = 0, quota = 0 } = await storage.estimate();
    return { bavail: Math.max(0, quota - usage), bsize: 1, usage, quota };
  }

  return { stat, open, read, write, fstat, flush, close, exists, mkdir, readdir, rm, rmdir, rename, statfs, lookup, rethrow };
}
