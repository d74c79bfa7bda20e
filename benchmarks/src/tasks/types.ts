/** The contract between the sweep runner's child process and a task adapter. */
import type { TaskConfig } from '../experiment.ts';

/** What the engine reported when the child process picked its backend. */
export interface BackendReport {
  backend: string;
  requested: string;
  reason: string;
  [k: string]: unknown;
}

export interface TaskContext {
  /** The cell's config (experiment base + profile patch + grid point). */
  config: TaskConfig;
  /** The cell folder: the task writes metrics.csv, result.json and checkpoints here, and resumes from them. */
  outDir: string;
  /** Root of the datasets (resolved by the CLI from --data-dir / ASAM_DATA_DIR). */
  dataDir: string;
  backend: BackendReport;
  /** Progress line sink (the runner forwards it to the console and the cell's log.txt). */
  log: (line: string) => void;
  /**
   * True once the process was asked to stop (SIGTERM from the runner or a queue worker): a training task then writes
   * a checkpoint at its current step and returns early, and the cell resumes from it on its next start.
   */
  shouldStop: () => boolean;
}

/**
 * A task adapter module (loaded by the child process from its path). `run` must leave
 * `result.json` in `outDir` with `status: 'completed'` on success, and throw on failure.
 */
export interface TaskModule {
  run(ctx: TaskContext): Promise<void>;
  /** Data files this cell reads (hashed into env.json). */
  dataFiles?(config: TaskConfig, dataDir: string): string[];
}
