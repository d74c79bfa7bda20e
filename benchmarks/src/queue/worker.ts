/**
 * A queue worker: takes cells from the BullMQ queue, runs each in its own child process (the sweep's cell entry,
 * wrapped by `cell-guard.ts`) under a lease on the cell folder, turns the child's output into job progress and
 * its exit into a job result: completed, a transient failure (retried with backoff) or a deterministic one
 * (failed without retry, recorded in result.json). Training happens in the child, so this process's event loop
 * stays free for BullMQ's lock renewal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { acquireRunLock, RunFolder, RunLockedError, type RunLock } from '@asam/train/run-folder';
import { readJsonIfExists, writeJsonAtomic } from '../fs-util.ts';
import { CELL_BUSY_EXIT, cellIdentity, divergedWhere, isFinishedStatus, tsxNodeArgs } from '../runner.ts';
import { classifyFailure, parseProgressLine } from './classify.ts';
import { LeaseWatcher, type CellLease } from './lease.ts';
import { connectionOptions, type QueueTarget } from './redis.ts';
import { JOB_ATTEMPTS, LEASE_TIMINGS, QUEUE_NAME, TRAINING_TIMINGS, type CellJobData, type CellJobResult, type CellProgress, type LeaseTimings, type WorkerTimings } from './settings.ts';

export interface WorkerOptions {
  target: QueueTarget;
  /** Shared runs root: a cell goes to `<runsRoot>/<runsName>/<experiment>/<cell-id>`. */
  runsRoot: string;
  /** Cells at the same time on this worker (one child process each). */
  concurrency: number;
  dataDir: string;
  /** Overrides the backend the sweep asked for. */
  backend?: string;
  /** Adapter module per task (the registry's; tests use a stand-in). */
  taskModule: (task: string) => string;
  timings?: WorkerTimings;
  lease?: LeaseTimings;
  /** Name shown in leases, progress and logs (default `<host>:<pid>`). */
  name?: string;
  log?: (line: string) => void;
  /** Echo the children's output lines (they always go to each cell's log.txt). */
  echoChildOutput?: boolean;
}

export interface RunningWorker {
  name: string;
  /** Stops taking cells, sends SIGTERM to the running children, puts their cells back in the queue, closes. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Resolves when the worker has closed. */
  closed: Promise<void>;
}

const CELL_GUARD = fileURLToPath(new URL('./cell-guard.ts', import.meta.url));

