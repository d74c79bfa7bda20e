/**
 * `bench --queue`: a sweep spread over queue workers. Enqueues one job per cell (job id `<runs>/<experiment>/<cell>`,
 * so enqueuing again adds nothing twice; cells whose result.json says completed are not enqueued; a failed job
 * of an earlier sweep is retried), then follows the jobs — cells done / running / failed, each running cell's
 * worker, epoch and loss, an ETA — until every cell has completed or failed, and returns the same summary as
 * the local runner. The run folders are read from `runsDir`, the folder the workers' `--runs` root holds under
 * the same name.
 */
import * as path from 'node:path';
import { Queue, type Job } from 'bullmq';
import type { Cell } from '../experiment.ts';
import { readJsonIfExists } from '../fs-util.ts';
import { cellDir, fmtDuration, isFinishedStatus, type CellRunRecord, type SweepSummary } from '../runner.ts';
import { connectionOptions, type QueueTarget } from './redis.ts';
import { JOB_ATTEMPTS, JOB_BACKOFF, QUEUE_NAME, jobIdOf, type CellJobData, type CellJobResult, type CellProgress } from './settings.ts';

export interface QueuedSweepOptions {
  target: QueueTarget;
  cells: Cell[];
  /** The runs folder of this sweep as seen here (`<shared root>/<name>`); workers write `<their --runs>/<name>/...`. */
  runsDir: string;
  backend: string;
  log?: (line: string) => void;
  /** How often the jobs are polled (ms, default 2000). */
  pollMs?: number;
  /** Print the full status at least this often (ms, default 30000); changes are printed when they happen. */
  statusEveryMs?: number;
  /** Job options (defaults: JOB_ATTEMPTS attempts, exponential backoff from JOB_BACKOFF). */
  attempts?: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  /**
   * The sweep's wall time left with `workers` cells running at a time, from measured epoch times (the CLI passes
   * `estimateSweep` over the run folders); without it, the mean time of the cells finished so far × cells left.
   */
  timeLeft?: (workers: number) => { seconds: number; unknown: number };
}

type Enqueued = 'added' | 'queued' | 'retried' | 'skipped';

/** Adds the cell's job unless it is queued or running already; retries a failed one; re-adds one whose result is gone. */
async function enqueue(queue: Queue<CellJobData, CellJobResult>, cell: Cell, data: CellJobData, o: QueuedSweepOptions): Promise<Enqueued> {
  const jobId = jobIdOf(data.runsName, cell);
  const result = readJsonIfExists<Record<string, unknown>>(path.join(cellDir(o.runsDir, cell), 'result.json'));
  if (result && isFinishedStatus(result.status)) return 'skipped';
  const opts = { jobId, attempts: o.attempts ?? JOB_ATTEMPTS, backoff: o.backoff ?? JOB_BACKOFF, removeOnComplete: false, removeOnFail: false };
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'failed') {
      await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return 'retried';
    }
    if (state !== 'completed' && state !== 'unknown') return 'queued';
    // completed earlier but its result is not in this runs folder (deleted, or another folder of the same name)
    await existing.remove();
  }
  await queue.add(cell.id, data, opts);
  return 'added';
}

