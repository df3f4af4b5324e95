import { ERROR_CODES, MemhooksError } from '../../errors.js';

/**
 * The control block of one transfer job, shared with the worker: an Int32 status the main thread waits on,
 * the sha256 of the bytes read (hex), and an error message. Layout (bytes): 0 status, 4 error length,
 * 8..72 digest, 72..1096 error text.
 */
export const PENDING = 0;
export const DONE = 1;
export const FAILED = 2;
/** The file is not the one recorded (size or mtime differ): the caller reports OFFLOAD_FILE_CHANGED. */
export const CHANGED = 3;
const DIGEST_AT = 8;
const ERROR_AT = 72;
const CONTROL_BYTES = 1096;

/** How long a wait may last before the worker is presumed dead (a crashed worker never notifies). */
const STALL_MS = 120_000;

export class TransferControl {
  readonly buffer = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly state = new Int32Array(this.buffer);

  /** Makes the block ready for another job (only once the previous one is done or was never posted). */
  reset(): void {
    Atomics.store(this.state, 1, 0);
    Atomics.store(this.state, 0, PENDING);
  }

  get done(): boolean {
    return Atomics.load(this.state, 0) !== PENDING;
  }

  /**
   * Blocks the calling thread until the worker is done (Atomics.wait), only if it is not done yet.
   * Returns the milliseconds spent blocked (0 when the data was ready). Throws TRANSFER_FAILED with the
   * worker's reason when the job failed; `what` names the job for that message.
   */
  wait(what: string): number {
    let waited = 0;
    if (Atomics.load(this.state, 0) === PENDING) {
      const start = performance.now();
      while (Atomics.load(this.state, 0) === PENDING) {
        Atomics.wait(this.state, 0, PENDING, 1000);
        if (performance.now() - start > STALL_MS) {
          throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker did not finish ${what} within ${STALL_MS / 1000} s; it may have crashed. Remove and re-apply the strategy.`);
        }
      }
      waited = performance.now() - start;
    }
    if (Atomics.load(this.state, 0) === CHANGED) {
      throw new MemhooksError(ERROR_CODES.OFFLOAD_FILE_CHANGED, `The file read for ${what} changed since it was recorded (${this.error()}).`);
    }
    if (Atomics.load(this.state, 0) === FAILED) {
      throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker failed ${what}: ${this.error()}.`);
    }
    return waited;
  }

  /** The sha256 (hex) of the bytes the worker read, once done. */
  digest(): string {
    return Buffer.from(this.buffer, DIGEST_AT, 64).toString('latin1');
  }

  private error(): string {
    const length = new Int32Array(this.buffer)[1]!;
    return Buffer.from(this.buffer, ERROR_AT, length).toString('utf8');
  }
}
