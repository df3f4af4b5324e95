import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { dtypeBits, type FileDtype } from './dtypes.js';
import { JsonNumber, JsonSyntaxError, parseStrictJson, type JsonValue } from './strictJson.js';

/** The reference implementation's cap on the header (MAX_HEADER_SIZE): bigger is refused before reading. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Names that would change an object's prototype if a caller copied tensors into a plain object. */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

export interface TensorInfo {
  dtype: FileDtype;
  shape: number[];
  /** Absolute offset of the first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface ParsedHeader {
  /** In file order (by offset). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export function invalidFile(path: string, what: string, cause?: unknown): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.INVALID_SAFETENSORS,
    `${path} is not a valid safetensors file: ${what}. The file is corrupt, truncated or was not written as safetensors; re-download or re-save it.`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Reads the 8-byte length prefix. The length is a u64 compared as a BigInt against the cap and the file
 * size before it becomes a Number, so that no allocation follows a forged length.
 */
export function headerLength(prefix: Uint8Array, fileLength: number, path: string): number {
  if (fileLength < 8 || prefix.byteLength < 8) throw invalidFile(path, `it is ${fileLength} bytes long, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw invalidFile(path, `the header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n > BigInt(fileLength - 8)) throw invalidFile(path, `the header length ${n} runs past the end of the file (${fileLength} bytes)`);
  return Number(n);
}

/**
 * Validates a header as the reference's `read_metadata` + `validate` do (reliability.md B1): UTF-8, JSON,
 * schema, known dtypes, shape × dtype size = byte span, offsets starting at 0, contiguous and covering the
 * data exactly, and the file length exact. Everything is checked before anything is read.
 */
export function parseHeader(bytes: Uint8Array, fileLength: number, path: string): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw invalidFile(path, 'the header is not valid UTF-8', cause);
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (cause) {
    if (cause instanceof JsonSyntaxError) throw invalidFile(path, `the header is not valid JSON (${cause.message})`);
    throw invalidFile(path, 'the header could not be parsed', cause);
  }
  if (!(root instanceof Map)) throw invalidFile(path, 'the header is not a JSON object');
  let metadata: Record<string, string> = {};
  const entries: [string, TensorInfo][] = [];
  for (const [name, value] of root) {
    if (name === '__metadata__') metadata = parseMetadata(value, path);
    else entries.push([name, parseEntry(name, value, path)]);
  }
  const dataLength = fileLength - 8 - bytes.byteLength;
  checkLayout(entries, dataLength, path);
  const base = 8 + bytes.byteLength;
  for (const [, info] of entries) info.byteOffset += base;
  return { tensors: new Map(entries), metadata };
}

function parseMetadata(value: JsonValue, path: string): Record<string, string> {
  if (!(value instanceof Map)) throw invalidFile(path, '__metadata__ is not an object of strings');
  // A null-prototype object: a key named __proto__ stays an ordinary key.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of value) {
    if (typeof v !== 'string') throw invalidFile(path, `__metadata__[${JSON.stringify(k)}] is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, value: JsonValue, path: string): TensorInfo {
  const where = `tensor ${JSON.stringify(name)}`;
  if (FORBIDDEN_NAMES.has(name)) throw invalidFile(path, `${where} has a reserved name that could pollute object prototypes`);
  if (!(value instanceof Map)) throw invalidFile(path, `${where} is not an object`);
  for (const key of value.keys()) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') throw invalidFile(path, `${where} has an unknown field ${JSON.stringify(key)}`);
  }
  const dtype = value.get('dtype');
  const shape = value.get('shape');
  const offsets = value.get('data_offsets');
  if (typeof dtype !== 'string' || dtypeBits(dtype) === undefined) throw invalidFile(path, `${where} has an unknown dtype ${JSON.stringify(dtype ?? null)}`);
  if (!Array.isArray(shape)) throw invalidFile(path, `${where} has no shape list`);
  if (!Array.isArray(offsets) || offsets.length !== 2) throw invalidFile(path, `${where} needs data_offsets [begin, end]`);
  const dims = shape.map((d, i) => nonNegativeInteger(d, `${where} shape[${i}]`, path));
  const [begin, end] = offsets.map((o, i) => nonNegativeInteger(o, `${where} data_offsets[${i}]`, path)) as [number, number];
  if (end < begin) throw invalidFile(path, `${where} ends (${end}) before it begins (${begin})`);
  checkSpan(name, dtype, dims, end - begin, path);
  return { dtype, shape: dims, byteOffset: begin, byteLength: end - begin };
}

/** An integer literal in [0, 2^53): JSON.parse would silently round a larger one. */
function nonNegativeInteger(value: JsonValue | undefined, where: string, path: string): number {
  if (!(value instanceof JsonNumber) || !/^(0|[1-9][0-9]{0,15})$/.test(value.raw)) {
    throw invalidFile(path, `${where} is not a non-negative integer`);
  }
  const n = Number(value.raw);
  if (!Number.isSafeInteger(n)) throw invalidFile(path, `${where} (${value.raw}) is too large`);
  return n;
}

/** Element and bit counts in BigInt, so that no product overflows; the span must match exactly. */
function checkSpan(name: string, dtype: string, dims: number[], span: number, path: string): void {
  let elements = 1n;
  for (const d of dims) elements *= BigInt(d);
  const bits = elements * BigInt(dtypeBits(dtype)!);
  if (bits % 8n !== 0n) throw invalidFile(path, `tensor ${JSON.stringify(name)} (${dtype}) does not fill a whole number of bytes`);
  if (bits / 8n !== BigInt(span)) {
    throw invalidFile(path, `tensor ${JSON.stringify(name)} has shape [${dims.join(', ')}] of ${dtype} (${bits / 8n} bytes) but spans ${span} bytes`);
  }
}

/** Sorted by offsets, the first must start at 0 and each where the previous ended: no gap, overlap or tail. */
function checkLayout(entries: [string, TensorInfo][], dataLength: number, path: string): void {
  entries.sort(([, a], [, b]) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let cursor = 0;
  for (const [name, info] of entries) {
    if (info.byteOffset !== cursor) {
      throw invalidFile(path, `tensor ${JSON.stringify(name)} starts at ${info.byteOffset}, expected ${cursor} (tensors must be contiguous, without gaps or overlaps)`);
    }
    cursor += info.byteLength;
  }
  if (cursor !== dataLength) {
    throw invalidFile(path, `the tensors cover ${cursor} data bytes but the file holds ${dataLength} after the header (truncated, or trailing bytes)`);
  }
}

/** The tensor names of a parsed header, in file order. */
export function tensorNames(header: ParsedHeader): string[] {
  return [...header.tensors.keys()];
}

/** The header's `__metadata__` as a fresh map without a prototype (empty when the file has none). */
export function metadataOf(header: ParsedHeader): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, header.metadata);
}

/** A copy of one tensor's entry; `where` names the file (a path or a URL) in the error for an unknown name. */
export function tensorInfo(header: ParsedHeader, name: string, where: string): TensorInfo {
  const info = header.tensors.get(name);
  if (info === undefined) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${where} has no tensor named ${JSON.stringify(name)}. It holds ${header.tensors.size} tensors; list them with keys().`);
  }
  return { ...info, shape: [...info.shape] };
}
