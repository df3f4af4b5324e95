/**
 * Where a module's weights live: 'device' (the active tfjs backend), a tfjs backend name ('cpu', 'wasm',
 * 'webgl', 'tensorflow', …: the module runs on that backend), 'host' (plain JS memory, onloaded for the
 * module's forward) or 'disk'.
 */
export type Device = 'device' | 'host' | 'disk' | (string & { readonly __backend?: never });

/** Module or parameter path → device; '' is the root. A path covers everything below it ('a.1' never 'a.10'). */
export type DeviceMap = Record<string, Device>;

/** Budgets per device (bytes or size strings such as '2GB'). */
export type MaxMemory = Record<string, number | string>;
