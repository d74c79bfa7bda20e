/**
 * The run folder of a CLI run: whether `--out` may be used (new, resumed, finished, or refused), the console log
 * (log.txt, appended by every process that works on the run) and env.json (written once, when the run starts;
 * a resumed process appends its own record to env-resume.jsonl instead, and a finished run is not touched).
 * The files themselves are written by @asam/train's RunFolder (one writer per run-folder file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireRunLock, assertRunLockFree, RUN_FILES, RunFolder } from '@asam/train/run-folder';
import { backendFrom } from './command.ts';
import { chosenBackend, collectRunEnv, describeAttempts, type EngineReport, type RunEnv } from './env-info.ts';
import { isUserError, UsageError } from './errors.ts';

/** Files every CLI run folder may hold besides the program's own (removed by --overwrite). */
export const CLI_RUN_FILES = ['env.json', 'env-resume.jsonl', 'log.txt'] as const;

/** What a run folder holds. */
export interface RunFolderState {
  /** Run files present (of `runFiles`). */
  present: string[];
  /** result.json's status, when there is one ('unreadable' when it is not a JSON object: see `resultError`). */
  status: string | null;
  /** What is wrong with result.json, when it cannot be read. */
  resultError?: string;
}

/** The fix for a damaged or foreign file of a run folder, in the words every message uses. */
export function runFileFix(file: string, removable: string): string {
  return `fix: remove ${path.basename(file)} (${removable}), or pass --overwrite to delete the run and start again`;
}

/** The fix for a damaged run file the run cannot go on without (config.json): start again. */
export const START_AGAIN_FIX = 'fix: pass --overwrite to delete the run and start again, or choose another --out';

/**
 * Reads a JSON file of a run folder: the parsed object, or a {@link UsageError} of one line naming the file, what is
 * wrong (unreadable, not JSON, not an object) and `fix` (see {@link runFileFix}, {@link START_AGAIN_FIX}).
 */
export function readRunJson<T = Record<string, unknown>>(file: string, fix: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${fix}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON (${text.length === 0 ? 'the file is empty' : (e as Error).message}): the file is damaged; ${fix}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new UsageError(`${file} holds ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}, not the JSON object a run writes: the file is damaged or not this program's; ${fix}`);
  }
  return v as T;
}

/** What removing result.json does (it is written again as the run goes on). */
const RESULT_REMOVABLE = 'the run then resumes from its checkpoint and writes it again';

/** Reads which of `runFiles` are in `dir` and result.json's status. */
export function inspectRunFolder(dir: string, runFiles: readonly string[]): RunFolderState {
  const present = runFiles.filter((f) => fs.existsSync(path.join(dir, f)));
  let status: string | null = null;
  const rj = path.join(dir, 'result.json');
  if (fs.existsSync(rj)) {
    try {
      const s = readRunJson<{ status?: unknown }>(rj, runFileFix(rj, RESULT_REMOVABLE)).status;
      status = typeof s === 'string' ? s : null;
    } catch (e) {
      return { present, status: 'unreadable', resultError: (e as Error).message };
    }
  }
  return { present, status };
}

/**
 * Marks the run in `dir` as stopped in its result.json (unless it already ended: completed, diverged, failed), for a
 * process that ends at once on a second Ctrl-C: the run resumes from its last checkpoint. No result.json: nothing.
 */
export function markRunStopped(dir: string): void {
  new RunFolder(dir).markStopped();
}

/** How the program goes on with its run folder. */
export type RunFolderMode = 'new' | 'resume' | 'finished';

/** Options of {@link prepareRunFolder}. */
export interface PrepareRunFolderOptions {
  /** `--resume` given. */
  resume: boolean;
  /** `--overwrite` given. */
  overwrite: boolean;
  /** The files the program writes into a run folder (with {@link CLI_RUN_FILES}, what --overwrite removes). */
  runFiles: readonly string[];
  /** The file that makes a folder resumable (default config.json). */
  resumeMarker?: string;
}

/**
 * Decides what happens to run folder `dir`:
 * - `--resume` and `--overwrite` together: refused;
 * - a folder that holds a run (any of the run files): `--resume` continues it ('resume'), or reports 'finished'
 *   when its result.json says completed; `--overwrite` deletes the run files and starts again ('new'); neither flag:
 *   refused, saying both;
 * - a folder without a run: 'new'; `--resume` is refused (nothing to continue).
 * Refusals are {@link UsageError}s. Only the listed run files are ever deleted.
 */
