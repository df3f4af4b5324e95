import { removeProcessListeners } from '../base/platform/system.js';

/**
 * The wasm backend's emscripten glue, when it starts under Node, adds an 'uncaughtException' and an
 * 'unhandledRejection' listener to the process that only re-throw what they get. An error thrown from a
 * listener makes Node print the listener's source line instead of the line that threw (the glue's line; in a
 * minified build one line of about 30 KB) and exit with code 7 instead of 1. Without these listeners Node
 * treats uncaught errors the same way, and reports them where they were thrown.
 */
/**
 * A listener whose whole body re-throws its argument, optionally unless it is an instance of one class
 * (emscripten's ExitStatus, under whatever name a minifier gave it). Whitespace and semicolons are ignored.
 */
const RETHROW_ONLY = /^function\w*\((\w+)\)\{(?:if\(!\(\1instanceof[\w$]+\)\)\{?)?throw\1\}?\}$/;

/** Whether `listener` only re-throws its argument (the shape of emscripten's Node listeners). */
export function isRethrowOnlyListener(listener: Function): boolean {
  return RETHROW_ONLY.test(Function.prototype.toString.call(listener).replace(/[\s;]/g, ''));
}

/**
 * Removes the process listeners that only re-throw (see above), so that uncaught errors are reported at
 * their own throw site. Listeners that do anything else stay. Returns how many were removed.
 */
export function removeRethrowOnlyListeners(): number {
  // Through the platform seam: a page has no process, and removes none.
  return removeProcessListeners('uncaughtException', isRethrowOnlyListener) + removeProcessListeners('unhandledRejection', isRethrowOnlyListener);
}
