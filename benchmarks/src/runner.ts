/**
 * The sweep runner: executes grid cells, each in its own child process (tsx) and folder
 * `<runsDir>/<experiment>/<cell-id>/`. Finished cells are skipped; an interrupted or failed cell is
 * started again and the task resumes from its checkpoint; a failed cell is recorded in its
 * `result.json` (status failed + error) and the sweep goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Cell } from './experiment.ts';
import { acquireRunLock, RunFolder, RunLockedError, type RunLock } from '@asam/train/run-folder';
import { readJsonIfExists, writeJsonAtomic } from './fs-util.ts';
import { mean } from './stats.ts';

/**
 * True when a result.json status means the cell has its result and is not run again: 'completed', or 'diverged' (a
 * non-finite loss or weight: a result of the cell's setting, such as a ρ too large; resuming from the last good
 * checkpoint would diverge again at the same step, since the data order is fixed). Delete the folder to retry.
 */
export function isFinishedStatus(status: unknown): boolean {
  return status === 'completed' || status === 'diverged';
}

/** " at epoch 3, step 12 (loss NaN)" from a result.json's divergedAt (epochs counted from 1), or ''. */
export function divergedWhere(result: Record<string, unknown> | null | undefined): string {
  const d = result?.divergedAt as { epoch?: number; step?: number; loss?: number | null } | null | undefined;
  return d && typeof d.epoch === 'number' ? ` at epoch ${d.epoch + 1}, step ${d.step ?? '?'} (loss ${d.loss ?? 'NaN'})` : '';
}

/** The cell's folder under a runs root. */
export function cellDir(runsDir: string, cell: Pick<Cell, 'experiment' | 'id'>): string {
  return path.join(runsDir, cell.experiment, cell.id);
}

/** The identity of a cell written to `cell.json`; a folder whose identity differs is stale. */
export function cellIdentity(cell: Cell): Record<string, unknown> {
  return { experiment: cell.experiment, profile: cell.profile, task: cell.task, id: cell.id, optimizer: cell.optimizer, rho: cell.rho, seed: cell.seed, config: cell.config };
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * 'stopped': the sweep was interrupted, or reached its deadline, and the cell checkpointed where it was (it resumes
 * when the sweep runs again). 'deferred': not started, its estimated time would not end before the deadline (it runs
 * in a later sweep). 'busy': not started, another process (another sweep on this folder) is training it (its
 * run.lock); that process's run stands. 'diverged': the run ended on a non-finite loss; that is its result (see
 * `isFinishedStatus`).
 */
export type CellStatus = 'skipped' | 'completed' | 'diverged' | 'stopped' | 'deferred' | 'busy' | 'failed';

export interface CellRunRecord {
  cell: Cell;
  dir: string;
  status: CellStatus;
  wallS: number;
  error?: string;
}

export interface SweepOptions {
  cells: Cell[];
  /** Root folder of the run folders (e.g. benchmarks/runs/<profile>). */
  runsDir: string;
  /** Backend requested for the child processes (`auto`, `wasm`, `cpu`, ...). */
  backend: string;
  dataDir: string;
  /** Parallel child processes (default 1). */
  jobs?: number;
  /** Overrides the adapter module per task (tests use a stand-in task). */
  taskModule: (task: string) => string;
  /** Extra environment for children. */
  env?: Record<string, string | undefined>;
  /** Console sink (default: process.stdout). */
  log?: (line: string) => void;
  /** Forward child output lines to `log` (default true). */
  echoChildOutput?: boolean;
  /**
   * The sweep's wall time left, from measured epoch times (the CLI passes `estimateSweep`), asked as each cell
   * starts; `unknown` counts unfinished cells it has no rate for. Without it, the ETA is the mean time of the cells
   * run so far times the unfinished cells left, which misleads when the first cells were short resumptions.
   */
  timeLeft?: () => { seconds: number; unknown: number };
  /** The command that resumes the sweep, for the summary of an interrupted one (e.g. `pnpm bench -- --profile cpu`). */
  resumeCommand?: string;
  /**
   * A deadline (milliseconds on `now`'s clock): a cell starts only if `cellSeconds` says it ends before it (a cell
   * without an estimate starts while time is left), the others are deferred to a later sweep; at the deadline the
   * running cells stop at their next step with a checkpoint, as on SIGTERM. For machines lent for a fixed time.
   */
  deadline?: number;
  /** Estimated wall seconds a cell still needs (null when unknown), for the deadline. */
  cellSeconds?: (cell: Cell) => number | null;
  /** The clock of the deadline (default Date.now). */
  now?: () => number;
}

