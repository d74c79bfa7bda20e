/**
 * Shared vitest settings; each package's vitest.config.ts re-exports this (or merges into it).
 *
 * Test tiers, by file name, as vitest projects of every package:
 * - `unit` (`*.test.ts`): in one process, deterministic, seconds;
 * - `multi-process` (`*.mp.test.ts`): several processes or threads working together — kill-and-resume, queue workers
 *   on a real Redis, data-parallel worker threads. They run after the unit tests, one file at a time, so that their
 *   timing (locks, heartbeats, kills) does not compete with other test files for the CPU;
 * - `slow` (`*.slow.test.ts`): minutes; run by `pnpm test:slow` and by `.ci/run`, not by `pnpm test`.
 * A package's `test` script runs `--project unit --project multi-process`, its `test:slow` script `--project slow`.
 */
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const MULTI_PROCESS = '**/*.mp.test.ts';
const SLOW = '**/*.slow.test.ts';

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./tools/vitest-global-setup.ts', import.meta.url))],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      // explicit group orders: vitest runs a project with groupOrder 0 and one worker (a package that turns file
      // parallelism off) after every other group, which would put the unit tests last
      { extends: true, test: { name: 'unit', include: ['**/*.test.ts'], exclude: [...configDefaults.exclude, MULTI_PROCESS, SLOW], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'multi-process', include: [MULTI_PROCESS], fileParallelism: false, sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: 'slow', include: [SLOW], sequence: { groupOrder: 3 } } },
    ],
  },
});
