import * as fs from '../../base/platform/fs.js';
import type { HostArray } from '../../models/dtypes.js';
import { uploadsInPieces } from '../../models/parameter/pieces.js';
import type { DiskRef, DiskSpan, Parameter } from '../../models/Parameter.js';
import { assertUnchanged, fileChangedError, readGroupSync, type GroupFile } from './groupFiles.js';

/**
 * The disk reference of tensor `index` of a group file (group offloading's and sequential offloading's files): its
 * file is checked as written (size, mtime, inode, change time) at every read. A float32/int32 tensor can be read a
 * piece at a time (DiskRef.openSpan); cast codes are read whole, as the packed words a Parameter stores.
 */
export function groupFileRef(file: GroupFile, index: number): DiskRef {
  const tensor = file.record.tensors[index]!;
  const raw = tensor.dtype === 'F32' || tensor.dtype === 'I32';
  return {
    path: file.path,
    read: (): HostArray => readGroupSync(file)[index]!.slice(),
    ...(raw ? { openSpan: () => openSpan(file, index) } : {}),
  };
}

/**
 * Onloads weights that are on disk one by one, each read a piece at a time from its file (no group is ever whole in
 * host memory), where the backend takes uploaded bytes at once and no weight is cast; false, nothing done, elsewhere
 * (the caller reads the group whole). A read that fails puts the weights already onloaded back on disk, so the group
 * is left as it was.
 */
export function onloadInPieces(params: readonly Parameter[]): boolean {
  if (!uploadsInPieces() || params.some((p) => p.isLowPrecision || p.diskRef?.openSpan === undefined)) return false;
  const done: Array<[Parameter, DiskRef]> = [];
  try {
    for (const p of params) {
      const ref = p.diskRef!;
      p.toDevice();
      done.push([p, ref]);
    }
  } catch (error) {
    for (const [p, ref] of done) p.toDisk(ref);
    throw error;
  }
  return true;
}

function openSpan(file: GroupFile, index: number): DiskSpan {
  const fd = openChecked(file);
  const start = file.offsets[index]!;
  const byteLength = file.record.tensors[index]!.byteLength;
  return {
    byteLength,
    readAt(target: Uint8Array, byteOffset: number): void {
      for (let done = 0; done < target.byteLength; ) {
        const n = fs.readSync(fd, target, done, target.byteLength - done, start + byteOffset + done);
        if (n === 0) throw fileChangedError(file, 'it ended early');
        done += n;
      }
    },
    close: () => fs.closeSync(fd),
  };
}

/** The file opened for reading once it is checked to be the one written; a deleted file is a changed one. */
export function openChecked(file: GroupFile): number {
  let fd: number;
  try {
    fd = fs.openSync(file.path, 'r');
  } catch (error) {
    // Deleted behind the model's back (in a page: the site's storage cleared): the file is not the one written.
    if ((error as { code?: unknown }).code === 'ENOENT') throw fileChangedError(file, 'it was deleted');
    throw error;
  }
  try {
    assertUnchanged(file, fd);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}
