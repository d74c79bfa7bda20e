/**
 * `pnpm bench`: runs the experiments of a profile (each grid cell in its own child process and folder under the
 * ignored working folder `benchmarks/runs/<profile>`), then writes the report next to the runs. Committed results
 * under `benchmarks/results/<profile>` change only with `--publish`. Data the cells need and the data folder lacks is
 * downloaded first (data on demand); when it cannot be had, the cells that need it are skipped and listed, the others
 * run. Exit status: 130 when interrupted (Ctrl-C / SIGTERM: running cells stop at a checkpoint), 2 for a user error
 * (bad flag) or when cells were skipped for missing data, 1 when a cell failed, 75 when `--stop-by` left cells for a
 * later run (deferred, or stopped at a checkpoint at the deadline) or another process is training cells of it, else 0.
 */
import { addOption, addSharedOptions, backendFrom, createCommand, mirrorFrom, nativeKernelsFrom, parseCommand, runCli, UsageError } from '@asam/cli';
import { resolveDataDir } from '@asam/data';
import { seedRevisionNotes, sourceRevision } from './seed-revisions.ts';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { defaultDirs, PACKAGE_ROOT, parseStopBy } from './args.ts';
import { prepareData, type DataDirSource, type DataPlan } from './data-check.ts';
import { thisMachine } from './env-info.ts';
import { estimateSweep, formatHours, kernelTierLabel } from './estimate.ts';
import { expandGrid, matchesFilter, PROFILES, sweepOrder, type Cell, type ProfileName } from './experiment.ts';
import { createExperimentRegistry } from './experiments/index.ts';
import { generateReport, quickPreamble } from './report.ts';
import { staleReadmeNote, updateReadme } from './readme-results.ts';
import { committedRunsDir, publishResults, restoreFromCommitted } from './results.ts';
import { isFinishedStatus, runSweep, type SweepSummary } from './runner.ts';
import { checkRedis, parseQueueUrl } from './queue/redis.ts';
import { runQueuedSweep } from './queue/sweep.ts';
import { taskModulePath } from './tasks/registry.ts';

async function defaultProfile(backend: string): Promise<{ profile: ProfileName; why: string }> {
  if (process.env.ASAM_PROFILE) {
    if (!PROFILES.includes(process.env.ASAM_PROFILE as ProfileName)) throw new UsageError(`ASAM_PROFILE = "${process.env.ASAM_PROFILE}" is not a profile; valid: ${PROFILES.join(', ')}`);
    return { profile: process.env.ASAM_PROFILE as ProfileName, why: 'from ASAM_PROFILE' };
  }
  // Probe the backend in this process (no tensors are created here); GPU backends get the paper profile.
  const { initEngine } = await import('@asam/engine');
  const info = await initEngine({ backend: backend as never, nativeKernels: nativeKernelsFrom(undefined, process.env) });
  const gpu = info.backend === 'webgpu' || (info.backend === 'tensorflow' && info.attempts.some((a) => a.name === 'tensorflow-gpu' && a.ok));
  return gpu ? { profile: 'paper', why: `GPU backend ${info.backend} available` }
    : { profile: 'quick', why: `no GPU backend (${info.backend}); the CPU-scale reproduction is --profile cpu (hours), its committed results are in benchmarks/results/cpu` };
}