/** Runs the sweep through the queue; resolves when every cell completed or failed (or on SIGINT/SIGTERM: interrupted). */
export async function runQueuedSweep(o: QueuedSweepOptions): Promise<SweepSummary> {
  const log = o.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const runsName = path.basename(path.resolve(o.runsDir));
  const queue = new Queue<CellJobData, CellJobResult>(QUEUE_NAME, { connection: connectionOptions(o.target) });
  queue.on('error', (e) => log(`[bench] queue error: ${e.message}`));
  let interrupted = false;
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!interrupted) log(`[bench] ${sig}: no longer following; the cells stay queued and the workers go on (run the same command again to follow)`);
    interrupted = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const counts: Record<Enqueued, number> = { added: 0, queued: 0, retried: 0, skipped: 0 };
    const outcome = new Map<string, Enqueued>();
    for (const cell of o.cells) {
      const how = await enqueue(queue, cell, { cell, runsName, backend: o.backend }, o);
      counts[how]++;
      outcome.set(jobIdOf(runsName, cell), how);
    }
    log(`[bench] queue ${o.target.display} (${QUEUE_NAME}): ${counts.added} cell(s) enqueued, ${counts.queued} already queued or running, ` +
      `${counts.retried} failed earlier and retried, ${counts.skipped} finished earlier (skipped); workers write ${runsName}/ under their --runs folder`);

    const pending = o.cells.filter((c) => outcome.get(jobIdOf(runsName, c)) !== 'skipped');
    const records = new Map<string, CellRunRecord>();
    for (const c of o.cells) if (outcome.get(jobIdOf(runsName, c)) === 'skipped') records.set(jobIdOf(runsName, c), { cell: c, dir: cellDir(o.runsDir, c), status: 'skipped', wallS: 0 });
    const durations: number[] = [];
    let lastStatus = '';
    let lastPrint = 0;
    const pollMs = o.pollMs ?? 2000;
    const statusEvery = o.statusEveryMs ?? 30_000;
    while (!interrupted) {
      const running: Array<{ id: string; p: CellProgress | null }> = [];
      let waiting = 0;
      let retrying = 0;
      for (const c of pending) {
        const id = jobIdOf(runsName, c);
        if (records.has(id)) continue;
        const job: Job<CellJobData, CellJobResult> | undefined = await queue.getJob(id);
        const state = job ? await job.getState() : 'unknown';
        const dir = cellDir(o.runsDir, c);
        if (!job || state === 'unknown') {
          records.set(id, { cell: c, dir, status: 'failed', wallS: 0, error: 'the job was removed from the queue' });
          log(`[bench] ${id}: FAILED: the job was removed from the queue`);
        } else if (state === 'completed') {
          const wallS = job.returnvalue?.wallS ?? ((job.finishedOn ?? 0) - (job.processedOn ?? 0)) / 1000;
          if (!job.returnvalue?.earlier) durations.push(wallS); // a result found, not made, says nothing of a cell's time
          const status = job.returnvalue?.status === 'diverged' ? 'diverged' : 'completed';
          records.set(id, { cell: c, dir, status, wallS });
          log(`[bench] ${id}: ${status} ${job.returnvalue?.earlier ? `earlier (its result was there when ${job.returnvalue.worker} took the job again)` : `on ${job.returnvalue?.worker ?? '?'} in ${fmtDuration(wallS)}`} (${records.size}/${o.cells.length} done)`);
        } else if (state === 'failed') {
          const error = job.failedReason || 'failed';
          records.set(id, { cell: c, dir, status: 'failed', wallS: ((job.finishedOn ?? 0) - (job.processedOn ?? 0)) / 1000, error });
          log(`[bench] ${id}: FAILED after ${job.attemptsMade} attempt(s): ${error.split('\n')[0]}`);
        } else if (state === 'active') {
          running.push({ id, p: (typeof job.progress === 'object' ? job.progress : null) as CellProgress | null });
        } else {
          waiting++;
          if (state === 'delayed' && job.attemptsMade > 0) retrying++;
        }
      }
      const done = [...records.values()];
      const nDone = done.filter((r) => r.status !== 'failed').length;
      const nFailed = done.filter((r) => r.status === 'failed').length;
      if (records.size === o.cells.length) break;
      const remaining = o.cells.length - records.size;
      const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : NaN;
      // Cells at a time: the jobs seen active, at most the workers connected. The states above are read one job after
      // another, so a worker that finished one job and took the next between two reads shows up twice.
      const connected = running.length ? await queue.getWorkersCount().catch(() => 0) : 0;
      const slots = connected > 0 ? Math.min(running.length, connected) : running.length;
      const t = o.timeLeft && slots ? o.timeLeft(slots) : null;
      const eta = t && !t.unknown ? `time left about ${fmtDuration(t.seconds)} (measured epoch times, ${slots} at a time)`
        : t && t.seconds > 0 ? `time left at least ${fmtDuration(t.seconds)} (${t.unknown} cell(s) not measured yet)`
          : `ETA ${durations.length ? fmtDuration(mean * remaining / Math.max(1, slots)) : 'after the first cell'}`;
      const head = `[bench] ${nDone}/${o.cells.length} done, ${running.length} running, ${waiting} waiting${retrying ? ` (${retrying} to retry)` : ''}, ${nFailed} failed; elapsed ${fmtDuration((Date.now() - t0) / 1000)}, ${eta}`;
      const lines = running.map(({ id, p }) => `  ${id}: ${p?.worker ?? 'starting'}${p?.waitingForLease ? ` waiting for the lease of ${p.waitingForLease}` : ''}` +
        `${p?.epoch != null ? ` epoch ${p.epoch}${p.epochs ? `/${p.epochs}` : ''}` : ''}${p?.loss != null ? ` loss ${p.loss.toFixed(4)}` : ''}`);
      const status = [head.replace(/; elapsed.*/, ''), ...lines].join('\n');
      if (status !== lastStatus || Date.now() - lastPrint >= statusEvery) {
        log([head, ...lines].join('\n'));
        lastStatus = status;
        lastPrint = Date.now();
      }
      await new Promise<void>((r) => { wake = r; setTimeout(r, pollMs); });
      wake = null;
    }
    const all: CellRunRecord[] = o.cells.map((c) => records.get(jobIdOf(runsName, c))
      ?? { cell: c, dir: cellDir(o.runsDir, c), status: 'failed', wallS: 0, error: 'not finished: stopped following the queue (the cell is still queued)' });
    const failed = all.filter((r) => r.status === 'failed').length;
    const completed = all.filter((r) => r.status === 'completed').length;
    const diverged = all.filter((r) => r.status === 'diverged').length;
    const skipped = all.filter((r) => r.status === 'skipped').length;
    const wallS = (Date.now() - t0) / 1000;
    log(`[bench] sweep ${interrupted ? 'no longer followed' : 'done'} after ${fmtDuration(wallS)}: ${completed} completed, ${diverged ? `${diverged} diverged, ` : ''}${skipped} skipped (finished earlier), ${failed} failed or not finished`);
    return { records: all, failed, completed, skipped, wallS, interrupted, deferred: 0, busy: 0, deadlineReached: false };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await queue.close();
  }
}
