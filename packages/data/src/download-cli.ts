/**
 * Command line: `tsx src/download-cli.ts <dataset...> [--dir DIR]` downloads datasets (cifar10, cifar100,
 * iwslt14, multi30k) into DIR (default: $ASAM_DATA_DIR, else ~/.cache/asam/data). A trailing path argument
 * that is not a dataset name is taken as DIR too.
 */
import { DATASETS, download } from './download.ts';
import { resolveDataDir } from './paths.ts';

const args = process.argv.slice(2);
let dirArg: string | undefined;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (a === '--dir') dirArg = args[++i];
  else if (a in DATASETS) names.push(a);
  else if (i === args.length - 1 && names.length > 0) dirArg = a;
  else {
    console.error(`unknown dataset ${JSON.stringify(a)}; known: ${Object.keys(DATASETS).join(', ')}`);
    process.exit(2);
  }
}
if (names.length === 0) {
  console.error(`usage: tsx src/download-cli.ts <${Object.keys(DATASETS).join('|')}>... [--dir DIR]`);
  process.exit(2);
}
const dir = resolveDataDir({ ...(dirArg ? { dir: dirArg } : {}), env: process.env });
let last = 0;
try {
  for (const name of names) {
    console.log(`${name}: ${DATASETS[name]?.description} → ${dir}\n  checksums: ${DATASETS[name]?.checksumNote}`);
    const paths = await download(name, dir, {
      onProgress: (p) => {
        const now = Date.now();
        if (p.phase === 'downloading' && now - last < 500) return;
        last = now;
        const pct = p.total ? ` ${((100 * p.received) / p.total).toFixed(1)}%` : '';
        console.log(`  ${p.phase} ${p.file} ${(p.received / 2 ** 20).toFixed(1)} MiB${pct}${p.resumedFrom ? ` (resumed at ${p.resumedFrom})` : ''}`);
      },
    });
    console.log(`  ok: ${paths.join(', ')}`);
  }
} catch (e) {
  // One line for the user (network, checksum, HTTP status); the partial file, if any, keeps its `.part` name.
  console.error(`download failed: ${(e as Error).message}`);
  process.exit(1);
}
