import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ERROR_CODES, MemhooksError } from '../errors.js';

/** Marks memhooks' temporary files: `.<target>.tmp-<pid>-<random>`. */
const TMP_INFIX = '.tmp-';

export type WriteData = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the directory after it (default true): durable across power loss. */
  fsync?: boolean;
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a part:
 * the bytes go to a temporary file in the same directory (created exclusively), which is fsynced, closed
 * and renamed over the target; then the directory is fsynced so that the rename itself survives a crash.
 * On any failure the temporary file is removed and the target is untouched.
 */
export async function writeFileAtomic(path: string, data: WriteData, options: AtomicWriteOptions = {}): Promise<void> {
  const { fsync = true } = options;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}${TMP_INFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx');
    // A replaced file keeps its permissions, as an in-place write would.
    const mode = await stat(path).then((s) => s.mode & 0o7777, () => undefined);
    if (mode !== undefined) await handle.chmod(mode);
    await writeAll(handle, data);
    if (fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (cause) {
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw new MemhooksError(ERROR_CODES.WRITE_FAILED, `Could not write ${path}; the previous file (if any) is unchanged. Check that the directory exists, is writable and has space.`, { cause });
  }
  if (fsync) await syncDirectory(dir);
}

async function writeAll(handle: FileHandle, data: WriteData): Promise<void> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    await handle.writeFile(data);
    return;
  }
  for await (const chunk of data as AsyncIterable<Uint8Array>) {
    // One write() may take fewer bytes than asked (large chunks): loop until the chunk is all written.
    for (let offset = 0; offset < chunk.byteLength; ) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
  }
}

/** Best effort: some platforms (Windows) cannot open a directory for syncing; the rename is done anyway. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability of the rename is uncertain here, but the content is complete and in place.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * Removes temporary files left in `dir` by writes that crashed (ours only: `.<name>.tmp-<pid>-<hex>`), and
 * returns their names. A file whose writer process is still alive (this one included) is in flight and is
 * left alone. Call it before reusing a directory of offload files or checkpoints.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const stale = (await readdir(dir)).filter((n) => {
    const match = /^\..+\.tmp-(\d+)-[0-9a-f]{12}$/.exec(n);
    return match !== null && !isAlive(Number(match[1]));
  });
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
  return stale;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
