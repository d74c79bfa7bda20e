/**
 * Packs every public package into a folder, as `pnpm publish` would upload them, and prints each tarball's size.
 *
 *   pnpm --filter @asam/packaging pack-all [destDir]      (default destDir: packages/packaging/.packs; build first)
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { packPackage, publicPackages } from './packages.ts';

const dest = resolve(process.argv[2] ?? new URL('../.packs', import.meta.url).pathname);
try {
  for (const p of publicPackages()) {
    const file = await packPackage(p, dest);
    console.log(`${p.name}@${p.version}  ${(statSync(file).size / 1024).toFixed(1)} kB  ${file}`);
  }
} catch (e) {
  console.error(`error: ${(e as Error).message.split('\n')[0]}`);
  process.exitCode = 1;
}
