import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real models on a 2-core CPU: whole-model tests take seconds, not milliseconds.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
