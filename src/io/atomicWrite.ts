import { isProcessAlive, processId, randomHex } from '../base/platform/system.js';
import { open, readdir, rename, rm, stat, type FileHandle } from '../base/platform/fsPromises.js';
import * as fsSync from '../base/platform/fs.js';
import { basename, dirname, join } from '../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { assertRoomToWrite, diskWriteReason, markActionable } from '../base/actionable.js';

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
  const tmp = tempPathFor(path);
  let handle: FileHandle | undefined;
  try {
    const bytes = knownLength(data);
    if (bytes !== undefined) assertRoomToWrite(dir, bytes);
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
    throw writeFailed(path, knownLength(data), cause);
  }
  if (fsync) await syncDirectory(dir);
}

/** The error of a failed write: a full disk or a missing permission is named first, with the folder and sizes. */
function writeFailed(path: string, bytes: number | undefined, cause: unknown): MemhooksError {
  const reason = diskWriteReason({ what: 'memhooks', folder: dirname(path), bytesNeeded: bytes }, cause);
  if (reason === undefined) {
    return new MemhooksError(ERROR_CODES.WRITE_FAILED, `Could not write ${path}; the previous file (if any) is unchanged. Check that the directory exists, is writable and has space.`, { cause });
  }
  return markActionable(new MemhooksError(ERROR_CODES.WRITE_FAILED, `Could not write ${path}: ${reason} The previous file (if any) is unchanged.`, { cause }), reason);
}

/**
 * The byte size of the data: given whole, or chunks that say their total (SizedChunks); undefined for other
 * chunks (not known before they are written).
 */
function knownLength(data: WriteData): number | undefined {
  if (typeof data === 'string') return new TextEncoder().encode(data).byteLength;
  if (data instanceof Uint8Array) return data.byteLength;
  const total = (data as Partial<SizedChunks>).byteLength;
  return typeof total === 'number' ? total : undefined;
}

/** Chunks that know their total length before they are produced (a safetensors file: its header says it). */
export type SizedChunks = Iterable<Uint8Array> & { readonly byteLength: number };

/** The temporary name for a write of `path`: same directory (same filesystem, so the rename is atomic). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TMP_INFIX}${processId()}-${randomHex(6)}`);
}

/**
 * The synchronous twin of writeFileAtomic, with the same guarantees (temp file created exclusively, fsync,
 * rename, fsync of the directory; the temp file removed and the target untouched on failure). For callers
 * that must not yield, such as a hook that writes offload files from a synchronous forward.
 */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array | Iterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): void {
  const { fsync = true } = options;
  const dir = dirname(path);
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    const bytes = knownLength(data);
    if (bytes !== undefined) assertRoomToWrite(dir, bytes);
    fd = fsSync.openSync(tmp, 'wx');
    const mode = existingMode(path);
    if (mode !== undefined) fsSync.fchmodSync(fd, mode);
    const chunks = typeof data === 'string' ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      for (let offset = 0; offset < chunk.byteLength; ) {
        offset += fsSync.writeSync(fd, chunk, offset, chunk.byteLength - offset);
      }
    }
    if (fsync) fsSync.fsyncSync(fd);
    fsSync.closeSync(fd);
    fd = undefined;
    fsSync.renameSync(tmp, path);
  } catch (cause) {
    if (fd !== undefined) {
      try {
        fsSync.closeSync(fd);
      } catch {
        // Already failing: the write error below is the one to report.
      }
    }
    fsSync.rmSync(tmp, { force: true });
    throw writeFailed(path, knownLength(data), cause);
  }
  if (fsync) syncDirectorySync(dir);
}

function existingMode(path: string): number | undefined {
  try {
    return fsSync.statSync(path).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** Best effort, as syncDirectory. */
function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fsSync.openSync(dir, 'r');
    fsSync.fsyncSync(fd);
  } catch {
    // Durability of the rename is uncertain here, but the content is complete and in place.
  } finally {
    if (fd !== undefined) fsSync.closeSync(fd);
  }
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
    return match !== null && !isProcessAlive(Number(match[1]));
  });
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
  return stale;
}
