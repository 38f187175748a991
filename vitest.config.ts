import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real models on a 2-core CPU: whole-model tests take seconds, not milliseconds.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    // The memory-bound test measures live heap after collecting garbage.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
