/**
 * Committed results and the working runs folder. A sweep trains in an ignored working folder
 * (`benchmarks/runs/<profile>`); `benchmarks/results/<profile>/` changes only through `publishResults`, which
 * copies run folders into `results/<profile>/runs/` and regenerates the report there from those copies alone.
 * A publication of an unfinished sweep must be asked for (`partial`); its unfinished cells carry their
 * checkpoints, so `restoreFromCommitted` lets a sweep on another machine skip the finished cells and resume the
 * others instead of starting over. A finished committed cell is never replaced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandGrid, type Cell, type ExperimentDef, type ProfileName } from './experiment.ts';
import { readJsonIfExists } from './fs-util.ts';
import { REFERENCE_DIR } from './report-reference.ts';
import { generateReport, type ReportResult } from './report.ts';
import { cellDir, isFinishedStatus } from './runner.ts';
import { inspectRunLock, PROCESS_FILES } from '@asam/train/run-folder';

/** Files a finished cell does not need in the repository (weights for resuming; temporary files). */
const RESUME_ONLY = new Set(['checkpoint.bin', 'best.bin']);
/** Lines of a cell's console log kept in a publication (the whole log stays in the working folder). */
const LOG_LINES = 400;

/** `results/<profile>/runs`: the committed run folders. */
export function committedRunsDir(resultsDir: string): string {
  return path.join(resultsDir, 'runs');
}

function finished(dir: string): boolean {
  return isFinishedStatus(readJsonIfExists<{ status?: string }>(path.join(dir, 'result.json'))?.status);
}

function copyCell(src: string, dst: string, withCheckpoint: boolean): void {
  const tmp = `${dst}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    const p = path.join(src, f);
    if (!fs.statSync(p).isFile() || /\.tmp-\d+|\.part$|\.stale-/.test(f) || PROCESS_FILES.includes(f)) continue;
    if (!withCheckpoint && RESUME_ONLY.has(f)) continue;
    if (f === 'log.txt') {
      const lines = fs.readFileSync(p, 'utf8').split('\n');
      const kept = lines.length > LOG_LINES ? [`[${lines.length - LOG_LINES} earlier lines are in the working copy of this run]`, ...lines.slice(-LOG_LINES)] : lines;
      fs.writeFileSync(path.join(tmp, f), kept.join('\n'));
      continue;
    }
    fs.copyFileSync(p, path.join(tmp, f));
  }
  fs.rmSync(dst, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.renameSync(tmp, dst);
}

/**
 * Before a sweep: copies committed run folders that the working folder lacks (finished ones are then skipped,
 * unfinished ones resume from their committed checkpoint). Folders already in the working folder are left alone.
 */
export function restoreFromCommitted(cells: Cell[], runsDir: string, resultsDir: string): { finished: number; resumable: number } {
  const from = committedRunsDir(resultsDir);
  let done = 0;
  let resumable = 0;
  for (const c of cells) {
    const src = cellDir(from, c);
    const dst = cellDir(runsDir, c);
    if (!fs.existsSync(path.join(src, 'cell.json')) || fs.existsSync(dst)) continue;
    copyCell(src, dst, true);
    if (finished(src)) done++;
    else resumable++;
  }
  return { finished: done, resumable };
}

export interface PublishOptions {
  experiments: ExperimentDef[];
  profile: ProfileName;
  /** The working runs folder the sweep wrote. */
  runsDir: string;
  /** `benchmarks/results/<profile>`. */
  resultsDir: string;
  /** Publish although some cells have not finished (they are copied with their checkpoints). */
  partial: boolean;
  now?: Date;
}

export interface PublishResult {
  copied: number;
  /** Cells a process is working on (their run.lock): not copied, their committed copy (if any) stays. */
  busy: string[];
  kept: number;
  finished: number;
  total: number;
  report: ReportResult;
}

/**
 * Copies the sweep's run folders into `results/<profile>/runs/` (unfinished ones only when they hold a checkpoint;
 * none that a process is working on: a sweep still running is published cell by cell as its cells end) and
 * regenerates the report there from the copies. Refuses (throws, nothing written) when cells are unfinished and
 * `partial` is not set. Never replaces a finished committed cell; removes report files of experiments the profile
 * no longer has.
 */
export function publishResults(o: PublishOptions): PublishResult {
  const cells = o.experiments.flatMap((e) => expandGrid(e, o.profile));
  const to = committedRunsDir(o.resultsDir);
  const isDone = (c: Cell) => finished(cellDir(o.runsDir, c)) || finished(cellDir(to, c));
  const doneCount = cells.filter(isDone).length;
  if (doneCount < cells.length && !o.partial) {
    throw new Error(`the ${o.profile} sweep is not complete (${doneCount} of ${cells.length} cells finished in ${o.runsDir}); ` +
      'finish it (re-run the same bench command), or publish what there is with --partial (unfinished cells are published with their checkpoints, marked as such)');
  }
  let copied = 0;
  let kept = 0;
  const busy: string[] = [];
  for (const c of cells) {
    const src = cellDir(o.runsDir, c);
    const dst = cellDir(to, c);
    if (finished(dst)) { kept++; continue; }
    if (!fs.existsSync(path.join(src, 'cell.json'))) continue;
    // a cell that is being trained is never copied mid-write (its checkpoint and metrics from different steps)
    const lock = inspectRunLock(src).state;
    if (lock === 'live' || lock === 'foreign' || lock === 'damaged') { busy.push(`${c.experiment}/${c.id}`); continue; }
    // An unfinished cell is worth publishing only with a checkpoint to resume from; one that has just started has
    // none yet (the report counts it as not run, and the next sweep starts it from the beginning).
    if (!finished(src) && !fs.existsSync(path.join(src, 'checkpoint.bin'))) continue;
    copyCell(src, dst, !finished(src));
    copied++;
  }
  // A publication is the whole report folder: drop folders of experiments the profile no longer has (the
  // committed PyTorch reference runs are an input of the report, not an experiment: they stay).
  const ids = new Set(o.experiments.map((e) => e.id));
  for (const f of fs.existsSync(o.resultsDir) ? fs.readdirSync(o.resultsDir) : []) {
    const p = path.join(o.resultsDir, f);
    if (f !== 'runs' && f !== REFERENCE_DIR && fs.statSync(p).isDirectory() && !ids.has(f)) fs.rmSync(p, { recursive: true });
  }
  for (const f of fs.existsSync(to) ? fs.readdirSync(to) : []) {
    if (!ids.has(f)) fs.rmSync(path.join(to, f), { recursive: true });
  }
  // what the publication holds (a finished cell still being written by its process was left out)
  const published = cells.filter((c) => finished(cellDir(to, c))).length;
  const preamble = published < cells.length
    ? `**Partial publication: ${published} of ${cells.length} cells finished.** Unfinished cells are listed per experiment and carry their checkpoints in \`runs/\`, so \`pnpm bench --profile ${o.profile}\` on any machine skips the finished cells and resumes the others. Verdicts marked pending or inconclusive may change as seeds land.`
    : `All ${cells.length} cells finished.`;
  const report = generateReport({ experiments: o.experiments, profile: o.profile, runsDir: to, outDir: o.resultsDir, preamble, ...(o.now ? { now: o.now } : {}) });
  return { copied, busy, kept, finished: published, total: cells.length, report };
}
