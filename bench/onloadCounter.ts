import { events, type TransferEvent } from '../src/index.js';

/**
 * Counts the bytes moved onto the device: every arrival on the device is one 'onload' event (group offloading emits
 * one for a prefetch that uploaded straight away as well as for a staged one completed later, so that onloads and
 * offloads pair up), so onloads alone count each byte once. `bytes` reads the count since the last `reset()`;
 * `stop()` detaches the listener (call it in a finally).
 */
export function countOnloadedBytes(): { readonly bytes: number; reset(): void; stop(): void } {
  let bytes = 0;
  const onOnload = (e: TransferEvent): void => {
    bytes += e.bytes;
  };
  events.on('onload', onOnload);
  return {
    get bytes() {
      return bytes;
    },
    reset: () => {
      bytes = 0;
    },
    stop: () => {
      events.off('onload', onOnload);
    },
  };
}