function command() {
  const registry = createExperimentRegistry();
  const cmd = createCommand({
    name: 'pnpm bench --',
    description: 'Runs the SGD vs SAM vs ASAM experiments of a profile, one cell per child process, resumable, and writes the report.',
    epilog: `Profiles: smoke (CI, pipeline only), quick (a first run on a CPU, ~2–3 minutes), cpu (the CPU-scale reproduction, hours), paper (published recipes, GPU).\n` +
      `Experiments: ${registry.list().map((d) => `${d.id} [${Object.keys(d.profiles).join(',')}]`).join(', ')}`,
  });
  addOption(cmd, { flags: '--profile <name>', choices: PROFILES, help: 'which sizes and grids to run', defaultText: '$ASAM_PROFILE, else paper when a GPU backend loads, else quick' });
  addOption(cmd, { flags: '--experiment <ids>', help: 'comma-separated experiment ids', defaultText: 'every experiment that has the profile' });
  addOption(cmd, { flags: '--only <filter>', help: 'cell filter: comma-separated globs on <cell-id> or <experiment>/<cell-id>, or key=value (optimizer, seed, rho, id, experiment)', defaultText: 'all cells' });
  addOption(cmd, { flags: '--out <dir>', kind: 'path', help: 'working folder of the run folders (ignored by git)', defaultText: 'benchmarks/runs/<profile>, or $ASAM_RESULTS_DIR/<profile>' });
  addOption(cmd, { flags: '--report <dir>', kind: 'path', help: 'where the report of this sweep is written', defaultText: '<out>/report' });
  addSharedOptions(cmd, { dataDir: true, backend: true, download: true });
  addOption(cmd, { flags: '--jobs <n>', kind: 'int', min: 1, help: 'cells run at the same time, each its own process', defaultText: 'one per CPU core; paper profile: 1' });
  addOption(cmd, { flags: '--list', help: 'list the cells of the profile (with a time estimate) and run nothing' });
  addOption(cmd, { flags: '--skip-report', help: 'do not write the report after the sweep' });
  addOption(cmd, { flags: '--fresh', help: 'do not restore committed run folders of this profile into --out before the sweep' });
  addOption(cmd, { flags: '--publish', help: 'after the sweep, copy its run folders to benchmarks/results/<profile> and regenerate the committed report there (a complete sweep only, unless --partial)' });
  addOption(cmd, { flags: '--partial', help: 'with --publish: publish an unfinished sweep, its unfinished cells with their checkpoints' });
  addOption(cmd, { flags: '--quiet', help: "do not echo the cells' own progress lines (they still go to each cell's log.txt)" });
  addOption(cmd, { flags: '--stop-by <when>', help: 'a deadline, as a duration from now (90m, 2h30m) or a date-time with its zone (2026-12-07T02:40Z): a cell starts only if its estimated time (measured epoch rates) ends before it, the others wait for a later run; at the deadline running cells stop at a checkpoint; exit status 75 when cells were left', defaultText: 'none' });
  addOption(cmd, { flags: '--queue <url>', help: 'redis://host:port[/db]: enqueue the cells for `pnpm bench:worker` processes (any machines sharing --out\'s parent folder), follow them, then write the report', defaultText: 'run the cells here' });
  return { cmd, registry };
}

