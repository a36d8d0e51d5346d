import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The end-to-end files stream audio at real time against a gateway with inference workers: on 2 cores two of
    // them side by side would measure each other instead of earshot. One file at a time; each file runs its
    // calls concurrently.
    fileParallelism: false,
    pool: 'forks',
  },
});
