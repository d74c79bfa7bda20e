/**
 * `pnpm bench:publish -- --profile P [--partial]`: copies a sweep's run folders from the working folder into
 * `benchmarks/results/<P>/runs/` and regenerates the committed report there from those copies. The only way the
 * committed results change; a finished committed cell is never replaced.
 */
import { addOption, createCommand, parseCommand, runCli, UsageError } from '@asam/cli';
import * as fs from 'node:fs';
import { PROFILES, type ProfileName } from './experiment.ts';
import { createExperimentRegistry } from './experiments/index.ts';
import { staleReadmeNote, updateReadme } from './readme-results.ts';
import { publishResults } from './results.ts';
import * as path from 'node:path';
import { defaultDirs, PACKAGE_ROOT } from './args.ts';

const cmd = createCommand({ name: 'pnpm bench:publish --', description: 'Publishes a sweep: run folders and the report go to benchmarks/results/<profile> (commit them afterwards).' });
addOption(cmd, { flags: '--profile <name>', choices: PROFILES, default: 'cpu', help: 'the profile to publish' });
addOption(cmd, { flags: '--out <dir>', kind: 'path', help: 'the working runs folder of the sweep', defaultText: 'benchmarks/runs/<profile>, or $ASAM_RESULTS_DIR/<profile>' });
addOption(cmd, { flags: '--partial', help: 'publish an unfinished sweep: finished cells, and unfinished ones with their checkpoints (the report says so)' });

void runCli(async () => {
  const f = parseCommand<{ profile: ProfileName; out?: string; partial?: boolean }>(cmd, process.argv.slice(2));
  const dirs = defaultDirs(f.profile, process.env);
  const runsDir = f.out ?? dirs.runsDir;
  if (!fs.existsSync(runsDir)) throw new UsageError(`no sweep in ${runsDir}; run pnpm bench -- --profile ${f.profile} first, or pass --out`);
  let p;
  try {
    p = publishResults({ experiments: createExperimentRegistry().forProfile(f.profile), profile: f.profile, runsDir, resultsDir: dirs.resultsDir, partial: !!f.partial });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const repoRoot = path.dirname(PACKAGE_ROOT);
  const readme = path.join(repoRoot, 'README.md');
  if (updateReadme(readme, dirs.resultsDir, repoRoot, f.profile)) console.log(`[publish] README.md results section regenerated from ${path.join(dirs.resultsDir, 'summary.json')}`);
  const stale = staleReadmeNote(readme, dirs.resultsDir);
  if (stale) console.log(`[publish] ${stale}`);
  if (p.busy.length) console.log(`[publish] ${p.busy.length} cell(s) left out, a process is training them (their committed copy, if any, stays; publish again when they have ended): ${p.busy.join(', ')}`);
  console.log(`[publish] ${p.copied} run folder(s) copied, ${p.kept} finished ones already committed (kept); ${p.finished}/${p.total} cells finished; report in ${dirs.resultsDir}`);
});
