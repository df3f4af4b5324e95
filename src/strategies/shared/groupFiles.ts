import { createHash } from '../../base/platform/system.js';
import * as fs from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { writeFileAtomicSync } from '../../io/atomicWrite.js';
import { SafetensorsFile } from '../../io/safetensors/index.js';
import { saveSafetensorsSync } from '../../io/safetensors/write.js';
import { bytesPerCode, type LowPrecisionDtype } from '../../dtypes/index.js';
import type { HostArray } from '../../models/dtypes.js';
import type { Parameter } from '../../models/Parameter.js';
import { openChecked } from './groupFileRefs.js';

/** What a group file holds: tensor names (parameter paths), dtypes, shapes, sizes, and the sha256 of the bytes. */
export interface GroupRecord {
  file: string;
  /** sha256 (hex) of the tensors' bytes concatenated in `tensors` order. */
  checksum: string;
  tensors: TensorRecord[];
}

/**
 * A cast weight (layerwise casting) is stored as its codes under safetensors' own dtype, with its true shape,
 * so that the file is a valid safetensors file any reader understands, at a half or a quarter of float32.
 */
const CODE_DTYPES = { float16: 'F16', bfloat16: 'BF16', float8_e4m3fn: 'F8_E4M3', float8_e5m2: 'F8_E5M2' } as const satisfies Record<LowPrecisionDtype, string>;
export type CodeFileDtype = (typeof CODE_DTYPES)[LowPrecisionDtype];

export interface TensorRecord {
  name: string;
  dtype: 'F32' | 'I32' | CodeFileDtype;
  shape: number[];
  byteLength: number;
}

const isCodeDtype = (dtype: TensorRecord['dtype']): dtype is CodeFileDtype => dtype !== 'F32' && dtype !== 'I32';

/**
 * The record entry and the bytes a group file holds for a cast weight: its codes, without the padding of
 * the packed int32 words they live in on the device and the host.
 */
export function codesTensorOf(p: Parameter, name: string): { tensor: TensorRecord; data: Uint8Array } {
  const { codes } = p.packedCodes();
  const data = new Uint8Array(codes.buffer, codes.byteOffset, p.size * bytesPerCode(p.storageDtype as LowPrecisionDtype));
  return { tensor: { name, dtype: CODE_DTYPES[p.storageDtype as LowPrecisionDtype], shape: [...p.shape], byteLength: data.byteLength }, data };
}

export interface Manifest {
  format: 'memhooks-group-offload';
  version: 1;
  groups: Record<string, GroupRecord>;
}

/** A group file on disk as this application knows it: identity (size, mtime) and where each tensor is. */
export interface GroupFile {
  readonly path: string;
  size: number;
  /** Whole milliseconds: what every file system and utimes round-trip keeps. */
  mtimeMs: number;
  /**
   * The inode and its change time: every write, rename over the path or utimes call changes the ctime (which
   * no user call can set back), so a file modified in any way after it was written is noticed by a stat,
   * without hashing its bytes on every read.
   */
  ino: number;
  ctimeMs: number;
  /** Absolute byte offset of each tensor, in record order. */
  offsets: number[];
  record: GroupRecord;
  /** Whether this application wrote the file (remove() deletes only those). */
  created: boolean;
}

export const MANIFEST_NAME = 'memhooks-offload-manifest.json';

/** Stable per group id, as diffusers names them: the same model maps to the same files across runs. */
export function groupFileName(id: string): string {
  return `group_${createHash('sha256').update(id).digest('hex').slice(0, 16)}.safetensors`;
}

export function bytesOf(data: HostArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function checksumOf(datas: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const d of datas) hash.update(d);
  return hash.digest('hex');
}

export function readManifest(dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
    return m?.format === 'memhooks-group-offload' && m.version === 1 && typeof m.groups === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomicSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest, null, 1));
}

function sameRecord(a: GroupRecord | undefined, b: GroupRecord): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The existing file for `record`, if the manifest describes it identically and the file holds exactly those
 * tensors (names, dtypes, shapes, sizes) with bytes of the same checksum; undefined otherwise.
 */
