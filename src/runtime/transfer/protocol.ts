import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { workerCanFinish } from './boot.js';
import { transferThread } from './threads.js';

/**
 * The control block of one transfer job, shared with the worker: an Int32 status the main thread waits on,
 * the sha256 of the bytes read (hex), and an error message. Layout (bytes): 0 status, 4 error length,
 * 8..72 digest, 72..1096 error text. The worker receives this very object, serialised into its source
 * (workerSource.ts), so both sides read one layout.
 */
export const CONTROL = Object.freeze({
  /** Int32 index of the status word, and the statuses it holds. */
  STATE: 0,
  PENDING: 0,
  DONE: 1,
  FAILED: 2,
  /** The file is not the one recorded (size or mtime differ): the caller reports OFFLOAD_FILE_CHANGED. */
  CHANGED: 3,
  /** Int32 index of the error text's length in bytes. */
  ERROR_LENGTH: 1,
  /** Byte offset and length of the digest (64 hex characters). */
  DIGEST_AT: 8,
  DIGEST_BYTES: 64,
  /** Byte offset and capacity of the error text (UTF-8, cut to fit). */
  ERROR_AT: 72,
  ERROR_MAX: 1024,
} as const);
/** The shape of CONTROL (numbers, not its literals: a test serialises another layout to see the worker follow it). */
export type ControlLayout = { readonly [K in keyof typeof CONTROL]: number };

const { PENDING, FAILED, CHANGED } = CONTROL;
const CONTROL_BYTES = CONTROL.ERROR_AT + CONTROL.ERROR_MAX;

/**
 * `length` codes of `dtype` at byte `codesAt` of a job's buffer, decoded into `length` float32 values at
 * byte `outAt` of the same buffer (4-aligned). The regions must not overlap.
 */
export type DecodeItem = [dtype: string, codesAt: number, length: number, outAt: number];

/**
 * `length` shipped codes (a converter manifest's `quantization`: 'uint8' / 'uint16' affine with `min` and
 * `scale`, or 'float16') at byte `codesAt`, dequantized as tfjs does at load into `length` float32 values at byte
 * `outAt` of the same buffer. The regions must not overlap.
 */
export type DequantizeItem = [dtype: string, codesAt: number, length: number, outAt: number, min: number, scale: number];

/** A positioned read of byte ranges of one file into a SharedArrayBuffer, checked against the file's identity. */
export interface ReadJob {
  path: string;
  /** The file's identity when it was written (mtime in whole ms): a file changed since is refused. */
  size: number;
  mtimeMs: number;
  /** Optional: the inode and change time too (every write or utimes changes the ctime). */
  ino?: number;
  ctimeMs?: number;
  /** Triples [fileOffset, length, offsetInBuffer]; the digest covers the ranges in this order. */
  ranges: number[];
  buffer: SharedArrayBuffer;
  /** Compute the sha256 of the bytes read (on the worker, so it overlaps the compute). */
  hash: boolean;
  /** Optional: low-precision codes to decode once read, within the same buffer (a disk read of cast weights). */
  decode?: DecodeItem[];
}

/** Decoding of low-precision codes already in `buffer` (shared staging memory) into float32, on the worker. */
export interface DecodeJob {
  buffer: SharedArrayBuffer;
  items: DecodeItem[];
  /** Optional: shipped codes to dequantize in the same buffer (wrapGraphModel's hostWeights: 'shipped'). */
  dequantize?: DequantizeItem[];
}

/**
 * The messages the main thread posts to the worker. Shared memory is registered once per buffer (by id)
 * and jobs name it by id: a job is then a small plain message, and no SharedArrayBuffer crosses
 * postMessage per transfer. Each job names its control block by id too.
 */
export type WorkerMessage = HelloMessage | RegisterMessage | ForgetMessage | ReadMessage | DecodeMessage | DecodeTransferMessage;
/** The first message: the worker sets `flag` (shared memory) to 1 when it runs, so the model's thread knows it booted (boot.ts). */
export interface HelloMessage {
  op: 'hello';
  flag: SharedArrayBuffer;
}
export interface RegisterMessage {
  op: 'register';
  id: number;
  buffer: SharedArrayBuffer;
}
export interface ForgetMessage {
  op: 'forget';
  id: number;
}
export interface ReadMessage extends Omit<ReadJob, 'buffer'> {
  op: 'read';
  buffer: number;
  control: number;
}
export interface DecodeMessage {
  op: 'decode';
  decode: DecodeItem[];
  dequantize?: DequantizeItem[];
  buffer: number;
  control: number;
}

