import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/temp-cleanup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on a 2-core machine: most tests wait on the CLI processes they start
    // (the whole suite took 13.7 min with one, 10.4 min with two).
    maxWorkers: 2,
  },
});