async function main(): Promise<number> {
  const { cmd, registry } = command();
  const f = parseCommand<{
    profile?: ProfileName; experiment?: string; only?: string; out?: string; report?: string; dataDir?: string; backend?: string; nativeKernels?: string; jobs?: number;
    list?: boolean; skipReport?: boolean; fresh?: boolean; publish?: boolean; partial?: boolean; quiet?: boolean; queue?: string;
    download: boolean; mirror?: string; stopBy?: string;
  }>(cmd, process.argv.slice(2));
  let deadline: number | undefined;
  try {
    deadline = f.stopBy === undefined ? undefined : parseStopBy(f.stopBy, Date.now());
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (deadline !== undefined && f.queue) throw new UsageError('--stop-by applies to cells run here, not to a queued sweep (its cells run on `pnpm bench:worker` processes); drop --stop-by or --queue');
  const mirror = mirrorFrom(f.mirror, process.env);
  if (f.partial && !f.publish) throw new UsageError('--partial only applies with --publish');
  const backend = backendFrom(f.backend, process.env);
  // Cells (child processes, queue workers' children) read the switch from the environment they inherit.
  process.env.ASAM_NATIVE_KERNELS = nativeKernelsFrom(f.nativeKernels, process.env) ? 'on' : 'off';
  const { profile, why } = f.profile ? { profile: f.profile, why: 'from --profile' } : await defaultProfile(backend);
  const dirs = defaultDirs(profile, process.env);
  const runsDir = f.out ?? dirs.runsDir;
  const reportDir = f.report ?? path.join(runsDir, 'report');
  const exps = f.experiment
    ? f.experiment.split(',').map((id) => {
      const e = id.trim();
      if (!registry.has(e)) throw new UsageError(`--experiment "${e}" is unknown; valid: ${registry.ids().join(', ')}`);
      const d = registry.get(e);
      if (!d.profiles[profile]) throw new UsageError(`experiment "${e}" has no profile "${profile}"; it has: ${Object.keys(d.profiles).join(', ')}`);
      return d;
    })
    : registry.forProfile(profile);
  let cells: Cell[];
  try {
    cells = sweepOrder(exps.flatMap((e) => expandGrid(e, profile)).filter((c) => matchesFilter(c, f.only)), exps);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const profileCells = registry.forProfile(profile).flatMap((e) => expandGrid(e, profile));
  if (cells.length === 0) throw new UsageError(`no cells match --only ${String(f.only)}; try --list to see the cell ids`);
  console.log(`[bench] profile ${profile} (${why}); ${exps.length} experiment(s), ${cells.length} cell(s); runs in ${runsDir}`);
  const jobs = f.jobs ?? (profile === 'paper' ? 1 : Math.max(1, availableParallelism()));
  // The estimate pools epoch times by machine and kernel tier: the cells use the native tier where it loads here, and
  // this engine's fused BatchNorm training kernels (registered on wasm by initEngine).
  const nativeHere = process.env.ASAM_NATIVE_KERNELS !== 'off' && (await import('@asam/engine')).loadNativeKernels().status.loaded;
  const sweepMachine = kernelTierLabel(thisMachine(), nativeHere, true);
  const printEstimate = (from = runsDir) => {
    // Rates come from every cell of the profile, so --only / --experiment still find what has been measured.
    const est = estimateSweep(cells, from, jobs, sweepMachine, profileCells);
    if (!est.pending) return console.log('[bench] estimate: nothing left to run');
    console.log('[bench] estimate of the time left, per kind of cell:');
    for (const l of est.lines) console.log(`  ${l}`);
    console.log(`[bench] ${est.pending} cell(s) to run: about ${formatHours(est.cellSeconds)} of cell time, ${formatHours(est.wallSeconds)} on ${jobs} core(s)` +
      `${est.unknown ? `, plus ${est.unknown} cell(s) not measured yet (analyses, or no epoch of their kind has run)` : ''}`);
  };
  // A seed's methods should share one revision: say so where this tree is not the one its other runs used.
  const printSeedRevisions = (from: string) => {
    for (const n of seedRevisionNotes(cells, profileCells, registry.forProfile(profile), from, sourceRevision(PACKAGE_ROOT))) console.log(`[bench] note: ${n}`);
  };
  if (f.list) {
    // --list changes nothing on disk: a working folder without any of these cells is estimated from the committed runs
    const committed = committedRunsDir(dirs.resultsDir);
    const fromCommitted = !f.fresh && !cells.some((c) => fs.existsSync(path.join(runsDir, c.experiment, c.id))) &&
      cells.some((c) => fs.existsSync(path.join(committed, c.experiment, c.id)));
    if (fromCommitted) console.log(`[bench] the working folder has none of these cells yet: estimate from the committed runs in ${path.relative(process.cwd(), committed) || '.'} (a sweep starts from them)`);
    printEstimate(fromCommitted ? committed : runsDir);
    printSeedRevisions(fromCommitted ? committed : runsDir);
    for (const c of cells) console.log(`  ${c.experiment}/${c.id}`);
    return 0;
  }
  if (!f.fresh) {
    const r = restoreFromCommitted(cells, runsDir, dirs.resultsDir);
    if (r.finished + r.resumable) console.log(`[bench] restored from ${path.relative(process.cwd(), dirs.resultsDir) || '.'}: ${r.finished} finished cell(s) (skipped), ${r.resumable} unfinished (resume from their checkpoints)`);
  }
  if (f.queue) {
    // Scale-out: the workers run the cells (and read the data on their machines); this process enqueues and follows.
    const target = parseQueueUrl(f.queue);
    await checkRedis(target);
    fs.mkdirSync(runsDir, { recursive: true });
    // The workers' machines differ: every measured epoch counts, whichever machine ran it.
    const summary = await runQueuedSweep({ target, cells, runsDir, backend,
      timeLeft: (workers) => {
        const e = estimateSweep(cells, runsDir, workers, null, profileCells);
        return { seconds: e.wallSeconds, unknown: e.unknown };
      } });
    if (!f.skipReport) {
      const rep = generateReport({ experiments: registry.forProfile(profile), profile, runsDir, outDir: reportDir });
      console.log(`[bench] report: ${path.join(reportDir, 'report.md')} and index.html (${rep.files.length} files)`);
    }
    return exitStatus(summary);
  }
  const source: DataDirSource = f.dataDir ? '--data-dir' : process.env.ASAM_DATA_DIR ? 'ASAM_DATA_DIR' : 'cache';
  const dataDir = resolveDataDir({ ...(f.dataDir ? { dir: f.dataDir } : {}), env: process.env });
  // Data on demand: what is missing is downloaded; cells whose data cannot be had are skipped and listed at the end.
  const plan = await prepareData(cells, dataDir, source, { allowDownload: f.download, mirror, sink: process.stdout });
  if (plan.skipped.length) {
    console.log(`[bench] ${plan.skipped.length} cell(s) skipped for missing data; running the ${plan.runnable.length} that need none of it`);
    cells = plan.runnable;
  }
  if (!f.jobs) console.log(`[bench] ${jobs} cell(s) at a time (${profile === 'paper' ? 'paper profile: one GPU' : 'one per CPU core'}; --jobs N to change)`);
  fs.mkdirSync(runsDir, { recursive: true });
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const resumeCommand = `pnpm bench${argv.length ? ` -- ${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}` : ''}`;
  if (deadline !== undefined) console.log(`[bench] deadline ${new Date(deadline).toISOString()} (--stop-by): cells that would not end before it wait for a later run`);
  const sweep = (part: typeof cells, n: number) => runSweep({ cells: part, runsDir, backend, dataDir, jobs: n, taskModule: taskModulePath, echoChildOutput: !f.quiet, resumeCommand,
    timeLeft: () => {
      const e = estimateSweep(part, runsDir, n, sweepMachine, profileCells);
      return { seconds: e.wallSeconds, unknown: e.unknown };
    },
    ...(deadline === undefined ? {} : {
      deadline,
      cellSeconds: (c: Cell) => {
        const e = estimateSweep([c], runsDir, 1, sweepMachine, profileCells);
        return e.unknown ? null : e.cellSeconds;
      },
    }) });
  // Measure first: the profile's step-time cell runs alone, so the estimate of the long cells rests on this machine's speed.
  const calibration = cells.filter((c) => c.task === 'step_time');
  const first = calibration.length ? await sweep(calibration, 1) : null;
  printEstimate();
  printSeedRevisions(runsDir);
  const rest = first?.interrupted ? null : await sweep(cells.filter((c) => c.task !== 'step_time'), jobs);
  const records = [...(first?.records ?? []), ...(rest?.records ?? [])];
  const summary = {
    records, failed: records.filter((r) => r.status === 'failed').length, interrupted: !!(first?.interrupted || rest?.interrupted),
    wallS: (first?.wallS ?? 0) + (rest?.wallS ?? 0),
    left: records.filter((r) => r.status === 'deferred' || r.status === 'stopped').length,
    busy: records.filter((r) => r.status === 'busy').length,
  };
  const cellHours = summary.records.reduce((a, r) => a + r.wallS, 0);
  console.log(`[bench] measured: ${formatHours(cellHours)} of cell time in ${formatHours(summary.wallS)} wall time`);
  if (!f.skipReport) {
    // The report always covers every experiment of the profile (cells not run show as such).
    const preamble = [skippedPreamble(plan), profile === 'quick' ? quickPreamble(path.join(path.dirname(dirs.resultsDir), 'cpu'), reportDir) : null]
      .filter((x): x is string => x !== null).join('\n\n');
    const rep = generateReport({ experiments: registry.forProfile(profile), profile, runsDir, outDir: reportDir, ...(preamble ? { preamble } : {}) });
    console.log(`[bench] report: ${path.join(reportDir, 'report.md')} and index.html (${rep.files.length} files)`);
  }
  if (f.publish && !summary.interrupted && plan.skipped.length) {
    console.log('[bench] not published: cells were skipped for missing data');
  } else if (f.publish && !summary.interrupted) {
    const p = publishResults({ experiments: registry.forProfile(profile), profile, runsDir, resultsDir: dirs.resultsDir, partial: !!f.partial });
    const repoRoot = path.dirname(PACKAGE_ROOT);
    updateReadme(path.join(repoRoot, 'README.md'), dirs.resultsDir, repoRoot, profile);
    const stale = staleReadmeNote(path.join(repoRoot, 'README.md'), dirs.resultsDir);
    if (stale) console.log(`[bench] ${stale}`);
    console.log(`[bench] published ${p.copied} run folder(s) (${p.kept} finished ones were already committed; ${p.finished}/${p.total} cells finished) and the report to ${dirs.resultsDir}`);
  }
  const code = exitStatus(summary);
  if (plan.skipped.length === 0 || code === 130) return code;
  console.error(`[bench] ${plan.skipped.length} cell(s) skipped, their data is missing:`);
  for (const k of plan.skipped) console.error(`  ${k.cell.experiment}/${k.cell.id} (${k.datasets.join(', ')})`);
  console.error(`error: ${plan.message}`);
  return code || 2;
}

/** The report's section on the cells a sweep skipped for missing data, with the fix; null when none was skipped. */
function skippedPreamble(plan: DataPlan): string | null {
  if (plan.skipped.length === 0) return null;
  return `## Skipped: data missing\n\n${plan.skipped.length} cell(s) did not run because their data is not in the data folder:\n\n` +
    plan.skipped.map((k) => `- \`${k.cell.experiment}/${k.cell.id}\` (${k.datasets.join(', ')})`).join('\n') + `\n\n${plan.message}`;
}

/**
 * 130 when the sweep was interrupted, 1 (listing them) when cells failed, 75 when a deadline left cells for a later
 * run (`left`: deferred or stopped at the deadline) or another process is training some (`busy`), else 0.
 */
function exitStatus(summary: Pick<SweepSummary, 'interrupted' | 'failed' | 'records'> & { left?: number; busy?: number }): number {
  if (summary.interrupted) return 130;
  if (summary.failed > 0) {
    console.error(`[bench] ${summary.failed} cell(s) failed:`);
    for (const r of summary.records.filter((x) => x.status === 'failed')) console.error(`  ${r.cell.experiment}/${r.cell.id}: ${r.error?.split('\n')[0]}`);
    return 1;
  }
  if (summary.left) {
    console.error(`[bench] ${summary.left} cell(s) left for a later run by the deadline (--stop-by); the same command goes on with them`);
    return 75;
  }
  if (summary.busy) {
    console.error(`[bench] ${summary.busy} cell(s) not run here: another process is training them (their run.lock); the same command, once it has ended, goes on with what is left`);
    return 75;
  }
  return 0;
}

/** The quick profile's pointer to the committed method comparison (its claims table, when published). */

void runCli(main);
