import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // End-to-end files each start a gateway with inference workers; on 2 cores, two files at once is the limit.
    maxWorkers: 2,
    pool: 'forks',
  },
});
