import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { configDefaults, defineConfig } from 'vitest/config';
import { crossOriginIsolation, ISOLATED_REQUEST_HEADER } from './test/helpers/crossOriginIsolation.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './bench/browser/chromium.mjs';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// The backends the browser suite runs on, one vitest browser instance each: the same files on each, and every test's
// name is prefixed with its instance's name, so the output says which backend ran (the files log its device too).
const PAGE_BACKENDS = ['webgl', 'webgpu', 'wasm'] as const;

// Files that webgpu does not run, because memhooks reads GPU tensors synchronously (dataSync) in them: tiling blends its
// tiles on the host. On webgpu tfjs reads synchronously through an OffscreenCanvas, and under SwiftShader the page loses
// its WebGPU device a moment later ("A valid external Instance reference no longer exists"), in the middle of the test.
// It runs on webgpu once tiling blends on the device. (Layerwise casting ran here too until its decode moved to the
// host's words: src/runtime/int32Math.ts.)
const NOT_ON_WEBGPU = ['test/browser/tiling.test.ts'];

// The transfer path's files also run in one more page, served with COOP/COEP (cross-origin isolated: SharedArrayBuffer
// exists); every other page is not isolated (staging by transferable ArrayBuffers).
const ISOLATED_FILES = ['test/browser/transfer*.test.ts', 'test/browser/opfs*.test.ts'];

// Debian's chromium with the flags every page of this repository runs under (one list: bench/browser/chromium.mjs).
export default defineConfig({
  plugins: [crossOriginIsolation()],
  // A page imports memhooks as a bundled app does, through the browser entry points (the `browser` export condition
  // of package.json), from the source. A Node built-in reaching the page fails the import (vite externalises it).
  resolve: {
    alias: [
      { find: /^memhooks$/, replacement: here('./src/browser.ts') },
      { find: /^memhooks\/plugin$/, replacement: here('./src/browser-plugin.ts') },
      { find: /^memhooks\/zoo$/, replacement: here('./src/browser-zoo.ts') },
    ],
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    // In Node, before any page opens: fetches the real upscaler into .cache, which the vite server serves to the pages.
    // Then starts the range server that test/browser/url.test.ts reads safetensors from, on another origin (CORS).
    globalSetup: ['test/helpers/browserGlobalSetup.ts', 'test/helpers/rangeServerSetup.ts'],
    // SwiftShader compiles and rasterizes on the CPU: a test's first predict on a GPU backend compiles the upscaler's
    // shaders, which took 20-60 s here on a busy 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One file at a time in each backend's page (the three pages run side by side).
    fileParallelism: false,
    // The files of one backend share its page: tfjs compiles the upscaler's shaders once per page, not once per file.
    // Each test disposes what it made (expectNoLeaks, trackModels).
    isolate: false,
    browser: {
      enabled: true,
      headless: true,
      // A failing test's screenshot of a page that draws nothing says nothing; the error and its stack do.
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] } }),
      instances: [
        ...PAGE_BACKENDS.map((backend) => ({
          browser: 'chromium' as const,
          name: backend,
          provide: { backend },
          ...(backend === 'webgpu' ? { exclude: [...configDefaults.exclude, ...NOT_ON_WEBGPU] } : {}),
        })),
        {
          browser: 'chromium' as const,
          name: 'wasm, cross-origin isolated',
          provide: { backend: 'wasm', isolated: true },
          include: ISOLATED_FILES,
          provider: playwright({
            launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] },
            contextOptions: { extraHTTPHeaders: { [ISOLATED_REQUEST_HEADER]: '1' } },
          }),
        },
      ],
    },
  },
});
