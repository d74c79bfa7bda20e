/**
 * Test helper for tests on the real data files. `ASAM_DATA_DIR` is read here (tests only).
 * - unset: the real-data suites are skipped, with the reason in their title and a warning on stderr;
 * - set but a file missing: the test FAILS, naming the path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_DIR: string | undefined = process.env.ASAM_DATA_DIR || undefined;
export const NO_DATA = DATA_DIR === undefined;
export const SKIP_REASON = 'needs real data: set ASAM_DATA_DIR (skipped because it is unset)';
if (NO_DATA) console.warn(`[@asam/data tests] ASAM_DATA_DIR is unset: real-data tests are skipped.`);

/** Absolute path of `rel` under ASAM_DATA_DIR; throws (failing the test) when the file is missing. */
export function realPath(...rel: string[]): string {
  if (DATA_DIR === undefined) throw new Error(SKIP_REASON);
  const p = join(DATA_DIR, ...rel);
  if (!existsSync(p)) throw new Error(`ASAM_DATA_DIR is set to ${DATA_DIR}, but ${p} is missing (see shared data README)`);
  return p;
}
