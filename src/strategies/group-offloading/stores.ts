import * as tf from '@tensorflow/tfjs-core';
import type { ModuleGroup } from './ModuleGroup.js';

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
   * `assertRoom` throws when putting the group on the device now would pass the device budget.
   */
  stage(group: ModuleGroup, assertRoom: () => void): 'device' | 'staging' | 'skipped';
  /** Finishes a staged transfer: waits only if the worker is not done, uploads. Returns the ms spent waiting. */
  complete(group: ModuleGroup): number;
  /** Drops a staged transfer that was not used (the forward ended or failed first). */
  cancel(group: ModuleGroup): void;
  /** At remove(): the group's weights go back to the device for good, with no copy kept elsewhere. */
  restore(group: ModuleGroup): void;
  /** Releases files this store created, staging memory and the worker. Idempotent. */
  close(): void;
}

/** Host tier: every weight keeps its float32 host copy, so offloading is a dispose and onloading an upload. */
export class HostStore implements GroupStore {
  readonly tier = 'host' as const;

  offloadInitial(group: ModuleGroup): void {
    this.offload(group);
  }

  onload(group: ModuleGroup): void {
    for (const p of group.params) p.toDevice({ keepHostCopy: true });
    group.state = 'device';
  }

  offload(group: ModuleGroup): void {
    // toHost() is a dispose while the kept copy is current; a weight assigned meanwhile is read back.
    for (const p of group.params) p.toHost();
    group.state = 'offloaded';
  }

  stage(group: ModuleGroup, assertRoom: () => void): 'device' | 'skipped' {
    // Nothing to prepare off-thread for float32 host bytes: the upload itself is the transfer. Issuing it
    // early is what a copy stream does where the copy overlaps the running kernels (EARLY_UPLOAD_BACKENDS).
    if (!EARLY_UPLOAD_BACKENDS.has(tf.getBackend())) return 'skipped';
    assertRoom();
    this.onload(group);
    return 'device';
  }

  complete(): number {
    return 0;
  }

  cancel(group: ModuleGroup): void {
    group.state = 'offloaded';
  }

  restore(group: ModuleGroup): void {
    for (const p of group.params) {
      p.toDevice({ keepHostCopy: true });
      p.dropHostCopy();
    }
    group.state = 'device';
  }

  close(): void {}
}
