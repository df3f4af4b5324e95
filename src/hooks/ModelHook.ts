import { brand } from '../base/brand.js';
import type { Module } from '../models/Module.js';

/** Calls the rest of the chain (the inner hooks and the module's own forward) with the given arguments. */
export type NextForward = (...args: any[]) => any;

/**
 * A hook on one module's forward. Subclass it and override what you need; every method has a no-op default.
 *
 * Order: the most recently registered hook is the outermost. Its `preForward` runs first and its
 * `postForward` last. A hook that defines `newForward` replaces the inner call and reaches the rest of
 * the chain through `next(...args)` (it may skip it, as a cache does).
 */
export abstract class ModelHook {
  /** A stateful hook keeps state between forwards and must implement `resetState`. */
  readonly stateful: boolean = false;

  /** Runs once, at registration, before the hook is in the chain. Throwing refuses the registration. */
  initializeHook(_module: Module): void {}

  /** Runs at removal, before the hook leaves the chain: undo what initializeHook did. Throwing vetoes removal. */
  deinitializeHook(_module: Module): void {}

  /** May replace the arguments; return the arguments to pass on. */
  preForward(_module: Module, args: any[]): any[] {
    return args;
  }

  /** May replace the output; return the output to pass on. */
  postForward(_module: Module, output: any): any {
    return output;
  }

  /** Optional: replaces the inner call. `next(...args)` runs the inner hooks and the module's forward. */
  newForward?(module: Module, args: any[], next: NextForward): any;

  /**
   * Optional: the forward threw after this hook's preForward ran. Runs for every such hook, innermost
   * first, before the error propagates unchanged. Restore state here (offload what was onloaded).
   */
  onForwardError?(module: Module, error: unknown): void;

  /** The module is being disposed with this hook still attached: release resources, restore nothing. */
  detachHook(_module: Module): void {}

  /** Clears the state of a stateful hook (e.g. between pipeline calls). */
  resetState(_module: Module): void {}

  toString(): string {
    return this.constructor.name;
  }
}

brand(ModelHook, 'ModelHook');
