import { ModelHook } from '../../hooks/ModelHook.js';
import type { Module } from '../../models/Module.js';
import type { ModelOffloadState } from './ModelOffloadState.js';

/**
 * accelerate's CpuOffload, on the root of one module: before the module's forward, the previous module of
 * the chain is offloaded (if it is on the device) and this module is onloaded whole. Nothing happens after
 * the forward: the module stays on the device until the next module of the chain runs or offload() is
 * called, which is what makes a denoiser called once per step cheap.
 */
export class ModelOffloadHook extends ModelHook {
  constructor(private readonly state: ModelOffloadState, private readonly previous: ModelOffloadState | undefined) {
    super();
  }

  override preForward(_module: Module, args: any[]): any[] {
    // Offload the predecessor first, so that both never need the device at once.
    if (this.previous !== undefined && !this.previous.closed && this.previous.onloaded) this.previous.offload();
    this.state.onload();
    return args;
  }
}
