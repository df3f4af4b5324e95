import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The docs examples (examples/docs) import 'memhooks' (and its subpaths) as a user does; in the tests that is the source.
  resolve: {
    alias: [
      { find: /^memhooks$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^memhooks\/plugin$/, replacement: fileURLToPath(new URL('./src/plugin.ts', import.meta.url)) },
      { find: /^memhooks\/zoo$/, replacement: fileURLToPath(new URL('./src/zoo.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    // The suites and the bench smoke run share the models fetched once into the repository's .cache.
    env: { MEMHOOKS_CACHE: '.cache' },
    hookTimeout: 120_000,
  },
});
