
import { atomicsWaitAllowed } from '../../base/platform/atomics.js';

/**
 * What the thread that runs the model may do with the transfer worker, decided here and nowhere else:
 *
 * - `shared`: SharedArrayBuffer exists (Node; a page or a Worker that is cross-origin isolated). Staging and
 *   control blocks are shared memory, and the model's thread sees a job finish by reading its status word, even in
 *   the middle of a synchronous forward.
 * - `canBlock`: Atomics.wait is allowed on this thread (Node; a dedicated Worker). Where it is not (a page's main
 *   thread, where it throws), a job that is not done when its group is needed is not waited on: the group is
 *   onloaded synchronously and the job's late result is dropped.
 *
 * Without shared memory (a page that is not cross-origin isolated) staging is transferable ArrayBuffers: the worker
 * sends each one back by message, which the model's thread receives only when its event loop runs, so it cannot
 * block on it either.
 */
export interface TransferThread {
  readonly shared: boolean;
  readonly canBlock: boolean;
}

let detected: TransferThread | undefined;
let forced: TransferThread | undefined;

/** The capabilities of the current thread (detected once; they do not change while a thread lives). */
export function transferThread(): TransferThread {
  if (forced !== undefined) return forced;
  if (detected === undefined) {
    const shared = typeof SharedArrayBuffer === 'function';
    detected = { shared, canBlock: shared && atomicsWaitAllowed() };
  }
  return detected;
}

/**
 * Replaces the detected capabilities until called with undefined, so that Node tests run the paths of a page's main
 * thread (`{ shared: true, canBlock: false }`) and of a page that is not isolated (`{ shared: false, canBlock: false }`).
 * A strategy reads them when it is applied and keeps them until it is removed.
 */
export function overrideTransferThread(thread: TransferThread | undefined): void {
  forced = thread;
}
