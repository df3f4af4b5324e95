import { events, type TransferEvent } from '../src/index.js';

/**
 * Counts the bytes moved onto the device: every onload, plus prefetches that uploaded straight away (a prefetch
 * staged on the worker is counted by the onload that completes it). `bytes` reads the count since the last
 * `reset()`; `stop()` detaches the listeners (call it in a finally).
 */
export function countOnloadedBytes(): { readonly bytes: number; reset(): void; stop(): void } {
  let bytes = 0;
  const onOnload = (e: TransferEvent): void => {
    bytes += e.bytes;
  };
  const onPrefetch = (e: TransferEvent): void => {
    if (e['staged'] !== true) bytes += e.bytes;
  };
  events.on('onload', onOnload);
  events.on('prefetch', onPrefetch);
  return {
    get bytes() {
      return bytes;
    },
    reset: () => {
      bytes = 0;
    },
    stop: () => {
      events.off('onload', onOnload);
      events.off('prefetch', onPrefetch);
    },
  };
}
