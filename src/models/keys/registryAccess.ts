/**
 * The registry lives on its module under a process-global symbol, so that two copies of the package in
 * one process see the same hooks. This file holds only the key and the dispose path, which lets Module
 * drop hooks without importing the registry (and without an import cycle).
 */
export const REGISTRY_KEY = Symbol.for('memhooks.hookRegistry');

// Both members are internal (tagged so), as on HookRegistry, which implements this: the shipped declarations
// (stripInternal) leave them out of both, so the class still matches the interface there.
export interface DisposableRegistry {
  /** @internal Module.dispose: drops every hook without undoing it. */
  clearForDispose(): void;
  /** @internal True when `fn` is the dispatching forward this registry installed. */
  ownsForward(fn: unknown): boolean;
}

export function clearHooksForDispose(module: object): void {
  (module as Record<symbol, DisposableRegistry | undefined>)[REGISTRY_KEY]?.clearForDispose();
}
