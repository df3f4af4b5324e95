/**
 * Whether Atomics.wait may block the calling thread (Node, a dedicated Worker; not a page's main thread, where it
 * throws): asked of the engine itself, with a wait of 0 ms on a value that differs. Needs SharedArrayBuffer.
 */
export function atomicsWaitAllowed(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
