import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
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
  for await (const chunk of data as AsyncIterable<Uint8Array>) await handle.write(chunk);
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
 * returns their names. Call it before reusing a directory of offload files or checkpoints.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => /^\..+\.tmp-\d+-[0-9a-f]{12}$/.test(n));
  await Promise.all(names.map((n) => rm(join(dir, n), { force: true })));
  return names;
}