export function prepareRunFolder(dir: string, o: PrepareRunFolderOptions): RunFolderMode {
  if (o.resume && o.overwrite) throw new UsageError('--resume and --overwrite exclude each other: --resume continues the run in --out, --overwrite deletes it');
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file, not a folder; choose a folder for the run`);
  const files = [...new Set([...o.runFiles, ...CLI_RUN_FILES])];
  const st = inspectRunFolder(dir, files);
  const marker = o.resumeMarker ?? 'config.json';
  if (st.present.length === 0) {
    if (o.resume) throw new UsageError(`--resume: ${dir} holds no run to continue (no ${marker}); drop --resume to start one`);
    return 'new';
  }
  // a run another process is training is not resumed, deleted or started twice (see @asam/train's run-lock)
  assertRunLockFree(dir);
  if (o.resume) {
    if (st.resultError) throw new UsageError(st.resultError);
    if (st.status === 'completed') return 'finished';
    if (!st.present.includes(marker)) throw new UsageError(`--resume: ${dir} has no ${marker} (not a run folder, or the run never started); use --overwrite to start again`);
    return 'resume';
  }
  if (o.overwrite) {
    for (const f of st.present) fs.rmSync(path.join(dir, f), { force: true });
    return 'new';
  }
  throw new UsageError(`${dir} already holds a run (${st.present.join(', ')}${st.status ? `; status ${st.status}` : ''}); ` +
    'pass --resume to continue it, --overwrite to delete it and start again, or choose another --out');
}

/**
 * Copies everything written to process.stdout and process.stderr into `target` (appended, synchronously, so
 * nothing is lost when the process exits): a file descriptor open for appending (a run folder's log.txt, from
 * RunFolder.openLog), or the path of another file. Returns a function that stops copying.
 */
export function startConsoleLog(target: string | number): () => void {
  let fd: number;
  if (typeof target === 'number') fd = target;
  else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fd = fs.openSync(target, 'a');
  }
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write);
  streams.forEach((s, i) => {
    const orig = originals[i]!;
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      try {
        if (typeof chunk === 'string') fs.writeSync(fd, chunk);
        else fs.writeSync(fd, chunk);
      } catch {
        // the log is a copy; the console still gets the text
      }
      return (orig as (c: string | Uint8Array, ...r: unknown[]) => boolean).call(s, chunk, ...rest);
    }) as typeof s.write;
  });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    streams.forEach((s, i) => {
      s.write = originals[i]!;
    });
    fs.closeSync(fd);
  };
}

/**
 * Records the environment of this process: a new run writes env.json (atomically; it must not exist yet), a
 * resumed run appends one line to env-resume.jsonl and leaves env.json as the run's start wrote it. Returns the
 * file written.
 */
export function recordRunEnv(dir: string, mode: 'new' | 'resume', env: RunEnv): string {
  const folder = new RunFolder(dir);
  if (mode === 'new' && fs.existsSync(folder.file(RUN_FILES.env))) {
    throw new UsageError(`${folder.file(RUN_FILES.env)} exists already; a new run never replaces another run's env.json (use --resume or --overwrite)`);
  }
  return folder.recordEnv(env, mode === 'resume' ? 'resume' : 'start');
}

/** The env.json a run started with, or null when it has none (a run from before env.json was written). */
export function readRunEnv(dir: string): RunEnv | null {
  const p = path.join(dir, 'env.json');
  if (!fs.existsSync(p)) return null;
  const fix = runFileFix(p, 'the run resumes without the record of its start: the backend is then --backend, else $ASAM_BACKEND, else auto');
  const env = readRunJson<RunEnv>(p, fix);
  if (env.backend !== undefined && (env.backend === null || typeof env.backend !== 'object')) {
    throw new UsageError(`${p}: field "backend" is ${JSON.stringify(env.backend)}, not the backend record a run writes: the file is damaged or not this program's; ${fix}`);
  }
  return env;
}

