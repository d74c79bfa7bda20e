import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Training tests are CPU-heavy: run files one at a time and allow long tests. The shared settings add the
// global setup that lets vitest 5 print failed-test errors on Node 20.
export default mergeConfig(shared, defineConfig({
  test: { fileParallelism: false, testTimeout: 180_000, hookTimeout: 60_000 },
}));
