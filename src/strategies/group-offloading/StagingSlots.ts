import { acquireTransferWorker, type TransferLease } from '../../runtime/transfer/TransferWorker.js';
import { TransferControl } from '../../runtime/transfer/protocol.js';
import { StagingPool, type StagingSlot } from '../../runtime/transfer/StagingPool.js';
import type { DecodeTarget } from './decodeStaging.js';
import type { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';

/** A group's transfer on the worker: its slot, the control block the worker reports to, the weights it decodes. */
export interface StagedGroup {
  readonly slot: StagingSlot;
  readonly control: TransferControl;
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
  private readonly pool: StagingPool;
  private readonly controls = new Map<StagingSlot, TransferControl>();
  private readonly held = new Map<ModuleGroup, StagingSlot>();
  /** Transfers posted and not yet used or dropped, by group. */
  private readonly staged = new Map<ModuleGroup, StagedGroup>();
  private closed = false;

  constructor(
    slotBytes: number,
    private readonly config: Pick<GroupOffloadingConfig, 'prefetchDepth' | 'lowCpuMemUsage'>,
  ) {
    this.pool = new StagingPool(slotBytes, config.prefetchDepth + 1, !config.lowCpuMemUsage);
  }

  /** A free slot of at least `bytes` with its control block, or undefined when none is free (or after close). */
  acquire(bytes: number): { slot: StagingSlot; control: TransferControl } | undefined {
    const slot = this.pool.acquire(bytes);
    if (slot === undefined) return undefined;
    let control = this.controls.get(slot);
    if (control === undefined) this.controls.set(slot, (control = new TransferControl()));
    return { slot, control };
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
    this.lease.release();
  }

  private forget(slot: StagingSlot): void {
    const control = this.controls.get(slot);
    this.controls.delete(slot);
    this.lease.forget(slot.buffer);
    if (control !== undefined) this.lease.forget(control.buffer);
  }
}
