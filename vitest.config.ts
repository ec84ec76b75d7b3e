import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Network-namespace tests share the kernel's netns list; keep files in separate processes.
    pool: 'forks',
  },
});
