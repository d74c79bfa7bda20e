/**
 * The run folder every task writes, and how it is read back:
 *
 * - `config.json` — the task's resolved config; a resume compares it with the new config (see {@link configDiff});
 * - `metrics.csv` — one row per epoch, columns `epoch, step, lr, train_loss, train_<metric>…, <split>_<metric>…,
 *   seconds, <unit>_per_sec` (`<split>` is the task's evaluated split: `test`, `valid`);
 * - `result.json` — {@link RunResult}: written with status `running` when the run starts, and with `completed`,
 *   `diverged` or `stopped` when it returns;
 * - `checkpoint.bin` — the runtime's state and the model/optimizer tensors (see checkpoint.ts).
 *
 * - `env.json` — the environment a run started in (git sha, machine, versions, backend); each later start of the run
 *   appends its own record to `env-resume.jsonl` (or, for a caller that keeps the history in env.json, replaces it);
 * - `log.txt` — the console of every process that worked on the run (appended).
 * - `run.lock` — the process working on the run, while it works (see run-lock.ts; never copied with the run).
 *
 * {@link RunFolder} is the one writer of these files: the runtime, the CLI and the benchmark cells write them through
 * it, and a test (one-writer.test.ts) fails when any other module of the source tree writes one of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
import type { MetricVocabulary } from './task-spec.ts';

/** result.json's `format`. */
export const RUN_RESULT_FORMAT = 'asam-run/1';

/** How a run ended (or that it is under way: `running` is written when it starts; `failed` is written by a sweep runner whose cell process failed). */
export type RunStatus = 'running' | 'completed' | 'diverged' | 'stopped' | 'failed';

/** One metrics.csv row. */
export type MetricsRow = Record<string, number | null>;

/** result.json. */
export interface RunResult {
  format: typeof RUN_RESULT_FORMAT;
  status: RunStatus;
  /** Epochs planned, and finished (each finished epoch has a metrics.csv row). */
  epochs: number;
  epochsCompleted: number;
  steps: number;
  /** The epoch with the highest `<split>_<bestMetric>`. */
  best: { metric: string; value: number; epoch: number } | null;
  /** The run's final figure: the task's final test when it has one, else the last epoch's `best.metric`. */
  final: { metric: string; value: number } | null;
  /** The last metrics.csv row. */
  last: MetricsRow | null;
  /** The task's final test (e.g. `{ bleu, tokenizedBleu }`), null when it has none or the run did not complete. */
  test: Record<string, number> | null;
  wallSeconds: number;
  meanStepSeconds: number | null;
  trainableParams: number;
  backend: string | null;
  /** Where this process resumed the run (epoch 0-based, step within it), null for a fresh start. */
  resumedFrom: { epoch: number; step: number } | null;
  divergedAt: { epoch: number; step: number; loss: number } | null;
  out: string;
  /** Task facts (model, method, data sizes, …). */
  task: Record<string, unknown>;
  /** The registered task's id ('vision', 'nmt', …), for runs started through `runTask`. */
  taskId?: string;
  /** The task's metric vocabulary (what the columns mean, which is the headline), for runs started through `runTask`. */
  metrics?: MetricVocabulary;
}

/** The fields of two JSON values that differ, as `path: a vs b`, skipping the keys (top-level names or dotted paths) in `ignore`. */
export function configDiff(a: unknown, b: unknown, ignore: readonly string[] = []): string[] {
  const walk = (x: unknown, y: unknown, at: string): string[] => {
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      return [...keys]
        .filter((k) => !ignore.includes(at ? `${at}.${k}` : k))
        .flatMap((k) => walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
    }
    return JSON.stringify(x) === JSON.stringify(y) ? [] : [`${at}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`];
  };
  return walk(a, b, '');
}

