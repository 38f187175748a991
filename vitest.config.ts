import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real models on a 2-core CPU: whole-model tests take seconds, not milliseconds.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    // The baseline SIMD kernels (the tools spawned by tests inherit it): pinned bytes (test/ms-digests) then do
    // not depend on whether this CPU fuses multiply-adds. The relaxed-SIMD build users get is checked against
    // it in test/wasm-kernels.test.ts.
    env: { WEBPTQ_RELAXED_SIMD: process.env.WEBPTQ_RELAXED_SIMD ?? '0' },
    // The memory-bound test measures live heap after collecting garbage.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
