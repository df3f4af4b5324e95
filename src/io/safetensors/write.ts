import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { writeFileAtomic, writeFileAtomicSync, type SizedChunks } from '../atomicWrite.js';
import { dtypeAlignment, dtypeBytes, isWritableDtype, WRITABLE_DTYPES, type SafetensorsDtype } from './dtypes.js';
import { MAX_HEADER_BYTES } from './header.js';

/** One tensor to write: its raw little-endian bytes with their dtype and shape. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: Uint8Array;
}

/**
 * A tensor whose bytes are produced only when the writer reaches it, so that a file is written holding one
 * tensor in memory at a time (checkpoint saving reads each parameter from its tier this way).
 */
export interface LazyEntry {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  read(): Uint8Array;
}

/**
 * Writes a safetensors file atomically (temp file, fsync, rename, fsync of the folder), synchronously.
 * Like the reference writer, tensors are laid out largest alignment first, then by name, and the header
 * is padded with spaces to a multiple of 8 bytes, so that every tensor is naturally aligned in the file.
 */
export function saveSafetensorsSync(path: string, entries: Record<string, SafetensorsEntry | LazyEntry>, metadata?: Record<string, string>): void {
  writeFileAtomicSync(path, encodeSafetensorsLazily(entries, metadata, path));
}

/** The asynchronous saveSafetensorsSync; values may also be float32, int32 or bool tf.Tensors (downloaded once). */
export async function saveSafetensors(
  path: string,
  entries: Record<string, SafetensorsEntry | tf.Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const raw: Record<string, SafetensorsEntry> = Object.create(null);
  for (const [name, value] of Object.entries(entries)) raw[name] = value instanceof tf.Tensor ? await entryOfTensor(value, name) : value;
  await writeFileAtomic(path, encodeSafetensors(raw, metadata, path));
}

async function entryOfTensor(t: tf.Tensor, name: string): Promise<SafetensorsEntry> {
  const values = await t.data();
  if (t.dtype === 'bool') return { dtype: 'BOOL', shape: t.shape, data: Uint8Array.from(values as Uint8Array) };
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new InvalidArgumentError(`saveSafetensors: tensor ${JSON.stringify(name)} has dtype ${t.dtype}; only float32, int32 and bool tensors can be saved.`);
  const typed = values as Float32Array | Int32Array;
  return { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: t.shape, data: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
}

/**
 * The file as a list of chunks: 8-byte length + padded header, then each tensor's bytes in layout order.
 * Every entry is validated first, so a bad one writes nothing.
 */
export function encodeSafetensors(entries: Record<string, SafetensorsEntry>, metadata: Record<string, string> | undefined, path: string): Uint8Array[] {
  return [...encodeSafetensorsLazily(entries, metadata, path)];
}

/**
 * The same chunks, produced one by one: a lazy entry is read when its turn comes, and its length checked
 * then (a wrong one aborts the atomic write, leaving the target untouched). Header errors throw at once.
 */
export function encodeSafetensorsLazily(
  entries: Record<string, SafetensorsEntry | LazyEntry>,
  metadata: Record<string, string> | undefined,
  path: string,
): SizedChunks {
  const names = Object.keys(entries);
  for (const name of names) validateEntry(name, entries[name]!, path);
  names.sort((a, b) => dtypeAlignment(entries[b]!.dtype) - dtypeAlignment(entries[a]!.dtype) || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = validateMetadata(metadata, path);
  let offset = 0;
  for (const name of names) {
    const { dtype, shape } = entries[name]!;
    const byteLength = byteLengthOf(entries[name]!);
    // defineProperty: a name such as "__proto__" must become a key, not a prototype change.
    Object.defineProperty(header, name, { value: { dtype, shape: [...shape], data_offsets: [offset, offset + byteLength] }, enumerable: true });
    offset += byteLength;
  }
  // TextEncoder and DataView rather than Buffer: the same bytes, and no Node global in the browser build.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new InvalidArgumentError(`saveSafetensors(${path}): the header would be ${padded} bytes, above the format's ${MAX_HEADER_BYTES}-byte limit; save fewer tensors per file.`);
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  const chunks = (function* () {
    yield head;
    for (const name of names) {
      const entry = entries[name]!;
      const data = 'data' in entry ? entry.data : entry.read();
      if (!(data instanceof Uint8Array) || data.byteLength !== byteLengthOf(entry)) {
        throw new InvalidArgumentError(`saveSafetensors(${path}): tensor ${JSON.stringify(name)} produced ${data instanceof Uint8Array ? data.byteLength : 'no'} bytes, expected ${byteLengthOf(entry)}.`);
      }
      yield data;
    }
  })();
  // The total is known from the header: the atomic write checks that the disk has room for it before writing.
  return Object.assign(chunks, { byteLength: head.byteLength + offset });
}

function byteLengthOf(entry: SafetensorsEntry | LazyEntry): number {
  return entry.shape.reduce((a, d) => a * d, 1) * dtypeBytes(entry.dtype);
}

function validateEntry(name: string, entry: SafetensorsEntry | LazyEntry, path: string): void {
  const where = `saveSafetensors(${path}): tensor ${JSON.stringify(name)}`;
  if (name === '__metadata__') throw new InvalidArgumentError(`${where}: this name is reserved by the format for metadata; rename the tensor.`);
  if (entry === null || typeof entry !== 'object') throw new InvalidArgumentError(`${where} is not { dtype, shape, data }.`);
  if (!isWritableDtype(entry.dtype)) throw new InvalidArgumentError(`${where} has dtype ${JSON.stringify(entry.dtype)}; use one of ${WRITABLE_DTYPES.join(', ')}.`);
  if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidArgumentError(`${where} has shape ${JSON.stringify(entry.shape)}; it must be a list of non-negative integers.`);
  }
  if (!('data' in entry)) {
    if (typeof entry.read !== 'function') throw new InvalidArgumentError(`${where} needs data (a Uint8Array) or read().`);
    return;
  }
  if (!(entry.data instanceof Uint8Array)) throw new InvalidArgumentError(`${where}: data must be a Uint8Array of raw little-endian bytes (or read() must produce one).`);
  const expected = byteLengthOf(entry);
  if (expected !== entry.data.byteLength) {
    throw new InvalidArgumentError(`${where} has shape [${entry.shape.join(', ')}] of ${entry.dtype} (${expected} bytes) but ${entry.data.byteLength} bytes of data.`);
  }
}

function validateMetadata(metadata: Record<string, string>, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new InvalidArgumentError(`saveSafetensors(${path}): metadata ${JSON.stringify(k)} is not a string; the format stores strings only (JSON.stringify other values).`);
    Object.defineProperty(out, k, { value: v, enumerable: true });
  }
  return out;
}
