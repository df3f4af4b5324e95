import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';
import { TierSnapshot } from './TierSnapshot.js';

/**
 * One module under model offload: all its weights are on the device, or all on the host. Onloading keeps
 * the host copies, so offloading is a dispose (weights are immutable during inference; a weight assigned
 * meanwhile is read back by Parameter.toHost, never lost).
 */
export class ModelOffloadState {
  readonly snapshot: TierSnapshot;
  /** Set by remove(): the weights are back on the device for good and this state no longer moves them. */
  closed = false;

  constructor(readonly module: Module) {
    this.snapshot = new TierSnapshot(module.parameters());
  }

  /** True when any weight is on the device (accelerate looks at the first parameter; we look at all). */
  get onloaded(): boolean {
    return this.snapshot.params.some((p) => p.isResident);
  }

  onload(): void {
    if (this.closed) return;
    const missing = this.snapshot.params.filter((p) => !p.isResident);
    if (missing.length === 0) return;
    const bytes = missing.reduce((n, p) => n + p.byteLength, 0);
    const path = describeModule(this.module);
    memory.assertDeviceBudget(bytes, `module ${path} (model offload onloads a whole module)`, 'Use sequential offload or group offloading for this module instead.');
    const start = performance.now();
    for (const p of missing) p.toDevice({ keepHostCopy: true });
    emit('onload', { path, bytes, ms: performance.now() - start });
  }

  offload(): void {
    if (this.closed) return;
    const resident = this.snapshot.params.filter((p) => p.isResident);
    if (resident.length === 0) return;
    const start = performance.now();
    for (const p of resident) p.toHost();
    emit('offload', { path: describeModule(this.module), bytes: resident.reduce((n, p) => n + p.byteLength, 0), ms: performance.now() - start });
  }
}
