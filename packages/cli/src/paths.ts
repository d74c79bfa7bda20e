/**
 * Where relative paths on the command line point: the directory the user ran the command in. Under pnpm / npm
 * scripts the process runs in the package folder and the user's directory is $INIT_CWD; run directly
 * (`tsx packages/vision/src/cli.ts …`) it is the working directory.
 */
import { isAbsolute, resolve } from 'node:path';

/** The directory the user ran the command in: $INIT_CWD when it is set (pnpm, npm), else `cwd`. */
export function invocationDir(env: Record<string, string | undefined>, cwd: string): string {
  const init = env.INIT_CWD;
  return init !== undefined && init !== '' && isAbsolute(init) ? init : cwd;
}

/** `p` as an absolute path, relative ones taken from `base` (see {@link invocationDir}). */
export function resolveUserPath(p: string, base: string): string {
  return resolve(base, p);
}
