/**
 * The public packages of the workspace (every `packages/*` whose package.json is not `private`) and packing them the
 * way `pnpm publish` would: `pnpm pack` applies `publishConfig` (the `exports` into `dist/`) and turns `workspace:*`
 * into versions. Each package must have been built (`pnpm build`, or turbo's `^build` before this package's test).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface PublicPackage {
  name: string;
  version: string;
  /** Absolute path of the package folder. */
  dir: string;
  /** Folder name under packages/. */
  folder: string;
}

/** Every non-private package under packages/, sorted by folder. */
export function publicPackages(root = REPO_ROOT): PublicPackage[] {
  const base = join(root, 'packages');
  return readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(base, e.name, 'package.json')))
    .map((e) => ({ folder: e.name, dir: join(base, e.name), pj: JSON.parse(readFileSync(join(base, e.name, 'package.json'), 'utf8')) }))
    .filter((p) => p.pj.private !== true)
    .map((p) => ({ name: p.pj.name as string, version: p.pj.version as string, dir: p.dir, folder: p.folder }))
    .sort((a, b) => a.folder.localeCompare(b.folder));
}

/** Runs a program, resolving to its stdout; on a non-zero exit rejects with the command, stdout and stderr. */
export async function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  try {
    const r = await execFileP(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20 });
    return r.stdout;
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) failed (${String(x.code ?? x.message)}):\n${x.stdout ?? ''}\n${x.stderr ?? ''}`.trim());
  }
}

/** `pnpm pack` of one package into `dest`; returns the tarball's path. Refuses a package that was not built. */
export async function packPackage(p: PublicPackage, dest: string): Promise<string> {
  if (!existsSync(join(p.dir, 'dist', 'index.js'))) {
    throw new Error(`${p.name}: ${join(p.dir, 'dist')} is missing; build first: pnpm turbo run build --filter ${p.name}`);
  }
  mkdirSync(dest, { recursive: true });
  await run('pnpm', ['pack', '--pack-destination', dest], { cwd: p.dir });
  const file = join(dest, `${p.name.replace(/^@/, '').replace('/', '-')}-${p.version}.tgz`);
  if (!existsSync(file)) throw new Error(`${p.name}: pnpm pack wrote no ${file}`);
  return file;
}
