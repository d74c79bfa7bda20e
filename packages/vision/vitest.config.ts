import { defineConfig } from 'vitest/config';

// Training tests are CPU-heavy: run files one at a time and allow long tests.
export default defineConfig({
  test: { fileParallelism: false, testTimeout: 180_000, hookTimeout: 60_000 },
});