/** Columns of `rows` in first-seen order, leaving out those that are null in every row. */
export function metricsColumns(rows: readonly MetricsRow[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols.filter((c) => rows.some((r) => r[c] !== null && r[c] !== undefined));
}

/** metrics.csv text of `rows` (numbers in full precision; an empty cell for a missing value). */
export function metricsCsv(rows: readonly MetricsRow[]): string {
  const cols = metricsColumns(rows);
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => { const v = r[c]; return v === null || v === undefined ? '' : String(v); }).join(','));
  return lines.join('\n') + '\n';
}

/** Parses metrics.csv into numeric columns (an empty or non-numeric cell is NaN). Missing file: `{}`. */
export function readMetricsColumns(dir: string): Record<string, number[]> {
  const f = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(f)) return {};
  const [head, ...lines] = fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (head === undefined) return {};
  const cols = head.split(',');
  const out: Record<string, number[]> = {};
  cols.forEach((c, i) => {
    out[c] = lines.map((l) => { const v = l.split(',')[i]; return v === undefined || v === '' ? NaN : Number(v); });
  });
  return out;
}

/** Reads `dir/result.json`; null when there is none. Throws, naming the file and the fix, when it is not in the runtime's layout. */
export function readRunResult(dir: string): RunResult | null {
  const f = path.join(dir, 'result.json');
  if (!fs.existsSync(f)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    throw new Error(`${f}: not valid JSON (${(e as Error).message}); the run folder is damaged: run the cell again in a new folder`);
  }
  if (raw === null || typeof raw !== 'object') throw new Error(`${f}: expected a JSON object`);
  const r = raw as Record<string, unknown>;
  if (r.format !== RUN_RESULT_FORMAT) {
    throw new Error(`${f}: not this runtime's result.json (no "format": "${RUN_RESULT_FORMAT}"; an older trainer's, whose layout is no longer read, or another program's); fix: run the cell again in a new folder`);
  }
  return r as unknown as RunResult;
}

/** The files of a run folder, by role. */
export const RUN_FILES = {
  config: 'config.json',
  env: 'env.json',
  envResume: 'env-resume.jsonl',
  log: 'log.txt',
  metrics: 'metrics.csv',
  result: 'result.json',
  checkpoint: 'checkpoint.bin',
} as const;

/** Statuses after which a run folder's result.json is final (a stop or failure record does not replace them). */
const ENDED: readonly string[] = ['completed', 'diverged', 'failed', 'stopped'];

/** A record of a failure in result.json (besides the fields of the run's last result, when it had one). */
export interface FailureRecord {
  status: 'failed';
  error: string;
  stack?: string;
  failedAt: string;
  [k: string]: unknown;
}