/** The outermost folder on the way to `dir` that does not exist yet (what creating `dir` adds), or null when `dir` exists. */
export function firstMissingFolder(dir: string): string | null {
  let missing: string | null = null;
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing = d;
    if (path.dirname(d) === d) break;
  }
  return missing;
}

/**
 * Deletes a run that never got going (e.g. stopped by missing data before its first checkpoint): the run files
 * (with {@link CLI_RUN_FILES}) in `dir`, then the folders this run created (`created`, from
 * {@link firstMissingFolder} before the run started, down to `dir`) when they are left empty.
 */
export function discardRun(dir: string, runFiles: readonly string[], created: string | null): void {
  for (const f of new Set([...runFiles, ...CLI_RUN_FILES])) fs.rmSync(path.join(dir, f), { force: true });
  if (created === null) return;
  const top = path.resolve(created);
  for (let d = path.resolve(dir); d.startsWith(top); d = path.dirname(d)) {
    if (!fs.existsSync(d) || fs.readdirSync(d).length > 0) break;
    fs.rmdirSync(d);
    if (d === top) break;
  }
}

/** Options of {@link runInFolder}. */
export interface RunInFolderOptions {
  /** Prefix of the program's lines, e.g. `[vision]`. */
  tag: string;
  out: string;
  /** What {@link prepareRunFolder} decided ('new' or 'resume'). */
  mode: Exclude<RunFolderMode, 'finished'>;
  /** {@link firstMissingFolder} of `out` before anything was created. */
  created: string | null;
  /** The program's run files (what a new run stopped by a user error removes). */
  runFiles: readonly string[];
  /** `--backend` as given; otherwise a resumed run keeps the backend it started on (env.json), else $ASAM_BACKEND / auto. */
  backendFlag: string | undefined;
  env: Record<string, string | undefined>;
  argv: string[];
  /** The invocation directory (recorded in env.json). */
  cwd: string;
  /** The program's file (import.meta.url): versions and git sha in env.json. */
  programFile: string;
  /** Extra env.json fields (data and cache folders). */
  extra?: Record<string, unknown>;
  /** Starts the backend (the program passes @asam/engine's initEngine). */
  initEngine: (backend: string) => Promise<EngineReport>;
}

/**
 * How every training program starts its run: the backend (`--backend`, else the one a resumed run started on, else
 * $ASAM_BACKEND / auto; one that does not load is a user error when it was named), the console copied to log.txt,
 * env.json (or, for a resumed process, a line of env-resume.jsonl), a line naming the backend and what was tried; then
 * `body(engine)`, all under the folder's run.lock (a folder another process trains is refused). A new run stopped by a user error before its first checkpoint leaves no files behind, so the same
 * command works once the problem is fixed.
 */
export async function runInFolder<T>(o: RunInFolderOptions, body: (engine: EngineReport) => Promise<T>): Promise<T> {
  const started = o.mode === 'resume' ? readRunEnv(o.out) : null;
  const backend = o.backendFlag ?? (started ? chosenBackend(started.backend) ?? undefined : undefined) ?? backendFrom(undefined, o.env);
  // this process is the run's one writer until it ends (a second process on the folder is refused)
  const lock = acquireRunLock(o.out, `${o.tag.replace(/^\[|\]$/g, '')} training`);
  // log.txt gets everything printed from here on, the final error line included (runCli prints it before exiting)
  const stopLog = startConsoleLog(new RunFolder(o.out).openLog());
  try {
    let engine: EngineReport;
    try {
      engine = await o.initEngine(backend);
    } catch (e) {
      if (backend !== 'auto') throw new UsageError(`--backend ${backend}: ${(e as Error).message}`);
      throw e;
    }
    recordRunEnv(o.out, o.mode, collectRunEnv({ engine, programFile: o.programFile, argv: o.argv, cwd: o.cwd, extra: o.extra ?? {} }));
    process.stdout.write(`${o.tag} backend ${engine.backend} (${engine.reason}); tried: ${describeAttempts(engine)}\n`);
    return await body(engine);
  } catch (e) {
    if (o.mode === 'new' && isUserError(e) && !fs.existsSync(path.join(o.out, 'checkpoint.bin'))) {
      stopLog();
      lock.release();
      discardRun(o.out, o.runFiles, o.created);
    }
    throw e;
  } finally {
    lock.release();
  }
}
