import { ledger } from './ledger.js';

/**
 * The buffer that uploads from disk read their pieces into (models/parameter/pieces.ts), kept from one upload to
 * the next until this thread is idle (a 0 ms timer releases it): the uploads of a forward reuse one buffer instead of
 * leaving a garbage buffer (up to 32 MiB) per weight for a collector that runs late in a busy Worker. hostBytes
 * counts it while an upload uses it.
 */
let buffer: ArrayBuffer | undefined;
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

/** Calls `use` with a buffer of at least `bytes`, counted in hostBytes for the call. */
export function withUploadBuffer<T>(bytes: number, use: (buffer: ArrayBuffer) => T): T {
  if (buffer === undefined || buffer.byteLength < bytes) buffer = new ArrayBuffer(bytes);
  releaseTimer ??= setTimeout(() => {
    buffer = undefined;
    releaseTimer = undefined;
  }, 0);
  const held = buffer;
  ledger.hostBytes += held.byteLength;
  try {
    return use(held);
  } finally {
    ledger.hostBytes -= held.byteLength;
  }
}
