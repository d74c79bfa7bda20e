/** Folders shared by the benchmark CLIs: the package root and the default runs / results folders of a profile. */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileName } from './experiment.ts';

/** The benchmarks package root (folder of package.json). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Default folders: runs under benchmarks/runs/<profile>, reports under benchmarks/results/<profile>. */
export function defaultDirs(profile: ProfileName, env: Record<string, string | undefined>): { runsDir: string; resultsDir: string } {
  const runsRoot = env.ASAM_RESULTS_DIR ? path.resolve(env.ASAM_RESULTS_DIR) : path.join(PACKAGE_ROOT, 'runs');
  return { runsDir: path.join(runsRoot, profile), resultsDir: path.join(PACKAGE_ROOT, 'results', profile) };
}
