import { brand } from '../models/brand.js';
import type { Module } from '../models/Module.js';

/** What applying a strategy returns: remove() restores the module exactly. Idempotent; works with `using`. */
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
}

/**
 * A memory strategy plugin. Subclass it, decorate it with @strategy(name), and users apply it with
 * applyStrategy(module, name, options).
 *
 * Contract: `validate` checks everything and throws a MemhooksError before anything changes; `apply`
 * then changes the module and returns how to undo it. applyStrategy refuses the application when a
 * strategy this one conflicts with (or that conflicts with this one) is applied to the same module, an
 * ancestor or a descendant.
 */
export abstract class Strategy<Options = unknown> {
  /** Names of strategies this one cannot be combined with on the same modules. */
  readonly conflictsWith: readonly string[] = [];

  validate(_module: Module, _options: Options): void {}

  abstract apply(module: Module, options: Options): Undo;
}

brand(Strategy, 'Strategy');
