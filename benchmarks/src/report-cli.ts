/** `pnpm --filter @asam/benchmarks report`: regenerates the report of a profile from existing run folders. */
import * as path from 'node:path';
import { checkProfile, defaultDirs, helpText, parseFlags, type FlagSpec } from './args.ts';
import { createExperimentRegistry } from './experiments/index.ts';
import { generateReport } from './report.ts';

const FLAGS: FlagSpec[] = [
  { name: 'profile', value: true, help: 'smoke | cpu | paper (default: $ASAM_PROFILE or cpu)' },
  { name: 'experiment', value: true, help: 'comma-separated experiment ids (default: all with the profile)' },
  { name: 'out', value: true, help: 'runs folder to read (default: benchmarks/runs/<profile>)' },
  { name: 'results', value: true, help: 'report folder (default: benchmarks/results/<profile>)' },
  { name: 'help', value: false, help: 'this text' },
];

try {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  if (f.help) {
    console.log(helpText('Usage: pnpm --filter @asam/benchmarks report -- [flags]', FLAGS));
    process.exit(0);
  }
  const profile = checkProfile((f.profile as string | undefined) ?? process.env.ASAM_PROFILE ?? 'cpu', '--profile');
  const dirs = defaultDirs(profile, process.env);
  const registry = createExperimentRegistry();
  const exps = f.experiment ? (f.experiment as string).split(',').map((id) => registry.get(id.trim())) : registry.forProfile(profile);
  const runsDir = f.out ? path.resolve(f.out as string) : dirs.runsDir;
  const resultsDir = f.results ? path.resolve(f.results as string) : dirs.resultsDir;
  const r = generateReport({ experiments: exps, profile, runsDir, outDir: resultsDir });
  const done = r.cells.filter((c) => c.status === 'completed').length;
  console.log(`[report] ${path.join(resultsDir, 'report.md')}: ${done}/${r.cells.length} cells completed, ${r.files.length} files written`);
} catch (e) {
  console.error(`[report] error: ${(e as Error).message}`);
  process.exit(2);
}
