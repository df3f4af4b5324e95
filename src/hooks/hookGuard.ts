import type { Module } from '../models/Module.js';

/**
 * A module whose forward never runs on its own (a scope of a GraphModel that tfjs runs as a whole) carries a
 * guard: a hook registered on it would never run, so registration is refused with the guard's error before
 * anything changes. The key is process-global, so a registry of another copy of memhooks sees it too.
 */
const GUARD_KEY = Symbol.for('memhooks.hookGuard');

/** Throws the reason a hook named `hookName` cannot be registered on the module. */
export type HookGuard = (hookName: string) => void;

type Guarded = { [GUARD_KEY]?: HookGuard };

/** Puts `guard` on the module (undefined takes it off). */
export function setHookGuard(module: Module, guard: HookGuard | undefined): void {
  if (guard === undefined) delete (module as Guarded)[GUARD_KEY];
  else Object.defineProperty(module, GUARD_KEY, { value: guard, configurable: true, enumerable: false, writable: true });
}

/** Throws when the module refuses hooks; called before a registration changes anything. */
export function checkHookGuard(module: Module, hookName: string): void {
  (module as Guarded)[GUARD_KEY]?.(hookName);
}
