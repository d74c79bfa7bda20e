/**
 * Child-process entry of the sweep runner (a CLI): runs one cell in its folder.
 *   tsx src/cell-main.ts --cell-dir DIR --backend auto|wasm|cpu|none --data-dir DIR --task-module FILE
 * Reads DIR/cell.json, picks the backend with @asam/engine (before any tensor exists; `none` skips
 * it for tasks without tensors), writes DIR/env.json, runs the task. On error writes result.json
 * with status failed and the error (its stack too), and exits 1; a folder another process trains (its run.lock) is
 * left alone, exit 73. The log gets the stack only for a bug: a user error
 * (missing data, a missing tool such as spm_train, a bad config value; see @asam/cli's isUserError) is one line.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { catchStopSignals, exitCodeOf, isUserError, nativeKernelsFrom, oneLine } from '@asam/cli';
import { collectEnv, envWithHistory } from './env-info.ts';
import { RunFolder } from '@asam/train/run-folder';
import { readJsonIfExists } from './fs-util.ts';
import { CELL_BUSY_EXIT, isFinishedStatus } from './runner.ts';
import type { BackendReport, TaskModule } from './tasks/types.ts';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`cell-main: missing --${name}`);
  return v;
}

/** How long a task may take to reach a checkpoint after a stop signal before the process ends anyway. */
const STOP_GRACE_MS = 120_000;
/** The cell folder, once known (a second signal marks its result.json as stopped before exiting). */
let cellDirForStop: string | null = null;

/**
 * SIGTERM from the sweep runner or a queue worker, or SIGINT from Ctrl-C in a terminal (which reaches every process of
 * the foreground group, this one included): training tasks checkpoint at their next step and return; other tasks are
 * ended after a grace period. A second signal ends the process at once; the cell resumes from its last checkpoint.
 */
const stop = catchStopSignals({
  onFirst: (sig) => {
    console.log(`${sig}: stopping at the next step with a checkpoint (at most ${STOP_GRACE_MS / 1000} s; a second Ctrl-C stops at once)`);
    setTimeout(() => {
      // the task did not reach a checkpoint in time: it resumes from its last one
      if (cellDirForStop) markStopped(cellDirForStop);
      process.exit(exitCodeOf(sig));
    }, STOP_GRACE_MS).unref();
  },
  onSecond: (sig) => {
    console.log(`${sig} again: stopping at once; the cell resumes from its last checkpoint`);
    if (cellDirForStop) markStopped(cellDirForStop);
    process.exit(exitCodeOf(sig));
  },
});

/**
 * result.json says 'stopped' (unless the run completed or diverged; a missing or damaged one gets a bare stopped
 * record, an earlier attempt's failure record is replaced): the runner and the report read it.
 */
function markStopped(dir: string): void {
  new RunFolder(dir).markStopped({ whenMissing: true, replaceFailed: true });
}

async function main(): Promise<void> {
  const dir = path.resolve(arg('cell-dir'));
  const backendName = arg('backend');
  const dataDir = arg('data-dir');
  const modPath = arg('task-module');
  const cell = readJsonIfExists<{ config: Record<string, unknown>; experiment: string; id: string }>(path.join(dir, 'cell.json'));
  if (!cell) throw new Error(`cell-main: ${dir}/cell.json is missing`);
  cellDirForStop = dir;
  try {
    let backend: BackendReport;
    if (backendName === 'none') {
      backend = { backend: 'none', requested: 'none', reason: 'the task creates no tensors' };
    } else {
      const { initEngine } = await import('@asam/engine');
      backend = (await initEngine({ backend: backendName as never, nativeKernels: nativeKernelsFrom(undefined, process.env) })) as unknown as BackendReport;
    }
    const mod = (await import(pathToFileURL(modPath).href)) as TaskModule;
    if (typeof mod.run !== 'function') throw new Error(`task module ${modPath} has no run(ctx) export`);
    const dataFiles = mod.dataFiles ? mod.dataFiles(cell.config, dataDir) : [];
    // Earlier starts of a resumed cell stay in env.json (`previous`), so the record says where each part ran.
    const envFile = path.join(dir, 'env.json');
    new RunFolder(dir).recordEnv(envWithHistory(collectEnv({ backend, dataDir, dataFiles }),
      readJsonIfExists<Record<string, unknown>>(envFile), readJsonIfExists(path.join(dir, 'result.json'))), 'replace');
    console.log(`backend ${backend.backend} (requested ${backend.requested}: ${backend.reason})`);
    await mod.run({ config: cell.config, outDir: dir, dataDir, backend, log: (l) => console.log(l), shouldStop: () => stop.requested });
    // A task that finished before it reached a step to stop at (an analysis without steps) has its result: the cell
    // completed, and exits 0.
    const ended = isFinishedStatus(readJsonIfExists<{ status?: unknown }>(path.join(dir, 'result.json'))?.status);
    if (stop.signal && ended) console.log(`${stop.signal} came while the task was finishing: its result stands`);
    if (stop.signal && !ended) {
      // every task says so the same way (the trainers' result.json already does)
      markStopped(dir);
      console.log(`stopped at a checkpoint on ${stop.signal}; the cell resumes from it when it is started again`);
      process.exitCode = exitCodeOf(stop.signal);
    }
  } catch (e) {
    const err = e as Error;
    if (err instanceof Error && err.name === 'RunLockedError') {
      // another process trains this folder: its files are its own, nothing is recorded here
      console.error(`cell not run: ${oneLine(err.message)}`);
      process.exitCode = CELL_BUSY_EXIT;
      return;
    }
    // the run's last result with status failed, the error and its stack (a damaged result.json is replaced)
    new RunFolder(dir).markFailed(err instanceof Error ? err : String(e));
    console.error(`cell failed: ${isUserError(e) ? oneLine(err.message) : (err.stack ?? String(e))}`);
    process.exitCode = 1;
  }
}

await main();
// tfjs backends may keep handles open; the cell is done once main() returns.
process.exit(process.exitCode ?? 0);