export interface SweepSummary {
  records: CellRunRecord[];
  failed: number;
  completed: number;
  skipped: number;
  wallS: number;
  /** True when SIGINT/SIGTERM stopped the sweep early (running cells were stopped at a checkpoint and recorded as stopped). */
  interrupted: boolean;
  /** Cells not started because they would not end before the deadline. */
  deferred: number;
  /** Cells not started because another process is training them (their run.lock). */
  busy: number;
  /** True when the deadline came while cells ran (they were stopped at a checkpoint and recorded as stopped). */
  deadlineReached: boolean;
}

/** result.json's status, or undefined when it is missing or damaged (the cell then runs, and says what is wrong). */
function readStatus(file: string): unknown {
  try {
    return readJsonIfExists<{ status?: unknown }>(file)?.status;
  } catch {
    return undefined;
  }
}

/** "42s", "7m05s", "2h31m". */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** cell-main's exit code when another process is training the cell's folder (it wrote nothing). */
export const CELL_BUSY_EXIT = 73;

const CELL_MAIN = fileURLToPath(new URL('./cell-main.ts', import.meta.url));

/**
 * Node arguments that load TypeScript through tsx's loader in the same process (`node --import tsx/loader`), so the
 * child's pid is the process that trains: a SIGTERM reaches cell-main's handler, which checkpoints at the next step
 * (tsx's CLI would run the cell in a grandchild and exit on the signal before the step finished).
 */
