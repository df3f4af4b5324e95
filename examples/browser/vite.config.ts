// Vite's config for the demo page (`npm run demo`, examples/browser/serve.mjs). It serves the repository root, so
// that the page reaches the real upscaler in .cache/models and the wasm backend's binaries in node_modules; the
// page itself is /examples/browser/. 'memhooks' and its subpaths resolve to the browser entry points in the
// sources (what the package's `browser` export condition names in its build), as a bundled app would get them.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export default defineConfig({
  root: repo(''),
  cacheDir: repo('.cache/vite-demo'),
  resolve: {
    // Strings, not patterns (the dependency scan applies only these); the subpaths first, 'memhooks' alone last.
    alias: [
      { find: 'memhooks/plugin', replacement: repo('src/browser-plugin.ts') },
      { find: 'memhooks/zoo', replacement: repo('src/browser-zoo.ts') },
      { find: 'memhooks', replacement: repo('src/browser.ts') },
    ],
  },
  // tfjs' packages are bundled once, up front. No scan of the page for more: Vite's scan does not apply the aliases
  // above and would call memhooks a missing package.
  optimizeDeps: {
    noDiscovery: true,
    entries: [],
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-layers',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-wasm',
      'reflect-metadata',
      'tsyringe',
      'eventemitter3',
    ],
  },
  // One page: the URL a run opens is /examples/browser/?model=…&strategy=…&run=1.
  server: { open: false },
  logLevel: 'warn',
});
