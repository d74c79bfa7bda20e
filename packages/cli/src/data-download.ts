/**
 * `pnpm data:download --dataset cifar10,multi30k [--data-dir DIR] [--mirror URL]`: downloads datasets into the data
 * folder (default $ASAM_DATA_DIR, else ~/.cache/asam/data), in the layout the loaders read, checksums verified, an
 * interrupted download resumed from its `.part` file. On the project's CLI convention (@asam/cli): relative paths are
 * taken from the directory the command was run in, `--help` lists the datasets and their sizes.
 */
import { DATASETS, datasetPresent, fetchMissing, formatBytes, resolveDataDir } from '@asam/data';
import { addOption, addSharedOptions, createCommand, mirrorFrom, parseCommand, requireOption } from './command.ts';
import { runCli, UsageError } from './errors.ts';
import { invocationDir, resolveUserPath } from './paths.ts';

function command() {
  const cmd = createCommand({
    name: 'pnpm data:download',
    description: 'Downloads datasets into the data folder (the publishers\' archives, checksums verified; an interrupted download resumes from its .part file).',
    epilog: `Datasets:\n${Object.entries(DATASETS).map(([k, d]) => `  ${k.padEnd(9)} ${formatBytes(d.bytes).padEnd(19)} ${d.description}`).join('\n')}\n` +
      'Examples:\n  pnpm data:download --dataset cifar10\n  pnpm data:download --dataset cifar10,multi30k --data-dir data --mirror http://proxy:8000/asam-data\n' +
      'A mirror holds the data folder\'s layout: <mirror>/cifar-10-binary.tar.gz, <mirror>/multi30k/raw/train.de.gz, …\n' +
      'Relative paths (--data-dir, $ASAM_DATA_DIR) are taken from the directory you ran the command in.',
  });
  addOption(cmd, { flags: '--dataset <names>', help: `comma-separated: ${Object.keys(DATASETS).join(', ')}`, defaultText: 'none, required' });
  addSharedOptions(cmd, { dataDir: true });
  addOption(cmd, { flags: '--mirror <url>', help: 'base URL to download from instead of the publishers\' hosts (laid out like the data folder)', defaultText: '$ASAM_DATA_MIRROR, else the publishers\' hosts' });
  addOption(cmd, { flags: '--timeout <s>', kind: 'number', min: 1, default: 30, help: 'seconds without an answer or data before an attempt is abandoned (no answer at all: the host counts as unreachable)' });
  return cmd;
}

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const cmd = command();
  const o = parseCommand<{ dataset?: string; dataDir?: string; mirror?: string; timeout: number }>(cmd, argv);
  const names = requireOption(o.dataset, '--dataset', `one or more of ${Object.keys(DATASETS).join(', ')}`).split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(n in DATASETS)) throw new UsageError(`--dataset ${JSON.stringify(n)} is unknown; valid: ${Object.keys(DATASETS).join(', ')}`);
  }
  const base = invocationDir(env, process.cwd());
  const dir = resolveDataDir({ dir: o.dataDir ?? (env.ASAM_DATA_DIR ? resolveUserPath(env.ASAM_DATA_DIR, base) : undefined), env });
  const mirror = mirrorFrom(o.mirror, env);
  for (const n of names) if (datasetPresent(n, dir)) process.stdout.write(`${n}: already in ${dir}\n`);
  const outcomes = await fetchMissing(names, dir, { allowDownload: true, sink: process.stdout, mirror, timeoutMs: o.timeout * 1000 });
  const failed = outcomes.filter((x) => x.status === 'failed');
  for (const f of failed) process.stderr.write(`error: ${f.name} was not downloaded: ${f.error}\n`);
  if (failed.length === 0) process.stdout.write(`data folder: ${dir}\n`);
  return failed.length ? 1 : 0;
}

void runCli(() => main(process.argv.slice(2), process.env));
