import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { BlobRanges, type ByteRanges } from './byteRanges.js';
import { headerLength, metadataOf, parseHeader, tensorInfo, tensorNames, type ParsedHeader, type TensorInfo } from './header.js';
import { FIRST_REQUEST_BYTES, HttpRanges, type UrlReadOptions } from './httpRanges.js';
import { decodeValues } from './SafetensorsFile.js';

/** A safetensors file that is not a local path: an http(s) URL (string or URL), or a `File` / `Blob`. */
export type SafetensorsInput = string | URL | Blob;

/**
 * A safetensors file read by byte ranges: from a URL with HTTP range requests (the global fetch, in Node and
 * in a page), or from a `File` / `Blob` with `slice()`. Opening reads the header with one request (two when it
 * is longer than 64 KiB) and validates it exactly as SafetensorsFile does, against the total length the server
 * declared; each tensor is then one ranged request of exactly its bytes, so the file is never held whole.
 *
 * @example
 * const file = await SafetensorsSource.open('https://example.com/model.safetensors');
 * try { const w = await file.read('proj.weight'); w.print(); w.dispose(); } finally { file.close(); }
 */
export class SafetensorsSource {
  private constructor(
    private readonly ranges: ByteRanges,
    private readonly header: ParsedHeader,
  ) {}

  /** A URL (`http://`, `https://`; in a page also relative to it) or a File / Blob. */
  static async open(input: SafetensorsInput, options: UrlReadOptions = {}): Promise<SafetensorsSource> {
    if (typeof Blob !== 'undefined' && input instanceof Blob) return SafetensorsSource.openBlob(input);
    if (typeof input === 'string' || input instanceof URL) return SafetensorsSource.openUrl(input, options);
    throw new InvalidArgumentError(`SafetensorsSource.open expects a URL (string or URL) or a File / Blob, got ${input === null ? 'null' : typeof input}. A local file: SafetensorsFile.open(path).`);
  }

  /** Reads the header with one ranged request; `allowFullDownload` accepts a server that ignores ranges. */
  static async openUrl(url: string | URL, options: UrlReadOptions = {}): Promise<SafetensorsSource> {
    const { ranges, prefix } = await HttpRanges.open(url, options);
    return SafetensorsSource.withHeader(ranges, prefix);
  }

  static async openBlob(blob: Blob): Promise<SafetensorsSource> {
    const ranges = new BlobRanges(blob);
    const prefix = await ranges.read(0, Math.min(FIRST_REQUEST_BYTES, ranges.total), 'the header');
    return SafetensorsSource.withHeader(ranges, prefix);
  }

  /** The checks of the local reader (header.ts), with the total length the source declared as the file length. */
  private static async withHeader(ranges: ByteRanges, prefix: Uint8Array): Promise<SafetensorsSource> {
    try {
      const n = headerLength(prefix, ranges.total, ranges.location);
      const bytes = 8 + n <= prefix.byteLength ? prefix.subarray(8, 8 + n) : await ranges.read(8, 8 + n, 'the header');
      return new SafetensorsSource(ranges, parseHeader(bytes, ranges.total, ranges.location));
    } catch (error) {
      ranges.close();
      throw error;
    }
  }

  /** The URL, or a description of the File / Blob. */
  get location(): string {
    return this.ranges.location;
  }

  /** The file's length, as the server (or the Blob) declared it. */
  get fileLength(): number {
    return this.ranges.total;
  }

  /** Tensor names, in file order. */
  keys(): string[] {
    return tensorNames(this.header);
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** The `__metadata__` map (string to string); empty when the file has none. */
  metadata(): Record<string, string> {
    return metadataOf(this.header);
  }

  info(name: string): TensorInfo {
    return tensorInfo(this.header, name, this.location);
  }

  /** The tensor's raw little-endian bytes, in a fresh buffer, read with one ranged request. */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    return this.ranges.read(info.byteOffset, info.byteOffset + info.byteLength, `tensor ${JSON.stringify(name)}`);
  }

  /** Reads the tensor's bytes into `target` (at least byteLength long); returns the filled view. */
  async readInto(name: string, target: Uint8Array): Promise<Uint8Array> {
    const info = this.info(name);
    if (target.byteLength < info.byteLength) {
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `readInto(${JSON.stringify(name)}): the target holds ${target.byteLength} bytes, the tensor needs ${info.byteLength}.`);
    }
    return this.ranges.read(info.byteOffset, info.byteOffset + info.byteLength, `tensor ${JSON.stringify(name)}`, target);
  }

  /** The tensor as a tf.Tensor on the active backend, decoded as SafetensorsFile.read decodes. */
  async read(name: string): Promise<tf.Tensor> {
    const info = this.info(name);
    const values = decodeValues(info, await this.readBytes(name), name, this.location);
    try {
      return tf.tensor(values, info.shape, values instanceof Float32Array ? 'float32' : info.dtype === 'BOOL' ? 'bool' : 'int32');
    } catch (cause) {
      throw new MemhooksError(ERROR_CODES.UNSUPPORTED_DTYPE, `Tensor ${JSON.stringify(name)} of ${this.location} (shape [${info.shape.join(', ')}]) cannot be made into a tf.Tensor.`, { cause });
    }
  }

  /** Drops what the reader holds (a whole download when allowFullDownload was used); reads after close() throw. */
  close(): void {
    this.ranges.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
