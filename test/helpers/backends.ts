import { useBackend } from '../../src/runtime/backends.js';

/** Every numeric suite runs on both embedded backends. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

export { useBackend };
