import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // The docs examples (examples/docs) import 'memhooks' (and its subpaths) as a user does; in the tests that is the source,
  // through the Node entries as the package's exports map gives them to Node (they register the Node platform).
  resolve: {
    alias: [
      { find: /^memhooks$/, replacement: fileURLToPath(new URL('./src/node.ts', import.meta.url)) },
      { find: /^memhooks\/plugin$/, replacement: fileURLToPath(new URL('./src/node-plugin.ts', import.meta.url)) },
      { find: /^memhooks\/zoo$/, replacement: fileURLToPath(new URL('./src/node-zoo.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser runs in headless Chromium under its own config (vitest.browser.config.ts).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    // The platform seam (src/base/platform): Node's, for tests that import files deep inside src/ without an entry.
    setupFiles: ['test/helpers/nodePlatform.ts'],
    pool: 'forks',
    // Two forks even on two cores (vitest's default is cores − 1 = one): much of the suite waits on child processes,
    // npm pack, the transfer worker and builds, so two forks took the Node run from 489 s to 292 s here, all green.
    maxWorkers: 2,
    testTimeout: 60_000,
    // The suites and the bench smoke run share the models fetched once into the repository's .cache.
    env: { MEMHOOKS_CACHE: '.cache' },
    hookTimeout: 120_000,
  },
});
