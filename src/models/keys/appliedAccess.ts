/**
 * Where a module keeps the strategies applied directly to it: a process-global symbol, so that both builds
 * of memhooks in one process see the same applications. This file imports nothing, which lets
 * Module.dispose mark them removed without importing the registry (and without an import cycle).
 */
export const APPLIED_KEY = Symbol.for('memhooks.appliedStrategies');

/** One application, as the module records it. */
export interface AppliedRecord {
  readonly name: string;
  readonly conflictsWith: readonly string[];
  /** The modules it acts on (Strategy.covers), for conflict checks. */
  readonly covered: ReadonlySet<object>;
  /** Marks the handle removed without undoing anything (the module is being disposed). */
  detach(): void;
}

/** The applications on a module, oldest first; undefined when none ever was. */
export function appliedRecords(module: object): Set<AppliedRecord> | undefined {
  return (module as Record<symbol, Set<AppliedRecord> | undefined>)[APPLIED_KEY];
}

/**
 * Module.dispose: the hooks are dropped without being undone, so the strategies applied to this module end
 * here too: their handles turn `removed` and their remove() becomes a no-op (undoing would onload weights
 * that are being released). Newest first, as removal would.
 */
export function detachStrategiesForDispose(module: object): void {
  const records = appliedRecords(module);
  if (records === undefined) return;
  for (const record of [...records].reverse()) record.detach();
}
