import { brand } from '../base/brand.js';
import type { Module } from '../models/Module.js';

/**
 * What applying a strategy returns: remove() restores the module exactly. Idempotent; works with `using`.
 * `removed` turns true after remove(), and also when the module it was applied to (or an ancestor) is
 * disposed: dispose drops the hooks without undoing them, and remove() is a no-op from then on.
 */
export interface StrategyHandle {
  readonly name: string;
  readonly module: Module;
  readonly removed: boolean;
  remove(): void;
  [Symbol.dispose](): void;
}

/** What a strategy's apply returns: how to undo it. */
export interface Undo {
  remove(): void;
  /**
   * Optional: runs instead of `remove()` when the module is disposed with the strategy still applied. The
   * weights are being released then, so restore nothing; release what the strategy holds outside hooks
   * (files, workers, timers). Hooks get their own `detachHook`.
   */
  detach?(): void;
  /**
   * Only for a `replaceable` strategy: true once later applications of it have taken over everything this
   * one changed. The registry then counts the handle as removed, and its remove() does nothing.
   */
  readonly superseded?: boolean;
}

/**
 * A memory strategy plugin. Subclass it, decorate it with @strategy(name), and users apply it with
 * applyStrategy(module, name, options). Declare the options' type for the name in `StrategyOptionsMap`
 * (declaration merging) so that applyStrategy checks them.
 *
 * Contract: `validate` checks everything and throws a MemhooksError before anything changes; `apply`
 * then changes the module and returns how to undo it. applyStrategy refuses the application when a
 * strategy this one conflicts with (or that conflicts with this one) already covers one of the modules
 * this one covers (`covers`).
 */
export abstract class Strategy<Options = unknown> {
  /** Names of strategies this one cannot be combined with on the same modules. */
  readonly conflictsWith: readonly string[] = [];

  /**
   * A setting rather than a transformation (e.g. the attention processor): applying it again where it is
   * already applied replaces it instead of being refused. Its apply() then takes over what the earlier
   * applications governed, and reports through `Undo.superseded` when one of them has nothing left.
   */
  readonly replaceable: boolean = false;

  /**
   * The strategy promises fewer device bytes by moving weights off the device or storing them smaller (the
   * offloading family, layerwise casting). While
   * one such application is in force, the GPU backends give freed textures and buffers back instead of pooling
   * them (runtime/gpuPool.ts), so that what it offloads leaves the GPU, not only the count of live tensors.
   */
  readonly freesDeviceMemory: boolean = false;

  validate(_module: Module, _options: Options): void {}

  /**
   * The modules this application acts on, for conflict checks: two applications clash only when their
   * covered modules intersect. The default is the whole tree under `module` (itself included); a strategy
   * that touches only part of it (e.g. the modules named in its options) returns just those. Every module
   * returned must lie in `module`'s tree. Runs after `validate`.
   */
  covers(module: Module, _options: Options): Module[] {
    return module.modules();
  }

  abstract apply(module: Module, options: Options): Undo;
}

brand(Strategy, 'Strategy');
