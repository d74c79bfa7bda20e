/**
 * `pnpm bench`: runs the experiments of a profile (each grid cell in its own child process and
 * folder), then writes the report. Exit status 1 when any cell failed.
 */
import { resolveDataDir } from '@asam/data';
import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { checkProfile, defaultDirs, helpText, parseFlags, type FlagSpec } from './args.ts';
import { expandGrid, matchesFilter, sweepOrder, type ProfileName } from './experiment.ts';
import { createExperimentRegistry } from './experiments/index.ts';
import { generateReport } from './report.ts';
import { runSweep } from './runner.ts';
import { taskModulePath } from './tasks/registry.ts';

const FLAGS: FlagSpec[] = [
  { name: 'profile', value: true, help: 'smoke | cpu | paper (default: $ASAM_PROFILE, else paper when a GPU backend loads, else cpu)' },
  { name: 'experiment', value: true, help: 'comma-separated experiment ids (default: every experiment that has the profile)' },
  { name: 'only', value: true, help: 'cell filter: comma-separated globs on <cell-id> or <experiment>/<cell-id>, or key=value (optimizer, seed, rho, id, experiment)' },
  { name: 'out', value: true, help: 'runs folder (default: benchmarks/runs/<profile>, or $ASAM_RESULTS_DIR/<profile>)' },
  { name: 'results', value: true, help: 'report folder (default: benchmarks/results/<profile>)' },
  { name: 'backend', value: true, help: 'auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu (default: $ASAM_BACKEND or auto)' },
  { name: 'data-dir', value: true, help: 'datasets root (default: $ASAM_DATA_DIR, else ~/.cache/asam/data)' },
  { name: 'jobs', value: true, help: 'cells run at the same time, each its own process (default: one per CPU core; paper profile: 1)' },
  { name: 'list', value: false, help: 'list the experiments and cells of the profile, run nothing' },
  { name: 'no-report', value: false, help: 'skip writing the report after the sweep' },
  { name: 'quiet', value: false, help: 'do not echo the cells\' own progress lines (they still go to each cell\'s log.txt)' },
  { name: 'help', value: false, help: 'this text' },
];

async function defaultProfile(backend: string): Promise<{ profile: ProfileName; why: string }> {
  if (process.env.ASAM_PROFILE) return { profile: checkProfile(process.env.ASAM_PROFILE, 'ASAM_PROFILE'), why: 'from ASAM_PROFILE' };
  // Probe the backend in this process (no tensors are created here); GPU backends get the paper profile.
  const { initEngine } = await import('@asam/engine');
  const info = await initEngine({ backend: backend as never });
  const gpu = info.backend === 'webgpu' || (info.backend === 'tensorflow' && info.attempts.some((a) => a.name === 'tensorflow-gpu' && a.ok));
  return gpu ? { profile: 'paper', why: `GPU backend ${info.backend} available` } : { profile: 'cpu', why: `no GPU backend (${info.backend}: ${info.reason})` };
}

async function main(): Promise<number> {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  const registry = createExperimentRegistry();
  if (f.help) {
    console.log(helpText('Usage: pnpm --filter @asam/benchmarks bench [flags]   (from the repository root: pnpm bench -- [flags])', FLAGS,
      `\nExperiments: ${registry.list().map((d) => `${d.id} [${Object.keys(d.profiles).join(',')}]`).join(', ')}\n`));
    return 0;
  }
  const backend = (f.backend as string | undefined) ?? process.env.ASAM_BACKEND ?? 'auto';
  const { profile, why } = f.profile ? { profile: checkProfile(f.profile as string, '--profile'), why: 'from --profile' } : await defaultProfile(backend);
  const dirs = defaultDirs(profile, process.env);
  const runsDir = f.out ? path.resolve(f.out as string) : dirs.runsDir;
  const resultsDir = f.results ? path.resolve(f.results as string) : dirs.resultsDir;
  const exps = f.experiment ? (f.experiment as string).split(',').map((id) => registry.get(id.trim())) : registry.forProfile(profile);
  for (const e of exps) if (!e.profiles[profile]) throw new Error(`experiment "${e.id}" has no profile "${profile}"; it has: ${Object.keys(e.profiles).join(', ')}`);
  const cells = sweepOrder(exps.flatMap((e) => expandGrid(e, profile)).filter((c) => matchesFilter(c, f.only as string | undefined)), exps);
  console.log(`[bench] profile ${profile} (${why}); ${exps.length} experiment(s), ${cells.length} cell(s); runs in ${runsDir}`);
  if (f.list) {
    for (const c of cells) console.log(`  ${c.experiment}/${c.id}`);
    return 0;
  }
  if (cells.length === 0) throw new Error(`no cells match --only ${String(f.only)}; try --list to see the cell ids`);
  const dataDir = resolveDataDir({ dir: f['data-dir'] as string | undefined, env: process.env });
  // CPU profiles: one cell per core (a wasm/cpu cell trains on one thread); the paper profile: one cell at a time (one GPU).
  const jobs = f.jobs ? Number(f.jobs) : profile === 'paper' ? 1 : Math.max(1, availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs = ${String(f.jobs)}: expected an integer >= 1`);
  if (!f.jobs) console.log(`[bench] ${jobs} cell(s) at a time (${profile === 'paper' ? 'paper profile: one GPU' : 'one per CPU core'}; --jobs N to change)`);
  const summary = await runSweep({ cells, runsDir, backend, dataDir, jobs, taskModule: taskModulePath, echoChildOutput: !f.quiet });
  if (!f['no-report']) {
    // The report always covers every experiment of the profile (cells not run show as such).
    const rep = generateReport({ experiments: registry.forProfile(profile), profile, runsDir, outDir: resultsDir });
    console.log(`[bench] report: ${path.join(resultsDir, 'report.md')} and index.html (${rep.files.length} files)`);
  }
  if (summary.interrupted) return 130;
  if (summary.failed > 0) {
    console.error(`[bench] ${summary.failed} cell(s) failed:`);
    for (const r of summary.records.filter((x) => x.status === 'failed')) console.error(`  ${r.cell.experiment}/${r.cell.id}: ${r.error?.split('\n')[0]}`);
    return 1;
  }
  return 0;
}

main().then((code) => process.exit(code), (e: Error) => {
  console.error(`[bench] error: ${e.message}`);
  process.exit(2);
});
