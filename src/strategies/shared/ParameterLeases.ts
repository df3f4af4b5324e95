import type { Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';

/**
 * Counts, per weight, the forwards currently using it. A weight is uploaded when its first user starts and
 * dropped when its last user ends, so a weight shared by two modules (tied, or a module re-entered by a
 * nested call) is never offloaded under a forward that still reads it, and is uploaded once, not twice.
 */
export class ParameterLeases {
  private readonly counts = new Map<Parameter, number>();

  /** Uploads what is not on the device yet (after a budget check that allocates nothing when it fails). */
  acquire(params: readonly Parameter[], path: string): void {
    const missing = params.filter((p) => !this.counts.has(p) && !p.isResident);
    const bytes = missing.reduce((n, p) => n + p.byteLength, 0);
    if (bytes > 0) {
      memory.assertDeviceBudget(bytes, `the weights of module ${path}`, 'Nothing smaller than one module can be onloaded: split the module, or cast its weights lower.');
    }
    const start = performance.now();
    for (const p of missing) p.toDevice({ keepHostCopy: true });
    for (const p of params) this.counts.set(p, (this.counts.get(p) ?? 0) + 1);
    if (bytes > 0) emit('onload', { path, bytes, ms: performance.now() - start });
  }

  /** Ends one use of each weight; the last use offloads it (a dispose: the host copy was kept at upload). */
  release(params: readonly Parameter[], path: string): void {
    const start = performance.now();
    let bytes = 0;
    for (const p of params) {
      if (endUse(this.counts, p) && p.isResident) {
        bytes += p.byteLength;
        p.toHost();
      }
    }
    if (bytes > 0) emit('offload', { path, bytes, ms: performance.now() - start });
  }

  /** Forgets every lease (remove(): the weights go back to the device for good). */
  clear(): void {
    this.counts.clear();
  }
}

/**
 * Ends one use of `p` in `counts` (uses per weight, shared by the modules that read it); true when that was
 * its last use, so the caller drops the weight.
 */
export function endUse(counts: Map<Parameter, number>, p: Parameter): boolean {
  const n = (counts.get(p) ?? 1) - 1;
  if (n > 0) {
    counts.set(p, n);
    return false;
  }
  counts.delete(p);
  return true;
}
