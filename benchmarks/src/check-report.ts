/** `pnpm --filter @asam/benchmarks check-report -- --profile smoke`: exit 1 unless the report is complete. */
import * as path from 'node:path';
import { checkProfile, defaultDirs, helpText, parseFlags, type FlagSpec } from './args.ts';
import { checkReport } from './check.ts';
import { createExperimentRegistry } from './experiments/index.ts';

const FLAGS: FlagSpec[] = [
  { name: 'profile', value: true, help: 'smoke | cpu | paper (default smoke)' },
  { name: 'results', value: true, help: 'report folder (default: benchmarks/results/<profile>)' },
  { name: 'allow-incomplete', value: false, help: 'do not require every cell to be completed' },
  { name: 'help', value: false, help: 'this text' },
];

try {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  if (f.help) {
    console.log(helpText('Usage: pnpm --filter @asam/benchmarks check-report -- [flags]', FLAGS));
    process.exit(0);
  }
  const profile = checkProfile((f.profile as string | undefined) ?? 'smoke', '--profile');
  const dir = f.results ? path.resolve(f.results as string) : defaultDirs(profile, process.env).resultsDir;
  const experiments = createExperimentRegistry().forProfile(profile).map((d) => d.id);
  const r = checkReport(dir, { allowIncomplete: !!f['allow-incomplete'], experiments });
  if (!r.ok) {
    console.error(`[check-report] ${dir}: ${r.problems.length} problem(s):\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`[check-report] ${dir}: OK (${r.completed}/${r.cells} cells completed, ${r.images} images checked)`);
} catch (e) {
  console.error(`[check-report] error: ${(e as Error).message}`);
  process.exit(2);
}
