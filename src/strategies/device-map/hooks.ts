import * as tf from '@tensorflow/tfjs-core';
import { ForwardScopedHook } from '../../hooks/ForwardScopedHook.js';
import { ModelHook } from '../../hooks/ModelHook.js';
import type { Module } from '../../models/Module.js';
import type { DiskRef, Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';
import { describeModule } from '../../models/paths.js';
import { endUse, type ParameterLeases } from '../shared/ParameterLeases.js';
import { switchBackend } from './backends.js';

export const DEVICE_MAP_BACKEND_HOOK = 'device_map_backend';
export const DEVICE_MAP_ONLOAD_HOOK = 'device_map_onload';
export const DEVICE_MAP_DISK_HOOK = 'device_map_disk';

/**
 * Runs a module's forward on the backend its device-map entry names, then switches back. Inputs from
 * another backend move when the first kernel reads them (bit for bit); the output stays on this backend
 * until the next module on another backend reads it. A stack makes re-entrant calls safe.
 */
export class BackendHook extends ModelHook {
  private readonly previous: string[] = [];

  constructor(readonly backend: string) {
    super();
  }

  override preForward(_module: Module, args: any[]): any[] {
    this.previous.push(tf.getBackend());
    switchBackend(this.backend);
    return args;
  }

  override postForward(_module: Module, output: any): any {
    switchBackend(this.previous.pop()!);
    return output;
  }

  override onForwardError(): void {
    const back = this.previous.pop();
    if (back !== undefined) switchBackend(back);
  }
}

/**
 * For a module whose own weights the map puts on 'host' (accelerate's AlignDevicesHook with offload):
 * uploads them to the active backend for the forward and drops them after (the host copy was kept, so
 * dropping is a dispose). Leases are shared, so a tied weight is uploaded once.
 */
export class HostOnloadHook extends ForwardScopedHook {
  constructor(private readonly leases: ParameterLeases, private readonly params: readonly Parameter[]) {
    super();
  }

  protected override begin(module: Module): void {
    this.leases.acquire(this.params, describeModule(module));
  }

  protected override finish(module: Module): void {
    this.leases.release(this.params, describeModule(module));
  }
}

/**
 * For a module whose own weights the map puts on 'disk': reads them from their files and uploads them for
 * the forward, and drops them after (back to disk is a dispose: the file still holds them). Shared counts
 * make a weight used by two modules load once.
 */
export class DiskOnloadHook extends ForwardScopedHook {
  constructor(private readonly counts: Map<Parameter, number>, private readonly params: ReadonlyArray<readonly [Parameter, DiskRef]>) {
    super();
  }

  protected override begin(module: Module): void {
    const path = describeModule(module);
    const missing = this.params.filter(([p]) => !this.counts.has(p) && !p.isResident);
    const bytes = missing.reduce((n, [p]) => n + p.byteLength, 0);
    if (bytes > 0) memory.assertDeviceBudget(bytes, `the disk weights of module ${path}`, 'Map fewer modules to the device, or split this one.');
    const start = performance.now();
    for (const [p] of missing) p.toDevice();
    for (const [p] of this.params) this.counts.set(p, (this.counts.get(p) ?? 0) + 1);
    if (bytes > 0) emit('onload', { path, bytes, ms: performance.now() - start });
  }

  protected override finish(module: Module): void {
    const start = performance.now();
    let bytes = 0;
    for (const [p, ref] of this.params) {
      if (endUse(this.counts, p) && p.isResident) {
        bytes += p.byteLength;
        p.toDisk(ref);
      }
    }
    if (bytes > 0) emit('offload', { path: describeModule(module), bytes, ms: performance.now() - start });
  }
}
