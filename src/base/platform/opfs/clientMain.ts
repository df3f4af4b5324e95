import type { FileStats, SyncFiles } from '../Platform.js';
import type { MailboxLayout, OpfsStat } from './types.js';

/**
 * Synchronous file calls with Node's signatures and error codes, served by the OPFS server (serverMain.ts) through
 * `mailbox`: each call takes the mailbox's lock, writes its request, and blocks with Atomics.wait until the server
 * replies, so it runs only where Atomics.wait may block (a dedicated Worker; opfsFiles.ts refuses elsewhere). The
 * bytes of reads and writes go through the mailbox's scratch area, in pieces of its size.
 *
 * Closed: the model's thread calls it directly, and the page's transfer worker runs its serialised text
 * (browser.ts' host binding), over the same mailbox; the lock keeps their requests apart.
 */
export function createOpfsClient(mailbox: SharedArrayBuffer, layout: MailboxLayout, timeoutMs: number): SyncFiles {
  const ctl = new Int32Array(mailbox);
  const bytes = new Uint8Array(mailbox);
  const scratch = new Uint8Array(mailbox, layout.SCRATCH_AT);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  function error(code: string, message: string, extra?: Record<string, unknown>): Error {
    return Object.assign(new Error(message), { code }, extra);
  }

  /**
   * Sends one request and returns the server's result. `before` and `after` run under the lock, where the scratch
   * area is this call's: the bytes of a write are copied in before the request, those of a read out after the reply.
   */
  function call(op: string, args: unknown[], path?: string, before?: () => void, after?: (result: unknown) => void): unknown {
    if (Atomics.load(ctl, layout.READY) !== 1) {
      throw error('EOPFSNOTREADY', 'the OPFS server has not started yet: it boots while the thread that imported memhooks is idle');
    }
    while (Atomics.compareExchange(ctl, layout.LOCK, 0, 1) !== 0) Atomics.wait(ctl, layout.LOCK, 1, 50);
    try {
      const text = encoder.encode(JSON.stringify({ op, args }));
      if (text.length > layout.TEXT_MAX) throw error('ENAMETOOLONG', op + ': the request does not fit the mailbox');
      before?.();
      bytes.set(text, layout.TEXT_AT);
      Atomics.store(ctl, layout.REQUEST_LENGTH, text.length);
      Atomics.store(ctl, layout.STATE, layout.REQUEST);
      Atomics.notify(ctl, layout.STATE);
      const deadline = Date.now() + timeoutMs;
      while (Atomics.load(ctl, layout.STATE) === layout.REQUEST) {
        if (Atomics.wait(ctl, layout.STATE, layout.REQUEST, Math.max(1, deadline - Date.now())) === 'timed-out' && Date.now() >= deadline) {
          throw error('ETIMEDOUT', `the OPFS server did not answer ${op}${path === undefined ? '' : `('${path}')`} within ${timeoutMs} ms`);
        }
      }
      const length = Atomics.load(ctl, layout.REPLY_LENGTH);
      const reply = JSON.parse(decoder.decode(bytes.slice(layout.TEXT_AT, layout.TEXT_AT + length))) as {
        ok?: unknown;
        error?: { code: string; message: string; quota?: number; usage?: number };
      };
      Atomics.store(ctl, layout.STATE, layout.IDLE);
      if (reply.error !== undefined) {
        const { code, message, ...rest } = reply.error;
        throw error(code, message, { ...rest, syscall: op, ...(path === undefined ? {} : { path }) });
      }
      after?.(reply.ok);
      return reply.ok;
    } finally {
      Atomics.store(ctl, layout.LOCK, 0);
      Atomics.notify(ctl, layout.LOCK, 1);
    }
  }

  function stats(s: OpfsStat): FileStats {
    const mode = s.kind === 'directory' ? 0o40755 : 0o100644;
    return { size: s.size, mode, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, isFile: () => s.kind === 'file', isDirectory: () => s.kind === 'directory' };
  }

  function readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    let done = 0;
    while (done < length) {
      const piece = Math.min(length - done, scratch.length);
      const at = offset + done;
      const n = call('read', [fd, piece, position === null ? null : position + done], undefined, undefined, (got) => {
        buffer.set(scratch.subarray(0, got as number), at);
      }) as number;
      done += n;
      if (n < piece) break;
    }
    return done;
  }

  function writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number {
    let done = 0;
    while (done < length) {
      const piece = Math.min(length - done, scratch.length);
      const from = buffer.subarray(offset + done, offset + done + piece);
      const n = call('write', [fd, piece], undefined, () => scratch.set(from)) as number;
      done += n;
      if (n < piece) break;
    }
    return done;
  }

  function readFileSync(path: string): Uint8Array;
  function readFileSync(path: string, encoding: 'utf8'): string;
  function readFileSync(path: string, encoding?: 'utf8'): Uint8Array | string {
    const fd = call('open', [path, 'r'], path) as number;
    try {
      const size = (call('fstat', [fd], path) as OpfsStat).size;
      const out = new Uint8Array(size);
      const n = readSync(fd, out, 0, size, 0);
      const data = out.subarray(0, n);
      return encoding === 'utf8' ? decoder.decode(data) : data;
    } finally {
      call('close', [fd], path);
    }
  }

  return {
    openSync: (path, flags) => call('open', [path, flags], path) as number,
    readSync,
    writeSync,
    fstatSync: (fd) => stats(call('fstat', [fd]) as OpfsStat),
    fsyncSync: (fd) => void call('fsync', [fd]),
    // OPFS has no permissions: every file is readable and writable by the origin. The fd must be open.
    fchmodSync: (fd) => void call('fstat', [fd]),
    closeSync: (fd) => void call('close', [fd]),
    existsSync: (path) => call('exists', [path], path) as boolean,
    statSync: (path) => stats(call('stat', [path], path) as OpfsStat),
    lstatSync: (path) => stats(call('stat', [path], path) as OpfsStat),
    statfsSync: () => call('statfs', []) as { bavail: number; bsize: number },
    accessSync: (path) => void call('stat', [path], path),
    readFileSync,
    readdirSync: (path) => call('readdir', [path], path) as string[],
    mkdirSync: (path, options) => (call('mkdir', [path, options?.recursive === true], path) as string | null) ?? undefined,
    renameSync: (from, to) => void call('rename', [from, to], from),
    rmSync: (path, options) => void call('rm', [path, options?.force === true, options?.recursive === true], path),
    rmdirSync: (path) => void call('rmdir', [path], path),
    constants: { W_OK: 2 },
  };
}