/**
 * A decode job without shared memory (a page that is not cross-origin isolated): its buffer is transferred to the
 * worker, decoded there in place, and transferred back in a WorkerReply naming `job`.
 */
export interface DecodeTransferMessage {
  op: 'decode-transfer';
  job: number;
  buffer: ArrayBuffer;
  decode: DecodeItem[];
  dequantize?: DequantizeItem[];
}

/** The worker's only message back: a decode-transfer job's buffer, and its failure's reason when it failed. */
export interface WorkerReply {
  job: number;
  buffer: ArrayBuffer;
  error?: string;
}

/**
 * A job's completion as the thread that runs the model sees it: TransferControl (shared memory) or MessageControl
 * (a reply by message). `canWait` says whether wait() may block for it on this thread (threads.ts).
 */
export interface JobControl {
  readonly done: boolean;
  readonly canWait: boolean;
  /** Blocks until done where allowed (see canWait); returns the ms spent blocked; throws the job's failure. */
  wait(what: string): number;
}

/** How long a wait may last before the worker is presumed dead (a crashed worker never notifies). */
const STALL_MS = 120_000;

export class TransferControl implements JobControl {
  readonly buffer = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly state = new Int32Array(this.buffer);

  /** Makes the block ready for another job (only once the previous one is done or was never posted). */
  reset(): void {
    Atomics.store(this.state, CONTROL.ERROR_LENGTH, 0);
    Atomics.store(this.state, CONTROL.STATE, PENDING);
  }

  get done(): boolean {
    return Atomics.load(this.state, CONTROL.STATE) !== PENDING;
  }

  /**
   * A page's main thread may not block (Atomics.wait throws there): it uses the result only once done. Nor may a
   * Worker block before its nested transfer worker has booted, which needs this thread idle first (boot.ts).
   */
  get canWait(): boolean {
    return transferThread().canBlock && workerCanFinish();
  }

  /**
   * Blocks the calling thread until the worker is done (Atomics.wait), only if it is not done yet.
   * Returns the milliseconds spent blocked (0 when the data was ready). Throws TRANSFER_FAILED with the
   * worker's reason when the job failed; `what` names the job for that message.
   */
  wait(what: string): number {
    let waited = 0;
    if (Atomics.load(this.state, CONTROL.STATE) === PENDING) {
      // Where Atomics.wait throws (a page's main thread) callers use the result only once done (settle()).
      if (!this.canWait) throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `${what} is not done, and this thread may not block on it (a page's main thread).`);
      const start = performance.now();
      while (Atomics.load(this.state, CONTROL.STATE) === PENDING) {
        Atomics.wait(this.state, CONTROL.STATE, PENDING, 1000);
        if (performance.now() - start > STALL_MS) {
          throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker did not finish ${what} within ${STALL_MS / 1000} s; it may have crashed. Remove and re-apply the strategy.`);
        }
      }
      waited = performance.now() - start;
    }
    if (Atomics.load(this.state, CONTROL.STATE) === CHANGED) {
      throw new MemhooksError(ERROR_CODES.OFFLOAD_FILE_CHANGED, `The file read for ${what} changed since it was recorded (${this.error()}).`);
    }
    if (Atomics.load(this.state, CONTROL.STATE) === FAILED) {
      throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker failed ${what}: ${this.error()}.`);
    }
    return waited;
  }

  /** The sha256 (hex) of the bytes the worker read, once done. */
  digest(): string {
    return textOf(this.buffer, CONTROL.DIGEST_AT, CONTROL.DIGEST_BYTES);
  }

  private error(): string {
    const length = this.state[CONTROL.ERROR_LENGTH]!;
    return textOf(this.buffer, CONTROL.ERROR_AT, length);
  }
}

/** UTF-8 text in shared memory (copied first: TextDecoder refuses views of shared memory in a page; Buffer is Node's). */
function textOf(buffer: SharedArrayBuffer, at: number, length: number): string {
  return new TextDecoder().decode(new Uint8Array(buffer, at, length).slice());
}
