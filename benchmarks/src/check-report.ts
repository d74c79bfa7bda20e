/** `pnpm --filter @asam/benchmarks check-report -- --profile P`: exit 1 unless the report of a sweep is complete. */
import { addOption, createCommand, parseCommand, runCli } from '@asam/cli';
import * as path from 'node:path';
import { defaultDirs } from './args.ts';
import { checkReport } from './check.ts';
import { PROFILES, type ProfileName } from './experiment.ts';
import { createExperimentRegistry } from './experiments/index.ts';

const cmd = createCommand({ name: 'pnpm --filter @asam/benchmarks check-report --', description: 'Checks a written report: files present, SVGs complete, links resolvable, every chart drawn by Vega without problems, cells completed.' });
addOption(cmd, { flags: '--profile <name>', choices: PROFILES, default: 'smoke', help: 'the profile whose report is checked' });
addOption(cmd, { flags: '--report <dir>', kind: 'path', help: 'report folder', defaultText: 'benchmarks/runs/<profile>/report (the last sweep\'s)' });
addOption(cmd, { flags: '--allow-incomplete', help: 'do not require every cell to be completed' });

void runCli(async () => {
  const f = parseCommand<{ profile: ProfileName; report?: string; allowIncomplete?: boolean }>(cmd, process.argv.slice(2));
  const dir = f.report ?? path.join(defaultDirs(f.profile, process.env).runsDir, 'report');
  const experiments = createExperimentRegistry().forProfile(f.profile).map((d) => d.id);
  const r = checkReport(dir, { allowIncomplete: !!f.allowIncomplete, experiments });
  if (!r.ok) {
    console.error(`[check-report] ${dir}: ${r.problems.length} problem(s):\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  console.log(`[check-report] ${dir}: OK (${r.completed}/${r.cells} cells completed, ${r.images} image links and ${r.charts} charts checked)`);
  return 0;
});
