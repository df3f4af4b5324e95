// `npm run demo`: fetches the real upscaler into the repository's .cache with the zoo (Node: npm pack, once), then
// serves the demo page with Vite and prints its URL. `node examples/browser/serve.mjs [--port 5173]`.
// startDemoServer is also what the page's test calls.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = fileURLToPath(new URL('./vite.config.ts', import.meta.url));
export const UPSCALER = 'upscaler-esrgan-2x';
/** Where main.ts expects the model (relative to the served root): the zoo's cache folder in the repository. */
export const MODEL_CACHE_DIR = path.join(root, '.cache', 'models');
export const DEMO_PATH = 'examples/browser/';

/**
 * The zoo's fetchPretrained, run from the sources through Vite's SSR loader (the repository's scripts run on Node
 * without a TypeScript loader, and dist/ may be absent or stale). Returns the folder of model.json.
 */
export async function fetchUpscaler() {
  const loader = await createServer({ root, configFile: false, logLevel: 'error', cacheDir: path.join(root, '.cache', 'vite-demo-ssr'), server: { middlewareMode: true, hmr: false } });
  try {
    const zoo = await loader.ssrLoadModule('/src/node-zoo.ts');
    return await zoo.fetchPretrained(UPSCALER, { cacheDir: MODEL_CACHE_DIR });
  } finally {
    await loader.close();
  }
}

/** Fetches the upscaler, starts Vite on 127.0.0.1 and returns the page's URL and a close function. */
export async function startDemoServer({ port = 5173, strictPort = false } = {}) {
  await fetchUpscaler();
  const server = await createServer({ configFile: CONFIG, server: { host: '127.0.0.1', port, strictPort } });
  await server.listen();
  return { url: `${server.resolvedUrls.local[0]}${DEMO_PATH}`, close: () => server.close() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--port');
  const { url } = await startDemoServer({ port: i < 0 ? 5173 : Number(process.argv[i + 1]) });
  console.log(`memhooks demo: ${url}  (Ctrl-C stops it)`);
}
