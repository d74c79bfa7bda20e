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

/**
 * `--stop-by`: a moment (an ISO 8601 date-time with its zone, `2026-12-07T02:40Z`) or a duration from `now` (`90m`,
 * `2h30m`, `45s`), as milliseconds on Date.now's clock. Throws one line naming the value and the two forms otherwise,
 * or when the moment has passed.
 */
export function parseStopBy(text: string, now: number): number {
  const t = text.trim();
  const d = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (d && t !== '') {
    const [, h = '0', m = '0', s = '0'] = d;
    return now + ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
  }
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(at)) {
    throw new Error(`--stop-by "${text}" is not a deadline: give a duration from now (90m, 2h30m, 45s) or a date-time with its zone (2026-12-07T02:40Z)`);
  }
  if (at <= now) throw new Error(`--stop-by "${text}" has passed (it is now ${new Date(now).toISOString()}); give a later time or a duration`);
  return at;
}
