import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import type { JobControl } from './protocol.js';

/**
 * The completion of a decode job without shared memory: the worker transfers the job's buffer back by message
 * (WorkerReply), which the model's thread receives only when its event loop runs. Nothing can be waited on, so
 * `canWait` is false: a caller uses the result once `done`, and otherwise onloads the group without it.
 */
export class MessageControl implements JobControl {
  readonly canWait = false;
  private pending = false;
  private failure: string | undefined;

  /** `receive` takes the buffer back (the memory the job was given, now owned by this thread again). */
  constructor(private readonly receive: (buffer: ArrayBuffer) => void) {}

  get done(): boolean {
    return !this.pending;
  }

  /** Makes the control ready for another job (only once the previous one is done). */
  reset(): void {
    this.pending = true;
    this.failure = undefined;
  }

  /** The worker's reply: the buffer back, and the failure's reason if it failed. */
  finish(buffer: ArrayBuffer, error?: string): void {
    this.receive(buffer);
    this.failure = error;
    this.pending = false;
  }

  /** Returns 0 once done (nothing is ever waited for); throws the job's failure, or when it is not done yet. */
  wait(what: string): number {
    if (this.pending) {
      throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `${what} is not done, and its result can only arrive by message when this thread is idle.`);
    }
    if (this.failure !== undefined) throw new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker failed ${what}: ${this.failure}.`);
    return 0;
  }
}

/**
 * A job's outcome when its result is needed: the ms spent blocked (0 when it was done), or 'late' when it is not
 * done and this thread may not block for it (the caller then onloads without it). Throws the job's failure.
 */
export function settle(control: JobControl, what: string): number | 'late' {
  if (!control.done && !control.canWait) return 'late';
  return control.wait(what);
}
