/**
 * Queue settings for training cells. BullMQ's defaults (30 s lock, 30 s stalled check, one stall allowed) suit
 * jobs of seconds; a cell trains for minutes to days, in a child process, on a machine that may die. These values
 * are documented in benchmarks/README.md ("Scale-out").
 */
import type { Cell } from '../experiment.ts';

/** The BullMQ queue every sweep and worker uses (one Redis database can serve several sweeps: job ids differ). */
export const QUEUE_NAME = 'asam-bench';

export interface WorkerTimings {
  /**
   * How long a worker's lock on a job lasts without renewal (ms). BullMQ renews it every half of this; the worker's
   * event loop only pipes the child's output, so renewal is never starved by training. A job whose worker died is
   * seen as stalled once the lock has expired.
   */
  lockDurationMs: number;
  /** How often each worker looks for stalled jobs (expired locks) and moves them back to the wait list (ms). */
  stalledIntervalMs: number;
  /** How many times a job may stall (its worker died or lost Redis) before it fails; each stall resumes elsewhere. */
  maxStalledCount: number;
}

/**
 * For training cells: a lock of 5 minutes (renewed every 2.5 min) survives a Redis fail-over or a network blip of
 * minutes without handing a healthy cell to a second worker; a dead machine's cell is handed over within
 * lock + stalled interval ≈ 6 min, small against cells of hours. Three stalls are allowed, since a machine dying
 * is what the queue is for; a cell that kills its machine every time still ends after the fourth.
 */
export const TRAINING_TIMINGS: WorkerTimings = { lockDurationMs: 300_000, stalledIntervalMs: 60_000, maxStalledCount: 3 };

/** Retries of transient failures (crash, kill, I/O error): 4 attempts, waiting 1, 2, 4 min (exponential backoff). */
export const JOB_ATTEMPTS = 4;
export const JOB_BACKOFF = { type: 'exponential' as const, delay: 60_000 };

export interface LeaseTimings {
  /** A lease whose content has not changed for this long (as seen by the waiting worker's own clock) is stale (ms). */
  ttlMs: number;
  /** The holder rewrites the lease this often (ms). */
  renewMs: number;
  /**
   * The holder kills its child when it has not renewed for this long (ms), so the child is gone well before
   * another worker may call the lease stale (fence < ttl).
   */
  fenceMs: number;
}

/** Lease timings: renew every 20 s, fence at 60 s, stale after 120 s unchanged. */
export const LEASE_TIMINGS: LeaseTimings = { ttlMs: 120_000, renewMs: 20_000, fenceMs: 60_000 };

/** What a job carries: the cell, the name of the runs folder under each worker's --runs root, the backend asked for. */
export interface CellJobData {
  cell: Cell;
  /** Folder name under the shared runs root (`<--runs>/<runsName>/<experiment>/<cell-id>`), e.g. `smoke`. */
  runsName: string;
  /** Backend requested by `bench` (a worker's --backend overrides it). */
  backend: string;
}

/** Progress a worker reports for a running cell (BullMQ job progress). */
export interface CellProgress {
  worker: string;
  epoch: number | null;
  epochs: number | null;
  loss: number | null;
  /** The child's last output line. */
  line: string;
  /** Set while the worker waits for another worker's lease on the folder. */
  waitingForLease?: string;
}

/** What a finished job returns. */
export interface CellJobResult {
  /** The cell's result: completed, or diverged (a result too). */
  status: 'completed' | 'diverged';
  worker: string;
  wallS: number;
  /** The result existed when the job came (written by an earlier delivery or another worker): nothing ran. */
  earlier?: boolean;
}

/** The job id of a cell: `<runsName>/<experiment>/<cell-id>` (stable, so enqueuing twice adds nothing). */
export function jobIdOf(runsName: string, cell: Pick<Cell, 'experiment' | 'id'>): string {
  return `${runsName}/${cell.experiment}/${cell.id}`;
}
