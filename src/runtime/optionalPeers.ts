import { ERROR_CODES, MemhooksError } from '../base/errors.js';

/**
 * Optional peers are imported only by the code that needs them, so that the package, its CLI and its
 * root entry load without them. This turns "cannot find the package" into a message that names the
 * package, says what needs it, and how to install it.
 */
export const OPTIONAL_PEERS = {
  '@tensorflow/tfjs-layers': '^4.22',
  '@tensorflow/tfjs-converter': '^4.22',
} as const;

export type OptionalPeer = keyof typeof OPTIONAL_PEERS;

/** True when `error` says that `pkg` itself is not installed (not a file inside a package that is). */
export function isMissingPackage(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  // Node quotes the specifier it could not find: "Cannot find module '<pkg>'" (require) or
  // "Cannot find package '<pkg>' imported from …" (import); a subpath would follow the name after a slash.
  return typeof message === 'string' && (message.includes(`'${pkg}'`) || message.includes(`'${pkg}/`));
}

/** The error for a missing optional peer: what needs it, and the install command. */
export function missingPeerError(pkg: OptionalPeer, neededFor: string): MemhooksError {
  // No `cause`: Node's "Cannot find module" and its require stack would only repeat this, at length.
  return new MemhooksError(
    ERROR_CODES.PEER_DEPENDENCY_MISSING,
    `${neededFor} needs the package ${pkg} (an optional peer of memhooks), which is not installed. ` +
      `Install it: npm install ${pkg}@${OPTIONAL_PEERS[pkg]}`,
  );
}

/**
 * Runs `load` (an import of the peer, or of a module that imports it) and returns what it loads; when
 * the peer is not installed, throws missingPeerError instead. Any other failure is rethrown as it is.
 *
 * @example const tfl = await importOptionalPeer('@tensorflow/tfjs-layers', 'Loading a LayersModel', () => import('@tensorflow/tfjs-layers'));
 */
export async function importOptionalPeer<T>(pkg: OptionalPeer, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, pkg)) throw missingPeerError(pkg, neededFor);
    throw error;
  }
}