/**
 * The one writer of a run folder's files (config.json, env.json / env-resume.jsonl, log.txt, metrics.csv, result.json;
 * checkpoint.bin is written by checkpoint.ts at {@link RunFolder.checkpointPath}). Every write is atomic (a temporary
 * file renamed into place) except the appended logs. The sync methods are for signal handlers and exit paths.
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** Path of a run file (`RUN_FILES` value or a task's artifact). */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  get checkpointPath(): string {
    return this.file(RUN_FILES.checkpoint);
  }

  hasCheckpoint(): boolean {
    return fs.existsSync(this.checkpointPath);
  }

  /** config.json as JSON text, or null when there is none (the caller parses it and names the fix). */
  readConfigText(): string | null {
    const f = this.file(RUN_FILES.config);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeFileAtomic(this.file(RUN_FILES.config), JSON.stringify(config, null, 2) + '\n');
  }

  async writeMetrics(rows: readonly MetricsRow[]): Promise<void> {
    await writeFileAtomic(this.file(RUN_FILES.metrics), metricsCsv(rows));
  }

  /** result.json of a training run, or the record of a task that is not a training run (a measurement). */
  async writeResult(r: RunResult | Record<string, unknown>): Promise<void> {
    await writeFileAtomic(this.file(RUN_FILES.result), JSON.stringify(r, null, 2) + '\n');
  }

  writeResultSync(r: RunResult | Record<string, unknown>): void {
    writeFileAtomicSync(this.file(RUN_FILES.result), JSON.stringify(r, null, 2) + '\n');
  }

  /** result.json as an object; null when missing, damaged or not an object (a stop or failure record then replaces it). */
  private previousResult(): Record<string, unknown> | null {
    try {
      const v = JSON.parse(fs.readFileSync(this.file(RUN_FILES.result), 'utf8')) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  /**
   * Marks the run as stopped in result.json, unless it already ended (completed, diverged, failed, stopped): for a
   * process that ends before its run returned (a second Ctrl-C, a stop grace period that ran out). The run resumes
   * from its last checkpoint. `whenMissing`: also write a bare stopped record where result.json is missing or damaged
   * (a benchmark cell, whose runner reads the status); default false (nothing to mark). `replaceFailed`: a 'failed'
   * record is replaced too (a cell's result.json may hold an earlier attempt's failure). Returns whether it wrote.
   */
  markStopped(o: { whenMissing?: boolean; replaceFailed?: boolean } = {}): boolean {
    const prev = this.previousResult();
    if (prev === null && !o.whenMissing) return false; // missing or damaged: nothing to mark
    if (prev !== null && ENDED.includes(String(prev.status)) && !(o.replaceFailed && prev.status === 'failed')) return false;
    this.writeResultSync({ ...(prev ?? {}), status: 'stopped' });
    return true;
  }

  /**
   * Records a failure in result.json: the fields of the run's last result (a damaged result.json is replaced), status
   * 'failed', the error, its stack when given, the time, and `extra` (e.g. the exit code of a cell process).
   */
  markFailed(error: string | Error, extra: Record<string, unknown> = {}): FailureRecord {
    const e = typeof error === 'string' ? { message: error, stack: undefined } : error;
    const rec: FailureRecord = {
      ...(this.previousResult() ?? {}), status: 'failed', error: e.message ?? String(error),
      ...(e.stack ? { stack: e.stack } : {}), failedAt: new Date().toISOString(), ...extra,
    };
    this.writeResultSync(rec);
    return rec;
  }

  /**
   * Records the environment of this process. `start`: the run's first process writes env.json (refused when one
   * exists: a new run never replaces another run's record); `resume`: a later process appends its record to
   * env-resume.jsonl and leaves env.json as the run's start wrote it; `replace`: env.json is written whole (a caller
   * that keeps the earlier records inside it, as the benchmark cells do). Returns the file written.
   */
  recordEnv(env: object, mode: 'start' | 'resume' | 'replace'): string {
    fs.mkdirSync(this.dir, { recursive: true });
    if (mode === 'resume') {
      const p = this.file(RUN_FILES.envResume);
      fs.appendFileSync(p, JSON.stringify(env) + '\n');
      return p;
    }
    const p = this.file(RUN_FILES.env);
    if (mode === 'start' && fs.existsSync(p)) {
      throw new RunFolderError(`${p} exists already; a new run never replaces another run's env.json (resume the run, or start it again in a new folder)`);
    }
    writeFileAtomicSync(p, JSON.stringify(env, null, 2) + '\n');
    return p;
  }

  /** Opens log.txt for appending (the caller copies its console into it); returns the file descriptor. */
  openLog(): number {
    fs.mkdirSync(this.dir, { recursive: true });
    return fs.openSync(this.file(RUN_FILES.log), 'a');
  }
}

/** A run folder that cannot be used as asked (a user error: the message says what to do). */
export class RunFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFolderError';
  }
}

// the lock of the process that works on a run folder (run.lock), for the subpath's users (CLI, sweep runner, publication)
export { acquireRunLock, assertRunLockFree, describeHolder, inspectRunLock, PROCESS_FILES, RUN_LOCK_ENV, RUN_LOCK_FILE, RunLockedError } from './run-lock.ts';
export type { RunLock, RunLockRecord, RunLockState } from './run-lock.ts';
