/** Shared vitest settings; each package's vitest.config.ts re-exports this. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./tools/vitest-global-setup.ts', import.meta.url))],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
