import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { MessageControl, settle } from '../../runtime/transfer/MessageControl.js';
import { TransferControl, type JobControl } from '../../runtime/transfer/protocol.js';
import { StagingPool, type StagingSlot } from '../../runtime/transfer/StagingPool.js';
import { transferThread } from '../../runtime/transfer/threads.js';
import { acquireTransferWorker, type DecodeItem, type DequantizeItem, type ReadJob, type TransferLease } from '../../runtime/transfer/TransferWorker.js';
import type { DecodeTarget } from './decodeStaging.js';
import type { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';

/** A group's transfer on the worker: its slot, the control block the worker reports to, the weights it decodes. */
export interface StagedGroup {
  readonly slot: StagingSlot;
  readonly control: JobControl;
  /** Cast weights (layerwise casting) whose codes the worker decodes into float32 regions of the slot. */
  readonly targets: readonly DecodeTarget[];
}

/**
 * The staging side of a group store with useStream: the slot pool, the lease on the transfer worker, one
 * control block per slot (the worker knows both by id once registered), and the slots that still back
 * device tensors after an onload (cpu adopts typed arrays without copying) until their group is offloaded.
 * Shared by the host and disk tiers, which differ only in what they ask the worker to do with a slot.
 */
export class StagingSlots {
  readonly lease: TransferLease = acquireTransferWorker();
  /** Shared memory or transfers, blocking or not: read once, at apply (threads.ts). */
  readonly thread = transferThread();
  private readonly pool: StagingPool;
  private readonly controls = new Map<StagingSlot, TransferControl | MessageControl>();
  /**
   * Slots whose transfer was not done when its group was needed, on a thread that may not wait: the group was
   * onloaded without it. The worker may still be writing into the slot (shared memory) or hold it (transfer), so
   * a slot stays here, out of the pool, until its job is done: a late result never lands in memory in use.
   */
  private readonly late = new Set<StagedGroup>();
  private readonly held = new Map<ModuleGroup, StagingSlot>();
  /** Transfers posted and not yet used or dropped, by group. */
  private readonly staged = new Map<ModuleGroup, StagedGroup>();
  private closed = false;

  constructor(
    slotBytes: number,
    private readonly config: Pick<GroupOffloadingConfig, 'prefetchDepth' | 'lowCpuMemUsage'>,
  ) {
    this.pool = new StagingPool(slotBytes, config.prefetchDepth + 1, !config.lowCpuMemUsage, this.thread.shared);
  }

  /** A free slot of at least `bytes` with its control block, or undefined when none is free (or after close). */
  acquire(bytes: number): { slot: StagingSlot; control: JobControl } | undefined {
    this.reclaimLate();
    const slot = this.pool.acquire(bytes);
    if (slot === undefined) return undefined;
    let control = this.controls.get(slot);
    if (control === undefined) {
      control = this.thread.shared ? new TransferControl() : new MessageControl((buffer) => (slot.buffer = buffer));
      this.controls.set(slot, control);
    }
    return { slot, control };
  }

  /** Posts the decoding of codes already in `slot`: in shared memory, or by transfer where there is none. */
  decode(slot: StagingSlot, control: JobControl, items: DecodeItem[], dequantize: DequantizeItem[]): void {
    if (control instanceof MessageControl) {
      if (!(slot.buffer instanceof ArrayBuffer)) throw notShared('a transfer of shared memory');
      this.lease.decodeTransfer({ buffer: slot.buffer, items, dequantize }, control);
    } else if (control instanceof TransferControl) {
      this.lease.decode({ buffer: sharedOf(slot), items, dequantize }, control);
    }
  }

  /** Posts a read into `slot` (the disk tier: shared memory only, as files exist only where it does). */
  read(job: Omit<ReadJob, 'buffer'>, slot: StagingSlot, control: JobControl): void {
    if (!(control instanceof TransferControl)) throw notShared('a read from disk');
    this.lease.read({ ...job, buffer: sharedOf(slot) }, control);
  }

  /**
   * The staged transfer's outcome now that its group is needed: the ms spent blocked (0 when it was done), or
   * 'late' when it is not done and this thread may not block (the slot is then set aside until the worker is done
   * with it, and the caller onloads the group without it). Throws the job's failure.
   */
  settle(staged: StagedGroup, what: string): number | 'late' {
    const outcome = settle(staged.control, what);
    if (outcome === 'late') this.late.add(staged);
    return outcome;
  }

  /** Back to the pool; a slot the pool drops (lowCpuMemUsage, or after close) is dropped by the worker too. */
  release(slot: StagingSlot): void {
    this.pool.release(slot);
    if (this.config.lowCpuMemUsage || this.closed) this.forget(slot);
  }

  /** Records the transfer the worker was just given for `group`. */
  stage(group: ModuleGroup, staged: StagedGroup): void {
    this.staged.set(group, staged);
  }

  /** The group's staged transfer, no longer recorded (the caller waits on it and uses or releases its slot). */
  take(group: ModuleGroup): StagedGroup | undefined {
    const staged = this.staged.get(group);
    this.staged.delete(group);
    return staged;
  }

  /** The groups with a transfer staged (their stores cancel them before close()). */
  stagedGroups(): ModuleGroup[] {
    return [...this.staged.keys()];
  }

  /**
   * Drops the group's staged transfer, if any, that was not used (the forward ended or failed first): the
   * worker may still be writing into the slot, so let it finish before the slot is reused. `what` names the
   * job in a stall error.
   */
  cancel(group: ModuleGroup, what: string): void {
    const staged = this.take(group);
    if (staged === undefined) return;
    if (!staged.control.done && !staged.control.canWait) {
      this.late.add(staged);
      return;
    }
    try {
      staged.control.wait(what);
    } catch {
      // The transfer is dropped; its failure does not matter.
    }
    this.release(staged.slot);
  }

  /** `slot` backs device tensors of `group` until the group is offloaded. */
  hold(group: ModuleGroup, slot: StagingSlot): void {
    this.held.set(group, slot);
  }

  isHeld(group: ModuleGroup): boolean {
    return this.held.has(group);
  }

  /** The group left the device: the slot that backed its tensors, if any, is free again. */
  releaseHeld(group: ModuleGroup): void {
    const slot = this.held.get(group);
    if (slot === undefined) return;
    this.held.delete(group);
    this.release(slot);
  }

  /**
   * Drops any transfer still staged, forgets the free slots, drops the reserved ones and the lease; slots still
   * held are dropped when released. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    for (const g of this.stagedGroups()) this.cancel(g, `the transfer of group "${g.id}"`);
    this.closed = true;
    const held = new Set(this.held.values());
    for (const slot of [...this.controls.keys()]) if (!held.has(slot)) this.forget(slot);
    this.pool.close();
    // Late slots are dropped, never reused (the pool is closed): the worker may finish with them after this.
    for (const staged of this.late) this.pool.release(staged.slot);
    this.late.clear();
    this.lease.release();
  }

  /** Slots whose late job is done go back to the pool. */
  private reclaimLate(): void {
    for (const staged of this.late) {
      if (!staged.control.done) continue;
      this.late.delete(staged);
      this.release(staged.slot);
    }
  }

  private forget(slot: StagingSlot): void {
    const control = this.controls.get(slot);
    this.controls.delete(slot);
    // Only shared memory is registered with the worker; transferred buffers are never kept there.
    if (control instanceof TransferControl) {
      this.lease.forget(sharedOf(slot));
      this.lease.forget(control.buffer);
    }
  }
}

function notShared(what: string): MemhooksError {
  return new MemhooksError(ERROR_CODES.TRANSFER_FAILED, `The transfer worker cannot do ${what} without SharedArrayBuffer; this thread has none (a page that is not cross-origin isolated).`);
}

/** The slot's shared memory (a slot of a pool made with shared memory). */
function sharedOf(slot: StagingSlot): SharedArrayBuffer {
  if (slot.buffer instanceof ArrayBuffer) throw notShared('a job in shared memory');
  return slot.buffer;
}