export function reuseIfMatching(path: string, listed: GroupRecord | undefined, record: GroupRecord): GroupFile | undefined {
  if (!sameRecord(listed, record) || !fs.existsSync(path)) return undefined;
  let file: SafetensorsFile | undefined;
  try {
    file = SafetensorsFile.open(path);
    if (file.keys().length !== record.tensors.length) return undefined;
    const hash = createHash('sha256');
    const offsets: number[] = [];
    for (const t of record.tensors) {
      if (!file.has(t.name)) return undefined;
      const info = file.info(t.name);
      if (info.dtype !== t.dtype || info.byteLength !== t.byteLength || info.shape.join() !== t.shape.join()) return undefined;
      hash.update(file.readBytes(t.name));
      offsets.push(info.byteOffset);
    }
    if (hash.digest('hex') !== record.checksum) return undefined;
    const st = fs.statSync(path);
    return { path, ...identityOf(st), offsets, record, created: false };
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

/** Writes the group file atomically (temp, fsync, rename): a failure leaves no file and no temp file. */
export function writeGroupFile(path: string, record: GroupRecord, datas: readonly Uint8Array[]): GroupFile {
  const entries = Object.fromEntries(record.tensors.map((t, i) => [t.name, { dtype: t.dtype, shape: t.shape, data: datas[i]! }]));
  saveSafetensorsSync(path, entries, { format: 'memhooks-group-offload', checksum: record.checksum });
  const file = SafetensorsFile.open(path);
  try {
    const offsets = record.tensors.map((t) => file.info(t.name).byteOffset);
    const st = fs.statSync(path);
    return { path, ...identityOf(st), offsets, record, created: true };
  } finally {
    file.close();
  }
}

export function fileChangedError(file: GroupFile, why: string): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.OFFLOAD_FILE_CHANGED,
    `The offload file ${file.path} changed after group offloading wrote it (${why}); its weights will not be read. ` +
      `Do not modify offloadToDiskPath while the model is offloaded: remove group offloading (handle.remove() fails the same way) and apply it again to rewrite the file.`,
  );
}

/** Layout of a group's tensors packed into one buffer, each 16-byte aligned (typed-array views need 4). */
export function packedLayout(record: GroupRecord): { at: number[]; total: number } {
  const at: number[] = [];
  let total = 0;
  for (const t of record.tensors) {
    at.push(total);
    total += Math.ceil(t.byteLength / 16) * 16;
  }
  return { at, total };
}

/**
 * Typed views of a group's tensors in `buffer` at `layout`, in record order. Codes of a cast weight are seen
 * as the packed int32 words a Parameter stores (the padding of the last word zeroed: the layout leaves room).
 */
export function viewsOf(record: GroupRecord, buffer: ArrayBufferLike, base: number, layout: number[]): HostArray[] {
  return record.tensors.map((t, i) => {
    const at = base + layout[i]!;
    if (isCodeDtype(t.dtype)) {
      const words = Math.ceil(t.byteLength / 4);
      new Uint8Array(buffer, at + t.byteLength, words * 4 - t.byteLength).fill(0);
      return new Int32Array(buffer, at, words);
    }
    const n = t.byteLength / 4;
    return t.dtype === 'F32' ? new Float32Array(buffer, at, n) : new Int32Array(buffer, at, n);
  });
}

export function identityOf(st: fs.Stats): { size: number; mtimeMs: number; ino: number; ctimeMs: number } {
  return { size: st.size, mtimeMs: Math.floor(st.mtimeMs), ino: st.ino, ctimeMs: st.ctimeMs };
}

/** Why `st` is not the file as written (size, mtime, inode, change time), or undefined when it is. */
export function identityDiff(file: GroupFile, st: fs.Stats): string | undefined {
  const now = identityOf(st);
  const diffs = (['size', 'mtimeMs', 'ino', 'ctimeMs'] as const).filter((k) => now[k] !== file[k]).map((k) => `${k} ${now[k]} vs ${file[k]}`);
  return diffs.length === 0 ? undefined : diffs.join(', ');
}

/** Checks that the file is the one written, for a read that is about to start. */
export function assertUnchanged(file: GroupFile, fd: number): void {
  const diff = identityDiff(file, fs.fstatSync(fd));
  if (diff !== undefined) throw fileChangedError(file, `it was modified: ${diff}`);
}

/** Reads the whole group on this thread into a fresh buffer, once its identity is checked; tensors in record order. */
export function readGroupSync(file: GroupFile): HostArray[] {
  const { at, total } = packedLayout(file.record);
  const buffer = new ArrayBuffer(total);
  const fd = openChecked(file);
  try {
    file.record.tensors.forEach((t, i) => {
      const view = new Uint8Array(buffer, at[i]!, t.byteLength);
      for (let done = 0; done < view.length; ) {
        const n = fs.readSync(fd, view, done, view.length - done, file.offsets[i]! + done);
        if (n === 0) throw fileChangedError(file, 'it ended early');
        done += n;
      }
    });
  } finally {
    fs.closeSync(fd);
  }
  return viewsOf(file.record, buffer, 0, at);
}
