import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { opfsReady } from '../base/platform/system.js';
import { removeRethrowOnlyListeners } from './rethrowListeners.js';

/** The package that registers each backend memhooks knows how to load. */
const BACKEND_PACKAGES: Readonly<Record<string, string>> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
};

/**
 * Makes `name` the active tfjs backend, importing its package when it is not registered yet, and waits
 * until it is ready. 'wasm' is the embedded default: its binary ships inside the npm package.
 */
export async function useBackend(name: string): Promise<void> {
  // engine().registryFactory is read instead of tf.findBackend, which would start initializing a backend.
  const registered = (): boolean => name in (tf.engine() as unknown as { registryFactory: object }).registryFactory;
  const pkg = BACKEND_PACKAGES[name];
  if (!registered() && pkg !== undefined) {
    try {
      // A bundler cannot follow a computed specifier; in a bundled app import the backend's package yourself.
      await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg);
    } catch (cause) {
      throw new MemhooksError(ERROR_CODES.BACKEND_UNAVAILABLE, `The "${name}" backend needs the package ${pkg}, which could not be loaded. Install it (npm install ${pkg}).`, { cause });
    }
  }
  // tfjs-node-gpu registers its backend under the same name as tfjs-node.
  const backendName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  if (!(backendName in (tf.engine() as unknown as { registryFactory: object }).registryFactory)) {
    throw new MemhooksError(ERROR_CODES.BACKEND_UNAVAILABLE, `No tfjs backend named "${name}" is registered. Known: ${Object.keys(BACKEND_PACKAGES).join(', ')}, or import your backend's package first.`);
  }
  const ok = await tf.setBackend(backendName);
  if (!ok) throw new MemhooksError(ERROR_CODES.BACKEND_UNAVAILABLE, `The "${name}" backend failed to initialize.`);
  await tf.ready();
  // The wasm glue's process listeners re-throw every uncaught error, so Node would report it at the glue's line.
  removeRethrowOnlyListeners();
  // In a page's Worker, the OPFS server (the disk tier's files) boots while this thread awaits.
  await opfsReady();
}