export { tsxNodeArgs } from '../runner.ts';

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function fmtS(s: number): string {
  return s < 60 ? `${s.toFixed(0)}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Starts a worker on the queue; returns once it is connected and taking cells. */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = o.name ?? `${os.hostname()}:${process.pid}`;
  const log = o.log ?? ((l: string) => console.log(l));
  const timings = o.timings ?? TRAINING_TIMINGS;
  const leaseT = o.lease ?? LEASE_TIMINGS;
  const children = new Map<string, ChildProcess>();
  let stopping: NodeJS.Signals | null = null;

  const process1 = async (job: Job<CellJobData, CellJobResult>, token?: string): Promise<CellJobResult> => {
    const { cell, runsName } = job.data;
    const label = job.id!;
    const dir = path.join(o.runsRoot, runsName, cell.experiment, cell.id);
    const t0 = Date.now();
    fs.mkdirSync(dir, { recursive: true });
    const attempt = `attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? JOB_ATTEMPTS}`;
    const ident = cellIdentity(cell);
    const prev = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'cell.json'));
    if (prev && stableStringify(prev) !== stableStringify(ident)) {
      const error = `folder ${dir} holds a different cell definition (cell.json differs: the experiment changed since it ran); delete the folder or use another runs folder`;
      log(`[worker ${name}] ${label}: FAILED (deterministic): ${error}`);
      throw new UnrecoverableError(error);
    }
    const finishedStatus = () => readJsonIfExists<Record<string, unknown>>(path.join(dir, 'result.json'))?.status;
    const finished = () => isFinishedStatus(finishedStatus());
    // A job delivered again for a cell that has its result (a stalled job BullMQ moved back after the run ended) returns
    // that result's status, so a diverged cell is not counted as completed.
    const earlier = (wallS: number): CellJobResult => ({ status: finishedStatus() === 'diverged' ? 'diverged' : 'completed', worker: name, wallS, earlier: true });
    if (finished()) {
      log(`[worker ${name}] ${label}: result exists, nothing to do`);
      return earlier(0);
    }

    // The lease: wait while another live worker holds the folder (BullMQ keeps renewing this job's lock meanwhile).
    const watcher = new LeaseWatcher(dir, name, leaseT);
    let lease: CellLease | null = null;
    let waitingSaid = '';
    for (;;) {
      if (stopping) throw new Error(`worker stopping (${stopping}) before the cell started`);
      const got = watcher.tryAcquire();
      if (got.ok) { lease = got.lease; break; }
      if (finished()) {
        log(`[worker ${name}] ${label}: finished by ${got.holder.worker} while waiting for its lease`);
        return earlier((Date.now() - t0) / 1000);
      }
      if (waitingSaid !== got.holder.token) {
        waitingSaid = got.holder.token;
        log(`[worker ${name}] ${label}: folder leased by ${got.holder.worker}; waiting until it is released or stale`);
        await job.updateProgress({ worker: name, epoch: null, epochs: null, loss: null, line: '', waitingForLease: got.holder.worker } satisfies CellProgress);
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, leaseT.renewMs)));
    }

    let runLock: RunLock | null = null;
    try {
      if (finished()) return earlier(0);
      // Under the lease no other worker's child can be alive, so a run.lock another machine left is taken over; a live
      // one of this machine (a `pnpm bench` run on the same folder outside the queue) is not: this attempt fails
      // without writing anything, and BullMQ retries the job later.
      try {
        runLock = acquireRunLock(dir, `queue worker ${name}`, { takeOverForeign: true });
      } catch (e) {
        if (!(e instanceof RunLockedError)) throw e;
        log(`[worker ${name}] ${label}: ${e.message}; back to the queue`);
        throw new Error(`not started: ${e.message}`);
      }
      writeJsonAtomic(path.join(dir, 'cell.json'), ident);
      const backend = o.backend ?? job.data.backend;
      log(`[worker ${name}] ${label}: start (${attempt})`);
      const args = [...tsxNodeArgs(), CELL_GUARD, '--cell-dir', dir, '--backend', backend, '--data-dir', o.dataDir, '--task-module', o.taskModule(cell.task)];
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...runLock.childEnv() } });
      children.set(label, child);
      lease.renew({ childPid: child.pid ?? null });
      if (child.pid !== undefined) runLock.setChild(child.pid);
      let lostReason: string | null = null;
      lease.startRenewing((reason) => {
        lostReason = reason;
        log(`[worker ${name}] ${label}: lease lost (${reason}); killing the child`);
        child.kill('SIGKILL');
      });
      const logFd = new RunFolder(dir).openLog();
      fs.writeSync(logFd, `\n=== ${new Date().toISOString()} start pid ${child.pid} on worker ${name} (${attempt})\n`);
      const tail: string[] = [];
      let progress: CellProgress = { worker: name, epoch: null, epochs: null, loss: null, line: '' };
      let lastSent = 0;
      let sendTimer: NodeJS.Timeout | null = null;
      const send = () => {
        sendTimer = null;
        lastSent = Date.now();
        job.updateProgress(progress).catch((e: Error) => log(`[worker ${name}] ${label}: progress update failed: ${e.message}`));
      };
      let partial = '';
      const onData = (buf: Buffer) => {
        fs.writeSync(logFd, buf);
        const lines = (partial + buf.toString('utf8')).split(/\r?\n/);
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > 30) tail.shift();
          if (o.echoChildOutput) log(`  [${label}] ${line}`);
          const p = parseProgressLine(line);
          progress = { worker: name, epoch: p.epoch ?? progress.epoch, epochs: p.epochs ?? progress.epochs, loss: p.loss ?? progress.loss, line: line.slice(0, 300) };
        }
        // at most one progress update per second
        if (!sendTimer) sendTimer = setTimeout(send, Math.max(0, 1000 - (Date.now() - lastSent)));
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.stdin!.on('error', () => undefined);
      const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        child.on('close', (code, signal) => resolve({ code, signal }));
      });
      children.delete(label);
      lease.stopRenewing();
      if (sendTimer) { clearTimeout(sendTimer); send(); }
      fs.writeSync(logFd, `=== ${new Date().toISOString()} exit code ${exit.code} signal ${exit.signal}\n`);
      fs.closeSync(logFd);
      const wallS = (Date.now() - t0) / 1000;
      const after = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'result.json'));
      if (exit.code === 0 && after && isFinishedStatus(after.status)) {
        const diverged = after.status === 'diverged';
        log(`[worker ${name}] ${label}: ${diverged ? `diverged${divergedWhere(after)} (kept as the cell's result)` : 'completed'} in ${fmtS(wallS)}`);
        return { status: diverged ? 'diverged' : 'completed', worker: name, wallS };
      }
      if (stopping && !lostReason) {
        // Stopped by SIGTERM/SIGINT: back to the queue without using an attempt; the next worker resumes the checkpoint.
        log(`[worker ${name}] ${label}: stopped by ${stopping}; back in the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (exit.code === CELL_BUSY_EXIT) {
        // the child found another process training the folder and wrote nothing: nor does the worker
        log(`[worker ${name}] ${label}: not run, another process is training the folder; back to the queue`);
        throw new Error('not started: another process is training the folder (its run.lock)');
      }
      const taskError = after?.status === 'failed' && typeof after.error === 'string' && exit.code === 1 ? after.error : null;
      const c = lostReason
        ? { kind: 'transient' as const, reason: `lease on the folder lost: ${lostReason}` }
        : classifyFailure({ code: exit.code, signal: exit.signal, taskError });
      const maxAttempts = job.opts.attempts ?? JOB_ATTEMPTS;
      const final = c.kind === 'deterministic' || job.attemptsMade + 1 >= maxAttempts;
      if (!lostReason) {
        // record it like the local runner (the report lists failed cells); a later attempt overwrites it
        new RunFolder(dir).markFailed(taskError ?? c.reason, {
          exitCode: exit.code, signal: exit.signal, failureKind: c.kind, attempt: job.attemptsMade + 1, maxAttempts, willRetry: !final, worker: name,
          logTail: tail.slice(-15),
        });
      }
      log(`[worker ${name}] ${label}: FAILED (${c.kind}${final ? '' : ', will retry'}) after ${fmtS(wallS)}: ${c.reason}`);
      if (c.kind === 'deterministic') throw new UnrecoverableError(c.reason);
      throw new Error(c.reason);
    } finally {
      runLock?.release();
      lease.release();
    }
  };

  const worker = new Worker<CellJobData, CellJobResult>(QUEUE_NAME, process1, {
    connection: connectionOptions(o.target),
    concurrency: o.concurrency,
    lockDuration: timings.lockDurationMs,
    stalledInterval: timings.stalledIntervalMs,
    maxStalledCount: timings.maxStalledCount,
    autorun: false,
  });
  worker.on('error', (e) => log(`[worker ${name}] queue error: ${e.message}`));
  const closed = worker.run();
  await worker.waitUntilReady();
  log(`[worker ${name}] taking cells from ${o.target.display} (queue ${QUEUE_NAME}), ${o.concurrency} at a time; runs in ${o.runsRoot}; ` +
    `lock ${timings.lockDurationMs / 1000} s, stalled check every ${timings.stalledIntervalMs / 1000} s, max stalls ${timings.maxStalledCount}`);

  return {
    name,
    closed,
    async stop(signal) {
      if (stopping) return;
      stopping = signal;
      log(`[worker ${name}] ${signal}: taking no more cells; stopping ${children.size} running cell(s) (they resume from their checkpoints)`);
      const closing = worker.close();
      for (const c of children.values()) c.kill('SIGTERM');
      await closing;
    },
  };
}