export function tsxNodeArgs(): string[] {
  for (let d = path.dirname(CELL_MAIN); ; d = path.dirname(d)) {
    const cand = path.join(d, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    if (fs.existsSync(cand)) return ['--import', pathToFileURL(cand).href];
    if (path.dirname(d) === d) break;
  }
  throw new Error('cannot find tsx (node_modules/tsx/dist/loader.mjs) above benchmarks/src; run `pnpm install` at the repository root');
}

/** Runs one child process for a cell; resolves with its exit code/signal and the last output lines. */
function runChild(cell: Cell, dir: string, o: SweepOptions, lock: RunLock, prefix: string, children: Set<ChildProcess>, echoed: Set<string>): Promise<{ code: number | null; signal: string | null; tail: string[] }> {
  return new Promise((resolve) => {
    const args = [...tsxNodeArgs(), CELL_MAIN, '--cell-dir', dir, '--backend', o.backend, '--data-dir', o.dataDir, '--task-module', o.taskModule(cell.task)];
    // the child trains under this process's lock of the folder (it adopts it through the environment)
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env, ...lock.childEnv() } });
    if (child.pid !== undefined) lock.setChild(child.pid);
    const logFile = new RunFolder(dir).openLog();
    fs.writeSync(logFile, `\n=== ${new Date().toISOString()} start pid ${child.pid}\n`);
    const tail: string[] = [];
    const onData = (buf: Buffer) => {
      fs.writeSync(logFile, buf);
      for (const line of buf.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        // the backend line is the same for every cell of a sweep: echoed once (each cell's log.txt keeps its own)
        if (line.startsWith('backend ')) {
          if (echoed.has(line)) continue;
          echoed.add(line);
        }
        if (o.echoChildOutput !== false) (o.log ?? console.log)(`${prefix} ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    children.add(child);
    child.on('close', (code, signal) => {
      children.delete(child);
      fs.writeSync(logFile, `=== ${new Date().toISOString()} exit code ${code} signal ${signal}\n`);
      fs.closeSync(logFile);
      resolve({ code, signal, tail });
    });
  });
}

/**
 * Runs the cells (in order, `jobs` at a time), each in its own child process. Prints progress
 * lines (cell i/n, elapsed, time left from `timeLeft` or else from the mean time of the cells run so far). Never throws for a
 * failing cell: the failure is written to the cell's result.json and counted in the summary.
 */
export async function runSweep(o: SweepOptions): Promise<SweepSummary> {
  const log = o.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const n = o.cells.length;
  const records: CellRunRecord[] = new Array(n);
  const durations: number[] = [];
  let next = 0;
  let interrupted = false;
  let deadlineReached = false;
  const now = o.now ?? Date.now;
  const children = new Set<ChildProcess>();
  const echoedBackends = new Set<string>();
  // Ctrl-C / SIGTERM: every running cell stops at its next step with a checkpoint (SIGTERM, forwarded: the terminal's
  // SIGINT reaches the cells too, and they count the two as one request); no cell is started any more. A second signal
  // is forwarded again, and the cells then stop at once (they resume from their last checkpoint).
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) log(`[bench] ${sig}: stopping ${children.size} running cell(s) at their next step with a checkpoint; ${sig === 'SIGINT' ? 'Ctrl-C' : sig} again stops them at once`);
    else log(`[bench] ${sig} again: stopping ${children.size} running cell(s) at once`);
    interrupted = true;
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The deadline: no cell starts any more, and the running ones stop at their next step with a checkpoint.
  const onDeadline = () => {
    if (interrupted || deadlineReached) return;
    deadlineReached = true;
    log(`[bench] deadline reached: stopping ${children.size} running cell(s) at their next step with a checkpoint`);
    for (const c of children) c.kill('SIGTERM');
  };
  // checked every second on `now`'s clock (a test's clock moves when the test says)
  const deadline = o.deadline;
  const deadlineTimer = deadline === undefined ? null : setInterval(() => { if (now() >= deadline) onDeadline(); }, 1000);

  const etaText = (i: number): string => {
    if (o.timeLeft) {
      const t = o.timeLeft();
      if (!t.unknown) return `time left about ${fmtDuration(t.seconds)} (measured epoch times)`;
      if (t.seconds > 0) return `time left at least ${fmtDuration(t.seconds)} (${t.unknown} cell(s) not measured yet)`;
    }
    if (!durations.length) return 'ETA after the first cell';
    // Cells from i on that have not finished yet, plus this one; finished cells are skipped in no time.
    const left = o.cells.slice(i).filter((c) => !isFinishedStatus(readStatus(path.join(cellDir(o.runsDir, c), 'result.json')))).length;
    return `ETA ${fmtDuration(mean(durations) * left / (o.jobs ?? 1))} (mean cell time so far)`;
  };

  const runOne = async (i: number) => {
    const cell = o.cells[i]!;
    const dir = cellDir(o.runsDir, cell);
    const label = `${cell.experiment}/${cell.id}`;
    fs.mkdirSync(dir, { recursive: true });
    const ident = cellIdentity(cell);
    let prev: Record<string, unknown> | undefined;
    let result: Record<string, unknown> | undefined;
    try {
      prev = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'cell.json'));
      result = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'result.json'));
    } catch (e) {
      // a damaged file of the cell's folder: the cell is recorded as failed (one line with the fix), the sweep goes on
      const error = (e as Error).message;
      log(`[bench] cell ${i + 1}/${n} ${label}: FAILED: ${error}`);
      records[i] = { cell, dir, status: 'failed', wallS: 0, error };
      return;
    }
    if (prev && stableStringify(prev) !== stableStringify(ident)) {
      const error = `folder ${dir} holds a different cell definition (cell.json differs: the experiment changed since it ran); delete the folder or pass another --out`;
      log(`[bench] cell ${i + 1}/${n} ${label}: FAILED: ${error}`);
      records[i] = { cell, dir, status: 'failed', wallS: 0, error };
      return;
    }
    if (result && isFinishedStatus(result.status)) {
      log(`[bench] cell ${i + 1}/${n} ${label}: ${result.status === 'diverged' ? 'diverged earlier (its result; delete the folder to run it again)' : 'finished earlier'}, skipped`);
      records[i] = { cell, dir, status: 'skipped', wallS: 0 };
      return;
    }
    if (o.deadline !== undefined) {
      const left = (o.deadline - now()) / 1000;
      const needs = o.cellSeconds?.(cell) ?? null;
      if (left <= 0 || deadlineReached || (needs !== null && needs > left)) {
        log(`[bench] cell ${i + 1}/${n} ${label}: not started, ${needs === null ? 'the deadline has come' : `it needs about ${fmtDuration(needs)} and ${fmtDuration(Math.max(0, left))} are left before the deadline`}; it runs in a later sweep`);
        records[i] = { cell, dir, status: 'deferred', wallS: 0 };
        return;
      }
    }
    // one process works on a folder: a cell another sweep is running here is left to it
    let lock: RunLock;
    try {
      lock = acquireRunLock(dir, 'pnpm bench');
    } catch (e) {
      if (!(e instanceof RunLockedError)) throw e;
      log(`[bench] cell ${i + 1}/${n} ${label}: not started: ${e.message}`);
      records[i] = { cell, dir, status: 'busy', wallS: 0, error: e.message };
      return;
    }
    try {
      await runLocked(i, cell, dir, label, ident, result, lock);
    } finally {
      lock.release();
    }
  };

  const runLocked = async (i: number, cell: Cell, dir: string, label: string, ident: Record<string, unknown>,
    result: Record<string, unknown> | undefined, lock: RunLock) => {
    writeJsonAtomic(path.join(dir, 'cell.json'), ident);
    const elapsed = (Date.now() - t0) / 1000;
    const resumed = result ? ` (resuming after status "${String(result.status)}")` : '';
    log(`[bench] cell ${i + 1}/${n} ${label}: start${resumed}; elapsed ${fmtDuration(elapsed)}, ${etaText(i)}`);
    const c0 = Date.now();
    const { code, signal, tail } = await runChild(cell, dir, o, lock, `  [${cell.id}]`, children, echoedBackends);
    const wallS = (Date.now() - c0) / 1000;
    durations.push(wallS);
    let after: Record<string, unknown> | undefined;
    try {
      after = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'result.json'));
    } catch {
      after = undefined; // a result.json the cell left damaged: its exit code decides, and the failure record replaces it
    }
    if (code === 0 && after && after.status === 'diverged') {
      log(`[bench] cell ${i + 1}/${n} ${label}: diverged after ${fmtDuration(wallS)}${divergedWhere(after)}; kept as the cell's result, not retried`);
      records[i] = { cell, dir, status: 'diverged', wallS };
      return;
    }
    if (code === 0 && after && isFinishedStatus(after.status)) {
      log(`[bench] cell ${i + 1}/${n} ${label}: completed in ${fmtDuration(wallS)}`);
      records[i] = { cell, dir, status: 'completed', wallS };
      return;
    }
    // A cell sent SIGTERM before its process had set up its handler dies of the signal without a word: it stopped
    // all the same, before its first checkpoint or at its last one, and resumes from there.
    if ((interrupted || deadlineReached) && signal === 'SIGTERM' && !(after && isFinishedStatus(after.status))) {
      new RunFolder(dir).markStopped({ whenMissing: true, replaceFailed: true });
      after = { ...(after ?? {}), status: 'stopped' };
    }
    if ((interrupted || deadlineReached) && after && after.status === 'stopped') {
      log(`[bench] cell ${i + 1}/${n} ${label}: stopped at a checkpoint after ${fmtDuration(wallS)}${interrupted ? '' : ' (deadline)'}; it resumes when the sweep runs again`);
      records[i] = { cell, dir, status: 'stopped', wallS };
      return;
    }
    if (code === CELL_BUSY_EXIT) {
      const error = tail.filter((l) => l.startsWith('cell not run: ')).pop()?.slice('cell not run: '.length) ?? 'another process is training this folder';
      log(`[bench] cell ${i + 1}/${n} ${label}: not run: ${error}`);
      records[i] = { cell, dir, status: 'busy', wallS, error };
      return;
    }
    let error: string;
    if (after && after.status === 'failed' && typeof after.error === 'string') {
      error = after.error;
    } else {
      error = code === 0
        ? `child exited 0 but result.json has status ${JSON.stringify(after?.status)} (expected "completed")`
        : `child process exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
      new RunFolder(dir).markFailed(error, { exitCode: code, signal, logTail: tail.slice(-15) });
    }
    log(`[bench] cell ${i + 1}/${n} ${label}: FAILED after ${fmtDuration(wallS)}: ${error.split('\n')[0]} (see ${path.join(dir, 'log.txt')})`);
    records[i] = { cell, dir, status: 'failed', wallS, error };
  };

  const worker = async () => {
    while (next < n && !interrupted) {
      const i = next++;
      await runOne(i);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs ?? 1, n)) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (deadlineTimer) clearInterval(deadlineTimer);
  }
  for (let i = 0; i < n; i++) records[i] ??= { cell: o.cells[i]!, dir: cellDir(o.runsDir, o.cells[i]!), status: 'failed', wallS: 0, error: 'not started: the sweep was interrupted' };
  const failed = records.filter((r) => r.status === 'failed').length;
  const completed = records.filter((r) => r.status === 'completed').length;
  const skipped = records.filter((r) => r.status === 'skipped').length;
  const stopped = records.filter((r) => r.status === 'stopped').length;
  const diverged = records.filter((r) => r.status === 'diverged').length;
  const deferred = records.filter((r) => r.status === 'deferred').length;
  const busy = records.filter((r) => r.status === 'busy').length;
  const wallS = (Date.now() - t0) / 1000;
  log(`[bench] sweep ${interrupted ? 'interrupted' : deadlineReached ? 'stopped at its deadline' : 'done'} in ${fmtDuration(wallS)}: ${completed} completed, ${diverged ? `${diverged} diverged, ` : ''}${skipped} skipped (finished earlier), ` +
    `${stopped ? `${stopped} stopped at a checkpoint (they resume), ` : ''}${deferred ? `${deferred} deferred (they would not end before the deadline), ` : ''}` +
    `${busy ? `${busy} left to the process already training them, ` : ''}${failed} failed or not run`);
  if (interrupted || deadlineReached || deferred || busy) {
    log(`[bench] to resume: run the same command again${o.resumeCommand ? ` (${o.resumeCommand})` : ''}; finished cells are skipped, stopped ones continue from their checkpoints`);
  }
  return { records, failed, completed, skipped, wallS, interrupted, deferred, busy, deadlineReached };
}
