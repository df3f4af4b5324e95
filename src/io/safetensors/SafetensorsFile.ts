import * as fs from '../../base/platform/fs.js';
import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { decodeBFloat16, decodeFloat16, decodeFloat8E4M3, decodeFloat8E5M2 } from './decode.js';
import { headerLength, invalidFile, metadataOf, parseHeader, tensorInfo, tensorNames, type ParsedHeader, type TensorInfo } from './header.js';

/**
 * A safetensors file opened for reading one tensor at a time. Opening reads and validates only the
 * header; each read is a positioned read (pread) of exactly that tensor's bytes, never the whole file.
 * The file descriptor stays open until close(); reads after close() throw.
 *
 * @example
 * const file = SafetensorsFile.open('model.safetensors');
 * try { for (const name of file.keys()) console.log(name, file.info(name)); } finally { file.close(); }
 */
export class SafetensorsFile {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    readonly fileLength: number,
    private readonly header: ParsedHeader,
  ) {
    this.fd = fd;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (cause) {
      // A page has no files (the browser platform's refusal): that says more than "check that it exists".
      if (cause instanceof MemhooksError && cause.code === ERROR_CODES.PLATFORM_UNSUPPORTED) throw cause;
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Could not open the safetensors file ${path}. Check that it exists and is readable.`, { cause });
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw invalidFile(path, 'it is not a regular file');
      const fileLength = stat.size;
      const prefix = readExactly(fd, 8, 0, Math.min(8, fileLength), path);
      const n = headerLength(prefix, fileLength, path);
      const header = parseHeader(readExactly(fd, n, 8, n, path), fileLength, path);
      return new SafetensorsFile(path, fd, fileLength, header);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
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
    return tensorInfo(this.header, name, this.path);
  }

  /** The tensor's raw little-endian bytes, in a fresh buffer (so any typed-array view of it is aligned). */
  readBytes(name: string): Uint8Array {
    const info = this.info(name);
    // A plain Uint8Array, not Node's Buffer: the browser build (OPFS files) has no Buffer.
    return this.readInto(name, new Uint8Array(info.byteLength));
  }

  /** Reads the tensor's bytes into `target` (at least byteLength long), e.g. a staging buffer; returns the filled view. */
  readInto(name: string, target: Uint8Array): Uint8Array {
    const info = this.info(name);
    if (target.byteLength < info.byteLength) {
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `readInto(${JSON.stringify(name)}): the target holds ${target.byteLength} bytes, the tensor needs ${info.byteLength}.`);
    }
    const view = target.subarray(0, info.byteLength);
    return readExactly(this.openFd(), info.byteLength, info.byteOffset, info.byteLength, this.path, view);
  }

  /**
   * Reads `target.byteLength` bytes of the tensor's raw bytes, from `byteOffset` within the tensor, into `target`:
   * a piece of a tensor too big to hold whole (an upload through a small reused buffer).
   */
  readRange(name: string, target: Uint8Array, byteOffset: number): void {
    const info = this.info(name);
    if (byteOffset < 0 || byteOffset + target.byteLength > info.byteLength) {
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `readRange(${JSON.stringify(name)}): bytes ${byteOffset}..${byteOffset + target.byteLength} are outside the tensor's ${info.byteLength}.`);
    }
    readExactly(this.openFd(), target.byteLength, info.byteOffset + byteOffset, target.byteLength, this.path, target);
  }

  /**
   * The tensor as a tf.Tensor on the active backend: F32 and I32 as they are; F16, BF16 and F8 decoded
   * exactly to float32; U8 and I64 (when every value fits) as int32; BOOL as bool.
   */
  read(name: string): tf.Tensor {
    const info = this.info(name);
    const values = decodeValues(info, this.readBytes(name), name, this.path);
    try {
      return tf.tensor(values, info.shape, values instanceof Float32Array ? 'float32' : info.dtype === 'BOOL' ? 'bool' : 'int32');
    } catch (cause) {
      throw new MemhooksError(ERROR_CODES.UNSUPPORTED_DTYPE, `Tensor ${JSON.stringify(name)} of ${this.path} (shape [${info.shape.join(', ')}]) cannot be made into a tf.Tensor.`, { cause });
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private openFd(): number {
    if (this.fd === undefined) throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${this.path} has been closed; open it again to read.`);
    return this.fd;
  }
}

/**
 * Host values of a tensor in a tfjs dtype (float32, or int32 for integers and bools). F32 and I32 values
 * view `bytes` in place when aligned (no copy); the other dtypes are converted into new arrays.
 */
export function decodeValues(info: TensorInfo, bytes: Uint8Array, name: string, path: string): Float32Array | Int32Array {
  // F32 and I32 bytes at an aligned offset are viewed in place, not copied (the result aliases `bytes`);
  // a misaligned span is copied so that the typed array can view it.
  const aligned = bytes.byteOffset % 8 === 0;
  const buf = aligned ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const at = aligned ? bytes.byteOffset : 0;
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(buf, at, bytes.byteLength / 4);
    case 'I32':
      return new Int32Array(buf, at, bytes.byteLength / 4);
    case 'F16':
      return decodeFloat16(bytes);
    case 'BF16':
      return decodeBFloat16(bytes);
    case 'F8_E4M3':
      return decodeFloat8E4M3(bytes);
    case 'F8_E5M2':
      return decodeFloat8E5M2(bytes);
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes);
    case 'I64':
      return narrowInt64(new BigInt64Array(buf, at, bytes.byteLength / 8), name, path);
    default:
      throw new MemhooksError(
        ERROR_CODES.UNSUPPORTED_DTYPE,
        `Tensor ${JSON.stringify(name)} of ${path} has dtype ${info.dtype}, which tfjs cannot hold. Read its raw bytes with readBytes() and convert them yourself.`,
      );
  }
}

function narrowInt64(values: BigInt64Array, name: string, path: string): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw new MemhooksError(ERROR_CODES.UNSUPPORTED_DTYPE, `Tensor ${JSON.stringify(name)} of ${path} (I64) holds ${v} at index ${i}, outside int32, the widest integer tfjs has.`);
    }
    out[i] = Number(v);
  }
  return out;
}

/** Reads exactly `length` bytes at `position`; a file that shrank since it was validated is an error. */
function readExactly(fd: number, size: number, position: number, length: number, path: string, into: Uint8Array = new Uint8Array(size)): Uint8Array {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw invalidFile(path, `the file ended at byte ${position + done} while ${length} bytes were expected from ${position} (it changed after it was opened?)`);
    done += n;
  }
  return into;
}
