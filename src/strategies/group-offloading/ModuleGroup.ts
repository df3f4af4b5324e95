import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';

/** Where a group's weights are between its uses. */
export type GroupState = 'offloaded' | 'staging' | 'device';

/**
 * A set of weights that move together (diffusers' ModuleGroup). `modules` are the modules whose hooks
 * onload and offload the group; `params` are every weight they (and a parameter-only owner) hold, each once.
 */
export class ModuleGroup {
  /** 'device' until apply moves the weights off (they may start on the host; the store then has nothing to move). */
  state: GroupState = 'device';
  /** Never offloaded again (keepResident: 'first_last'). */
  pinned = false;
  /** Hooked modules of this group whose forward is running (a module re-entered counts twice). */
  active = 0;
  /** The module whose postForward offloads the group: the last of `modules` to run, once recorded. */
  offloadLeader: Module;
  /** Position in the recorded execution order; undefined until recorded or when the group never ran. */
  position: number | undefined;
  /** Whether the group's current device copy came from a prefetch (for the events and the tests). */
  prefetched = false;
  readonly bytes: number;

  constructor(
    /** Stable id: the module path at leaf level, `<list>_<first>_<last>` for chunks, `<Root>_unmatched_group`. */
    readonly id: string,
    readonly modules: readonly Module[],
    readonly params: readonly Parameter[],
  ) {
    this.offloadLeader = modules[modules.length - 1]!;
    this.bytes = params.reduce((n, p) => n + p.byteLength, 0);
  }

  toString(): string {
    return `group "${this.id}"`;
  }
}
