import { EventEmitter } from 'eventemitter3';

/** A transfer or cast of weights, as reported by strategies. */
export interface TransferEvent {
  /** Module path (or group id) the bytes belong to. */
  path: string;
  bytes: number;
  ms: number;
  [extra: string]: unknown;
}

/** A hook entering or leaving a module's registry. */
export interface HookEvent {
  name: string;
  /** Module path as discovered from the root ('' for a root). */
  path: string;
}

export interface MemhooksEvents {
  onload: (event: TransferEvent) => void;
  offload: (event: TransferEvent) => void;
  prefetch: (event: TransferEvent) => void;
  wait: (event: TransferEvent) => void;
  cast: (event: TransferEvent) => void;
  'hook:registered': (event: HookEvent) => void;
  'hook:removed': (event: HookEvent) => void;
}

/** Typed event bus. Listeners observe; they never steer what memhooks does. */
export const events = new EventEmitter<MemhooksEvents>();

/**
 * Emits after the state change it reports is complete. A listener that throws must not leave a hook
 * half-registered or abort a forward, so its error is reported (console.warn) and swallowed here.
 * Exported as `emitEvent` for plugins: a strategy that moves weights emits `onload` / `offload` through it,
 * never through `events.emit`, whose listener errors would propagate into the user's forward.
 *
 * @example
 * emitEvent('onload', { path: 'blocks.0', bytes, ms: performance.now() - start });
 */
export function emit<K extends keyof MemhooksEvents>(name: K, payload: Parameters<MemhooksEvents[K]>[0]): void {
  if (events.listenerCount(name) === 0) return;
  try {
    (events.emit as (n: K, p: unknown) => boolean)(name, payload);
  } catch (err) {
    console.warn(`memhooks: a listener of the "${String(name)}" event threw; events only observe, so it was ignored:`, err);
  }
}
