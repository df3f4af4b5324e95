import { ERROR_CODES, MemhooksError } from '../../base/errors.js';

/**
 * Random access to the bytes of a file that is not a local path: a URL read by HTTP range requests, or a
 * `File` / `Blob` read by `slice()`. Each read asks for exactly one span and checks that exactly that span came.
 */
export interface ByteRanges {
  /** The URL, or a description of the Blob, as errors name it. */
  readonly location: string;
  /** The file's length in bytes, as the first answer declared it. */
  readonly total: number;
  /**
   * Bytes [start, end) into `into` (at least end - start long) or a fresh array; `what` names what they are
   * ("tensor \"w\"", "the header") in errors.
   */
  read(start: number, end: number, what: string, into?: Uint8Array): Promise<Uint8Array>;
  /** Drops whatever the reader holds (a whole downloaded file); later reads throw. */
  close(): void;
}

/** A failed ranged read; `status` is the HTTP status when a server answered. */
export class RangeReadError extends MemhooksError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(ERROR_CODES.RANGE_READ_FAILED, message, options);
  }
}

export function closedError(location: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${location} has been closed; open it again to read.`);
}

/** "bytes 0-65535" style, inclusive end as HTTP writes it, for messages. */
export function describeRange(start: number, end: number): string {
  return `bytes ${start}-${end - 1}`;
}

/** `end - start` bytes into `into` when given (checked to be long enough), else a fresh array. */
export function targetFor(start: number, end: number, into: Uint8Array | undefined, location: string): Uint8Array {
  const length = end - start;
  if (into === undefined) return new Uint8Array(length);
  if (into.byteLength < length) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Reading ${describeRange(start, end)} of ${location}: the target holds ${into.byteLength} bytes, ${length} are needed.`);
  }
  return into.subarray(0, length);
}

/** A `File` or `Blob` (a file the user picked, a download held in memory): each read is one `slice()`. */
export class BlobRanges implements ByteRanges {
  readonly location: string;
  readonly total: number;
  private blob: Blob | undefined;

  constructor(blob: Blob) {
    this.blob = blob;
    this.total = blob.size;
    this.location = isFile(blob) ? `File ${JSON.stringify(blob.name)}` : `Blob (${blob.size} bytes)`;
  }

  async read(start: number, end: number, what: string, into?: Uint8Array): Promise<Uint8Array> {
    if (this.blob === undefined) throw closedError(this.location);
    const length = end - start;
    if (start < 0 || end > this.total || length < 0) {
      throw new RangeReadError(`Reading ${what} of ${this.location}: ${describeRange(start, end)} lies outside its ${this.total} bytes.`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
    } catch (cause) {
      // A File whose file on disk changed or vanished since it was picked (NotReadableError).
      throw new RangeReadError(`Reading ${what} (${describeRange(start, end)}) of ${this.location} failed; the file may have changed since it was picked. Pick it again.`, undefined, { cause });
    }
    if (bytes.byteLength !== length) {
      throw new RangeReadError(`Reading ${what} (${describeRange(start, end)}) of ${this.location} gave ${bytes.byteLength} bytes instead of ${length}; the file may have changed since it was picked.`);
    }
    if (into === undefined) return bytes;
    const target = targetFor(start, end, into, this.location);
    target.set(bytes);
    return target;
  }

  close(): void {
    this.blob = undefined;
  }
}

function isFile(blob: Blob): blob is Blob & { name: string } {
  return typeof (blob as { name?: unknown }).name === 'string';
}
