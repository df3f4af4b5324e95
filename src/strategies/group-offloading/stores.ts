import * as tf from '@tensorflow/tfjs-core';
import { assertRoomForDecoded, attachDecodedFrom, copyShippedCodes, decodeItems, dequantizeItems, hostDecodeLayout, uploadShippedFrom, type DecodeTarget } from './decodeStaging.js';
import type { DiskHomes } from './homes.js';
import type { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';
import { StagingSlots } from './StagingSlots.js';

/**
 * Backends whose uploads proceed beside the running kernels (GPU backends copy asynchronously), so that an
 * upload issued before the current group computes overlaps it. On `cpu` and `wasm` an upload is a copy on the
 * kernels' own thread: issuing it early gains nothing and was measured 1.15x slower on wasm (the weight
 * leaves the cache before XNNPACK re-packs it), so the host tier does not stage there. Exported so that a
 * backend added later can be listed, and so that tests can run the early-upload path on `cpu`.
 */
export const EARLY_UPLOAD_BACKENDS = new Set<string>(['webgl', 'webgpu', 'tensorflow']);

/**
 * Where a group's weights wait between uses, and how they travel. The runtime decides when; a store
 * decides how. Every method leaves the group's `state` consistent with where the bytes are.
 */
export interface GroupStore {
  readonly tier: 'host' | 'disk';
  /** At apply, before any weight moves: writes what must be written. Throws leaving nothing behind. */
  prepare?(): void;
  /** At apply: takes the weights off the device (a readback the first time) or writes them out. */
  offloadInitial(group: ModuleGroup): void;
  /** Synchronous onload on first use. */
  onload(group: ModuleGroup): void;
  /** Offload after use: a dispose where a copy exists elsewhere. */
  offload(group: ModuleGroup): void;
  /**
   * Starts moving the group ahead of its use: 'device' when the bytes are now on the device (the host tier
   * uploads right away), 'staging' when the transfer worker is reading them (complete() finishes), 'skipped'
   * when nothing would overlap or no staging memory is free (the group is then onloaded when it runs).
   * `assertRoom` throws when putting the group on the device now would pass the device budget. `only: 'worker'`
   * stages a group only if its transfer goes to the worker (nothing lands on the device now); `only: 'device'` only
   * if it is uploaded now (no job for the worker).
   */
  stage(group: ModuleGroup, assertRoom: () => void, only?: 'worker' | 'device'): 'device' | 'staging' | 'skipped';
  /**
   * Finishes a staged transfer: waits only if the worker is not done, uploads. Returns the ms spent waiting, or
   * 'late' when the worker is not done and this thread may not block (a page's main thread, or no shared memory):
   * the group was then onloaded synchronously without the transfer (transfer/threads.ts).
   */
  complete(group: ModuleGroup): number | 'late';
  /** Drops a staged transfer that was not used (the forward ended or failed first). */
  cancel(group: ModuleGroup): void;
  /** At remove(): the group's weights go back to the device for good, with no copy kept elsewhere. */
  restore(group: ModuleGroup): void;
  /** Releases files this store created, staging memory and the worker. Idempotent. */
  close(): void;
}

/**
 * Host tier: every weight keeps its host copy, so offloading is a dispose and onloading an upload. A group
 * holding layerwise-cast weights, or weights holding shipped codes (wrapGraphModel's hostWeights: 'shipped'), is
 * staged when useStream is on, on every backend: the transfer worker decodes its codes into float32 in a staging
 * slot while the previous group computes (decodeStaging.ts). Without useStream, toDevice decodes shipped codes
 * on the main thread.
 */
export class HostStore implements GroupStore {
  readonly tier = 'host' as const;
  /** Groups with low-precision or shipped-code weights, and where their codes and float32 values go in a slot. */
  private readonly layouts = new Map<ModuleGroup, { targets: DecodeTarget[]; end: number }>();
  /** With useStream and cast weights: staging memory and the transfer worker, which decodes ahead of use. */
  private slots: StagingSlots | undefined;
  /** Weights that started on the disk tier: read from their file at onload, sent back to it at offload (set by the strategy). */
  homes: DiskHomes | undefined;

  constructor(
    private readonly config?: GroupOffloadingConfig,
    private readonly groups: readonly ModuleGroup[] = [],
  ) {}

  /** With useStream and cast or shipped-code weights: staging slots for their decoding and a lease on the transfer worker. */
  prepare(): void {
    if (this.config?.useStream !== true) return;
    for (const g of this.groups) {
      const layout = hostDecodeLayout(g.params);
      if (layout.targets.length > 0) this.layouts.set(g, layout);
    }
    if (this.layouts.size === 0) return;
    this.slots = new StagingSlots(Math.max(...[...this.layouts.values()].map((l) => l.end)), this.config);
  }

  offloadInitial(group: ModuleGroup): void {
    this.offload(group);
  }

  onload(group: ModuleGroup): void {
    for (const p of group.params) if (this.homes?.onload(p) !== true) p.toDevice({ keepHostCopy: true });
    group.state = 'device';
  }

  offload(group: ModuleGroup): void {
    // toHost() is a dispose while the kept copy is current; a weight assigned meanwhile is read back. For a
    // cast weight it also disposes the decoded tensor a prefetch attached (the one place that releases it).
    for (const p of group.params) if (this.homes?.offload(p) !== true) p.toHost();
    this.slots?.releaseHeld(group);
    group.state = 'offloaded';
  }

  stage(group: ModuleGroup, assertRoom: () => void, only?: 'worker' | 'device'): 'device' | 'staging' | 'skipped' {
    const layout = this.layouts.get(group);
    if (layout !== undefined) return only === 'device' ? 'skipped' : this.stageDecode(group, layout, assertRoom);
    if (only === 'worker') return 'skipped';
    // Nothing to prepare off-thread for float32 host bytes: the upload itself is the transfer. Issuing it
    // early is what a copy stream does where the copy overlaps the running kernels (EARLY_UPLOAD_BACKENDS).
    if (!EARLY_UPLOAD_BACKENDS.has(tf.getBackend())) return 'skipped';
    assertRoom();
    this.onload(group);
    return 'device';
  }

  complete(group: ModuleGroup): number | 'late' {
    const flight = this.slots?.take(group);
    if (flight === undefined) return 0;
    let waited: number | 'late';
    try {
      waited = this.slots!.settle(flight, `decoding group "${group.id}"`);
      if (waited !== 'late') assertRoomForDecoded(group, flight.targets, 'onload');
    } catch (error) {
      this.slots!.release(flight.slot);
      group.state = 'offloaded';
      throw error;
    }
    // Not decoded yet, and this thread may not wait: onload the codes now (the casting hook decodes them here, and
    // shipped codes are dequantized by the upload), as without a stream; the slot stays set aside (StagingSlots).
    if (waited === 'late') {
      this.onload(group);
      return 'late';
    }
    // Shipped-code weights get the values the worker decoded; the others (and those) are then onloaded as usual.
    const shippedAdopted = uploadShippedFrom(flight.slot.buffer, flight.targets.filter((t) => t.shipped === true));
    this.onload(group);
    // Uploads copy the values on most backends (the slot is free again); cpu adopts them (held to offload).
    if (attachDecodedFrom(group, flight.slot.buffer, flight.targets, waited) || shippedAdopted) this.slots!.hold(group, flight.slot);
    else this.slots!.release(flight.slot);
    return waited;
  }

  cancel(group: ModuleGroup): void {
    this.slots?.cancel(group, `decoding group "${group.id}"`);
    group.state = 'offloaded';
  }

  restore(group: ModuleGroup): void {
    if (group.state === 'staging') this.cancel(group);
    // Decoded values a prefetch attached would otherwise stay on the device for good (and may live in a slot
    // on cpu): drop them; once group offloading is gone, the casting hook decodes per forward again.
    for (const p of group.params) if (p.isLowPrecision) p.detachDecoded();
    this.slots?.releaseHeld(group);
    for (const p of group.params) {
      p.toDevice({ keepHostCopy: true });
      p.dropHostCopy();
    }
    group.state = 'device';
  }

  close(): void {
    for (const g of this.slots?.stagedGroups() ?? []) this.cancel(g);
    this.slots?.close();
  }

  /** Copies the group's codes into a slot and posts their decoding; 'skipped' when no slot is free. */
  private stageDecode(group: ModuleGroup, layout: { targets: DecodeTarget[]; end: number }, assertRoom: () => void): 'staging' | 'skipped' {
    assertRoom();
    assertRoomForDecoded(group, layout.targets, 'prefetch');
    const free = this.slots?.acquire(layout.end);
    if (free === undefined) return 'skipped';
    const { slot, control } = free;
    const cast = layout.targets.filter((t) => t.shipped !== true);
    for (const t of cast) {
      const words = t.param.hostData();
      new Int32Array(slot.buffer, t.codesAt, words.length).set(words as Int32Array);
    }
    // Weights assigned since apply hold float32 values, no codes: they are uploaded as usual at onload.
    const shipped = dequantizeItems(layout.targets);
    copyShippedCodes(slot.buffer, shipped.staged);
    this.slots!.decode(slot, control, decodeItems(cast), shipped.items);
    this.slots!.stage(group, { slot, control, targets: [...cast, ...shipped.staged] });
    group.state = 'staging';
    return 'staging';
  }
}
