import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';
import { transferThread } from '../../runtime/transfer/threads.js';
import type { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';
import type { DiskHomes } from './homes.js';
import type { GroupStore } from './stores.js';

const now = (): number => performance.now();

/**
 * The state of one application of group offloading, shared by all its hooks.
 *
 * A group is made resident in the preForward of whichever of its modules runs first (never only by a
 * designated leader: a block that runs out of declaration order still finds its weights), and offloaded in
 * the postForward of its offload leader: the last of its modules to run, as recorded on the first forward.
 * The root's postForward sweeps whatever a skipped leader left on the device. With useStream, the recorded
 * order drives prefetch: entering the group at position i stages groups i+1 … i+prefetchDepth.
 */
export class GroupRuntime {
  /** The execution order recorded on the first complete forward of the root. */
  order: ModuleGroup[] | undefined;
  private recording: ModuleGroup[] | undefined;
  private readonly lastToRun = new Map<ModuleGroup, Module>();
  private depth = 0;
  private closed = false;
  /**
   * What this thread may do with the transfer worker (transfer/threads.ts), read at apply. Where it may not block
   * (a page's main thread), a job staged during a forward is used only if it finished in time; the first groups of
   * the next forward are staged when a forward ends, so their decoding proceeds while the page is idle. Without
   * shared memory a reply arrives by message, only while the thread is idle: no job is staged during a forward
   * (its slot would stay taken until the forward ends), only between calls.
   */
  private readonly thread = transferThread();

  constructor(
    readonly root: Module,
    readonly config: GroupOffloadingConfig,
    readonly groups: readonly ModuleGroup[],
    readonly store: GroupStore,
    /** Weights that never leave the device (keepResident modules, weights shared by two groups). */
    readonly resident: readonly Parameter[],
    /** Weights that started on the disk tier: remove() sends them back to their files, never onto the device. */
    readonly homes?: DiskHomes,
  ) {}

  beginForward(): void {
    if (this.depth++ > 0) return;
    if (this.order === undefined) {
      this.recording = [];
      this.lastToRun.clear();
    }
  }

  endForward(ok: boolean): void {
    if (--this.depth > 0) return;
    this.depth = 0;
    for (const g of this.groups) if (!g.pinned && g.active === 0) this.offload(g);
    if (this.recording !== undefined && ok) this.finishRecording(this.recording);
    this.recording = undefined;
    // Only jobs for the worker: nothing lands on the device between calls.
    if (ok && !this.thread.canBlock && this.config.useStream && this.order !== undefined) {
      try {
        this.prefetchFrom(-1, 'worker');
      } catch {
        // No room now (the device budget): the group is onloaded when it runs, and the budget is checked then.
      }
    }
  }

  enter(group: ModuleGroup, module: Module): void {
    if (this.recording !== undefined && group.position === undefined && !this.recording.includes(group)) this.recording.push(group);
    this.makeResident(group, module);
    if (this.config.useStream && this.order !== undefined && this.depth > 0) this.prefetchAfter(group);
    group.active++;
  }

  leave(group: ModuleGroup, module: Module, failed: boolean): void {
    group.active = Math.max(0, group.active - 1);
    if (this.recording !== undefined && !failed) this.lastToRun.set(group, module);
    if (group.pinned || group.active > 0) return;
    // Outside a root forward (a submodule called directly) nothing will sweep: offload now.
    if (module === group.offloadLeader || this.depth === 0) this.offload(group);
  }

  /** Onloads `group` now if it is not on the device yet; finishes its staged transfer if one is under way. */
  private makeResident(group: ModuleGroup, module: Module): void {
    if (group.state === 'device') return;
    const start = now();
    const what = `group "${group.id}" (module ${module.path === '' ? module.constructor.name : `"${module.path}"`})`;
    memory.assertDeviceBudget(group.bytes, what, this.advice());
    // `late`: the group was staged, but its transfer was not done and this thread may not block for it (a page's
    // main thread): it was onloaded synchronously instead, and the transfer's result is dropped.
    let late = false;
    if (group.state === 'staging') {
      const waited = this.store.complete(group);
      if (waited === 'late') {
        late = true;
        group.prefetched = false;
      } else if (waited > 0) emit('wait', { path: group.id, bytes: group.bytes, ms: waited });
    } else {
      this.store.onload(group);
      group.prefetched = false;
    }
    emit('onload', { path: group.id, bytes: group.bytes, ms: now() - start, prefetched: group.prefetched, ...(late ? { late: true } : {}) });
  }

  private prefetchAfter(group: ModuleGroup): void {
    if (group.position !== undefined) this.prefetchFrom(group.position, this.thread.shared ? undefined : 'device');
  }

  /**
   * Stages the `prefetchDepth` groups after `position` in the recorded order; `only` limits it to the transfers that
   * go to the worker or to the uploads made now (GroupStore.stage). Between calls (`only: 'worker'`, from -1): the
   * first `prefetchDepth` groups whose transfer goes to the worker, wherever they are in the order.
   */
  private prefetchFrom(position: number, only?: 'worker' | 'device'): void {
    const order = this.order!;
    const depth = this.config.prefetchDepth;
    let staged = 0;
    for (let k = 1; k <= (only === 'worker' ? order.length : depth) && staged < depth; k++) {
      const next = order[position + k];
      if (next === undefined) break;
      if (next.state !== 'offloaded') continue;
      const start = now();
      const result = this.store.stage(next, () => memory.assertDeviceBudget(next.bytes, `group "${next.id}" (prefetch)`, this.advice()), only);
      if (result === 'skipped') continue;
      staged++;
      next.prefetched = true;
      const ms = now() - start;
      emit('prefetch', { path: next.id, bytes: next.bytes, ms, staged: result === 'staging' });
      // Every arrival on the device is an onload (so onloads and offloads pair up); a staged group arrives later.
      if (result === 'device') emit('onload', { path: next.id, bytes: next.bytes, ms, prefetched: true });
    }
  }

  private offload(group: ModuleGroup): void {
    if (group.state === 'offloaded') return;
    if (group.state === 'staging') {
      this.store.cancel(group);
      return;
    }
    const start = now();
    this.store.offload(group);
    emit('offload', { path: group.id, bytes: group.bytes, ms: now() - start });
  }

  private finishRecording(recorded: ModuleGroup[]): void {
    this.order = recorded;
    recorded.forEach((g, i) => (g.position = i));
    for (const [g, m] of this.lastToRun) g.offloadLeader = m;
    if (this.config.keepResident === 'first_last' && recorded.length > 0) {
      for (const g of new Set([recorded[0]!, recorded[recorded.length - 1]!])) {
        g.pinned = true;
        this.makeResident(g, g.modules[0]!);
      }
    }
  }

  private advice(): string {
    return this.config.useStream && this.config.prefetchDepth > 1
      ? `Use a smaller prefetchDepth (now ${this.config.prefetchDepth}), smaller groups (leaf_level, a smaller numBlocksPerGroup), or fewer keepResident modules.`
      : 'Use smaller groups (offloadType leaf_level, a smaller numBlocksPerGroup) or fewer keepResident modules.';
  }

  /** Puts every weight back on the device for good (remove()): checks the budget first, changes nothing if it fails. */
  restoreAll(): void {
    const missing = this.groups.filter((g) => g.state !== 'device' && !this.allHome(g)).reduce((n, g) => n + g.bytes, 0);
    memory.assertDeviceBudget(missing, `every group of ${this.root.path === '' ? this.root.constructor.name : `"${this.root.path}"`} (removing group offloading)`, 'Keep group offloading applied, or free device memory first.');
    for (const g of this.groups) {
      this.restoreGroup(g);
      g.pinned = false;
    }
    this.close();
  }

  /**
   * Puts one group's weights back where they were at apply: on the device, or in their own file for those that
   * started on disk. A group of such weights only leaves the device (if it is there); it never onloads.
   */
  restoreGroup(g: ModuleGroup): void {
    if (g.state === 'staging') this.store.cancel(g);
    if (!this.allHome(g)) this.store.restore(g);
    else if (g.state === 'device') this.store.offload(g);
    for (const p of g.params) this.homes?.sendHome(p);
  }

  private allHome(g: ModuleGroup): boolean {
    return this.homes !== undefined && g.params.length > 0 && g.params.every((p) => this.homes!.has(p));
  }

  /** Releases staging memory, created files and the worker; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
  }

  /** The root was disposed with the strategy applied: weights are gone, release the rest. */
  detach(): void {
    for (const g of this.groups) if (g.state === 'staging') this.store.cancel(g);
    this.close();
  }
}
