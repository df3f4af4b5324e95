import type * as tf from '@tensorflow/tfjs-core';
import type { LowPrecisionDtype } from '../../dtypes/index.js';
import { ModelHook } from '../../hooks/ModelHook.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';

/**
 * Keeps one leaf's weights in low precision and gives them float32 values for the length of its forward,
 * as diffusers' LayerwiseCastingHook does with storage and compute dtypes:
 *
 * - initializeHook: the weights are re-stored as `storageDtype` codes (the float32 bytes are freed);
 * - preForward: each weight gets a decoded float32 tensor attached, which read() returns;
 * - postForward / onForwardError: the decoded tensors are disposed, so between forwards only codes remain;
 * - deinitializeHook: float32 storage again, holding the decoded values (unlike diffusers, removable).
 *
 * A weight tied between two cast leaves is cast by the first hook and decoded by whichever runs; a weight
 * already decoded by an enclosing call (a leaf re-entered), or by group offloading's prefetch on the transfer
 * worker, is left to whoever attached it (the offload releases a prefetched one).
 */
export class LayerwiseCastingHook extends ModelHook {
  private owned: Parameter[] = [];
  /** The weights each active call decoded (a stack: a shared leaf may run inside itself). */
  private readonly frames: Parameter[][] = [];

  constructor(
    private readonly path: string,
    private readonly params: readonly Parameter[],
    private readonly storageDtype: LowPrecisionDtype,
    private readonly decode: (p: Parameter) => tf.Tensor,
    /** Reported in the 'cast' event; a prefetch that decoded on the transfer worker reports 'worker'. */
    private readonly site: 'host' | 'device' = 'host',
  ) {
    super();
  }

  override initializeHook(): void {
    const owned: Parameter[] = [];
    try {
      for (const p of this.params) {
        if (p.isLowPrecision) continue;
        p.castStorage(this.storageDtype);
        owned.push(p);
      }
    } catch (error) {
      // Refused registration: put back what this hook had cast already.
      for (const p of owned) p.restoreFloat32Storage();
      throw error;
    }
    this.owned = owned;
  }

  override deinitializeHook(): void {
    this.release();
    for (const p of this.owned) p.restoreFloat32Storage();
    this.owned = [];
  }

  override preForward(_module: Module, args: any[]): any[] {
    const start = performance.now();
    const frame: Parameter[] = [];
    this.frames.push(frame);
    for (const p of this.params) {
      if (!p.isLowPrecision || p.hasDecoded) continue;
      p.attachDecoded(this.decode(p));
      frame.push(p);
    }
    if (frame.length > 0) {
      emit('cast', { path: this.path, bytes: frame.reduce((n, p) => n + p.size * 4, 0), ms: performance.now() - start, storageDtype: this.storageDtype, site: this.site });
    }
    return args;
  }

  override postForward(_module: Module, output: any): any {
    this.releaseFrame();
    return output;
  }

  override onForwardError(): void {
    this.releaseFrame();
  }

  override detachHook(): void {
    this.release();
  }

  private releaseFrame(): void {
    for (const p of this.frames.pop() ?? []) p.detachDecoded();
  }

  private release(): void {
    while (this.frames.length > 0) this.releaseFrame();
  }
}
