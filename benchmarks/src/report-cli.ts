/** `pnpm --filter @asam/benchmarks report -- --profile P`: regenerates the report of a sweep from its run folders. */
import { addOption, createCommand, parseCommand, runCli, UsageError } from '@asam/cli';
import * as path from 'node:path';
import { defaultDirs } from './args.ts';
import { PROFILES, type ProfileName } from './experiment.ts';
import { createExperimentRegistry } from './experiments/index.ts';
import { ReferenceFileError } from './report-reference.ts';
import { generateReport } from './report.ts';

const cmd = createCommand({ name: 'pnpm --filter @asam/benchmarks report --', description: 'Regenerates the report of a sweep from its run folders (nothing is trained).' });
addOption(cmd, { flags: '--profile <name>', choices: PROFILES, help: 'the profile', defaultText: '$ASAM_PROFILE, else cpu' });
addOption(cmd, { flags: '--experiment <ids>', help: 'comma-separated experiment ids', defaultText: 'every experiment with the profile' });
addOption(cmd, { flags: '--out <dir>', kind: 'path', help: 'runs folder to read', defaultText: 'benchmarks/runs/<profile>' });
addOption(cmd, { flags: '--report <dir>', kind: 'path', help: 'where the report goes', defaultText: '<out>/report' });

void runCli(async () => {
  const f = parseCommand<{ profile?: ProfileName; experiment?: string; out?: string; report?: string }>(cmd, process.argv.slice(2));
  const profile = f.profile ?? (process.env.ASAM_PROFILE as ProfileName | undefined) ?? 'cpu';
  if (!PROFILES.includes(profile)) throw new UsageError(`ASAM_PROFILE = "${profile}" is not a profile; valid: ${PROFILES.join(', ')}`);
  const registry = createExperimentRegistry();
  const exps = f.experiment
    ? f.experiment.split(',').map((id) => {
      if (!registry.has(id.trim())) throw new UsageError(`--experiment "${id.trim()}" is unknown; valid: ${registry.ids().join(', ')}`);
      return registry.get(id.trim());
    })
    : registry.forProfile(profile);
  const runsDir = f.out ?? defaultDirs(profile, process.env).runsDir;
  const outDir = f.report ?? path.join(runsDir, 'report');
  let r;
  try {
    r = generateReport({ experiments: exps, profile, runsDir, outDir });
  } catch (e) {
    if (e instanceof ReferenceFileError) throw new UsageError(e.message);
    throw e;
  }
  const done = r.cells.filter((c) => c.status === 'completed').length;
  const diverged = r.cells.filter((c) => c.status === 'diverged').length;
  console.log(`[report] ${path.join(outDir, 'report.md')}: ${done}/${r.cells.length} cells completed${diverged ? `, ${diverged} diverged` : ''}, ${r.files.length} files written`);
});
