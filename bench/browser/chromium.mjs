// The one way the repository's Node scripts open pages (bench/browser, examples/browser, their tests): Vite serves
// the sources, Debian's /usr/bin/chromium (never a downloaded browser) runs them headless. SwiftShader, a CPU
// rasterizer, gives WebGL2 and a WebGPU adapter on a machine without a GPU.
import { chromium } from 'playwright';
import { createServer } from 'vite';

export const CHROMIUM_PATH = '/usr/bin/chromium';

// Playwright's launch gives every browser a fresh temporary profile (its own --user-data-dir, deleted on close).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
];

/** Headless Debian Chromium with the flags above. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A Vite dev server on 127.0.0.1 (a free port unless `port` is given). `config` is Vite's inline config: with no
 * `configFile` in it, no config file is read. Returns the server and its base URL (ending in '/').
 */
export async function serveWithVite({ port = 0, ...config }) {
  const server = await createServer({
    configFile: false,
    logLevel: 'warn',
    ...config,
    server: { host: '127.0.0.1', port, strictPort: port !== 0, ...config.server },
  });
  await server.listen();
  return { server, base: server.resolvedUrls.local[0] };
}
