import { defineConfig } from 'vitest/config';

export default defineConfig({
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
