import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where data lives. Precedence: explicit `dir` > `env.ASAM_DATA_DIR` > per-user cache
 * (`$XDG_CACHE_HOME/asam/data`, else `~/.cache/asam/data`).
 *
 * Library code never reads `process.env`: the caller passes `env` in (applications pass `process.env`).
 */
export function resolveDataDir(opts: { dir?: string; env?: Record<string, string | undefined> } = {}): string {
  if (opts.dir !== undefined && opts.dir !== '') return resolve(opts.dir);
  const env = opts.env ?? {};
  const fromEnv = env['ASAM_DATA_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  const xdg = env['XDG_CACHE_HOME'];
  const cache = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache');
  return join(cache, 'asam', 'data');
}
