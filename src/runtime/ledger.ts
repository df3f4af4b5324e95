/**
 * Bytes that memhooks itself holds outside the backend: host copies of parameters (plain JS memory) and
 * files on disk. The tfjs engine cannot see these, so whoever allocates them reports them here.
 * Kept on a Symbol.for key so that two copies of the package in one process share one ledger.
 */
interface Ledger {
  hostBytes: number;
  diskBytes: number;
}

const KEY = Symbol.for('memhooks.ledger');
const holder = globalThis as unknown as Record<symbol, Ledger | undefined>;
export const ledger: Ledger = (holder[KEY] ??= { hostBytes: 0, diskBytes: 0 });
