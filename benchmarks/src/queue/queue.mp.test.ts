/**
 * The queued sweep end to end on a real redis-server (started here on 127.0.0.1, a free port): two worker
 * processes, one SIGKILLed while it holds a cell (after that cell checkpointed step 2), the other takes the cell
 * over and resumes it; every cell completes exactly once and the report equals a local sweep's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineExperiment, expandGrid } from '../experiment.ts';
import { generateReport } from '../report.ts';
import { runSweep } from '../runner.ts';
import { processAlive, type LeaseContent } from './lease.ts';
import { connectionOptions, parseQueueUrl } from './redis.ts';
import { QUEUE_NAME, jobIdOf } from './settings.ts';
import { runQueuedSweep } from './sweep.ts';
import { tsxNodeArgs } from './worker.ts';
import { hasRedisServer, startTestRedis, type TestRedis } from './fixtures/redis-server.ts';

const STAND_IN = fileURLToPath(new URL('./fixtures/stand-in-cell.ts', import.meta.url));
const WORKER_CLI = fileURLToPath(new URL('../worker-cli.ts', import.meta.url));

const good = defineExperiment({
  id: 'stand_in', title: 'stand-in', task: 'vision', description: 'queue test', base: { steps: 6, epochs: 6 },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5] }, seed: [0] }, profiles: { smoke: {} },
});
const bad = defineExperiment({
  id: 'stand_in_bad', title: 'stand-in, bad config', task: 'vision', description: 'queue test', base: { steps: 2, epochs: 2, failAlways: true },
  grid: { optimizer: ['sgd'], seed: [0] }, profiles: { smoke: {} },
});
const diverging = defineExperiment({
  id: 'stand_in_nan', title: 'stand-in, diverges', task: 'vision', description: 'queue test', base: { steps: 4, epochs: 4, divergeAtStep: 1 },
  grid: { optimizer: ['sam'], rho: { sam: [5] }, seed: [0] }, profiles: { smoke: {} },
});

/** Resolves when `cond` holds (checked every 50 ms); rejects with `what` after `ms`. */
async function until(what: string, cond: () => boolean, ms = 40_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readJson<T>(f: string): T | null {
  try { return JSON.parse(fs.readFileSync(f, 'utf8')) as T; } catch { return null; }
}

const redisOk = hasRedisServer();
if (!redisOk) console.warn('[queue.mp.test] skipped: redis-server is not installed (scripts/setup.sh installs it: apt-get install redis-server)');

describe.skipIf(!redisOk)('queued sweep on a real Redis', () => {
  let redis: TestRedis;
  const workers: ChildProcess[] = [];
  let root: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-queue-test-'));
  }, 20_000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  function startWorker(name: string): Promise<ChildProcess> {
    const w = spawn(process.execPath, [...tsxNodeArgs(), WORKER_CLI, '--queue', redis.url, '--runs', path.join(root, 'queue', 'runs'), '--name', name,
      '--backend', 'none', '--task-module', STAND_IN, '--lock-duration', '3', '--stalled-interval', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    workers.push(w);
    let out = '';
    return new Promise((resolve, reject) => {
      const on = (b: Buffer) => {
        out += b.toString();
        if (out.includes('taking cells')) resolve(w);
      };
      w.stdout!.on('data', on);
      w.stderr!.on('data', on);
      w.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before taking cells:\n${out}`)));
    });
  }

  it('a killed worker\'s cell resumes on the other; each cell completes once; report equals the local sweep\'s', async () => {
    const cells = [...expandGrid(good, 'smoke'), ...expandGrid(bad, 'smoke'), ...expandGrid(diverging, 'smoke')];
    const runsDir = path.join(root, 'queue', 'runs', 'smoke');
    const victim = cells.find((c) => c.id === 'sam-rho0.05-seed0')!;
    const victimDir = path.join(runsDir, victim.experiment, victim.id);
    fs.mkdirSync(victimDir, { recursive: true });
    fs.writeFileSync(path.join(victimDir, 'hold-at-step'), '2');

    await Promise.all([startWorker('worker-a'), startWorker('worker-b')]);
    const lines: string[] = [];
    const target = parseQueueUrl(redis.url);
    const asked: number[] = [];
    const sweep = runQueuedSweep({ target, cells, runsDir, backend: 'none', pollMs: 100, log: (l) => lines.push(...l.split('\n')),
      timeLeft: (workers) => { asked.push(workers); return { seconds: 3600, unknown: 0 }; } });

    // Handshake: the victim cell checkpointed step 2 and holds there, under some worker's lease, and the sweep
    // shows its progress (worker, epoch, loss) from the job.
    let lease: LeaseContent | null = null;
    await until('the held cell to checkpoint step 2 under a lease and report epoch 2/6', () => {
      lease = readJson<LeaseContent>(path.join(victimDir, 'lease.json'));
      const ck = readJson<{ step: number }>(path.join(victimDir, 'checkpoint.json'));
      return !!lease?.childPid && (ck?.step ?? 0) >= 2
        && lines.some((l) => /^ {2}smoke\/stand_in\/sam-rho0\.05-seed0: worker-[ab] epoch 2\/6 loss 0\.0625$/.test(l));
    });
    // The status line's time left is the estimator's, asked with the number of cells running, at most the workers
    // connected (both are, and Redis lists them).
    const probe = new Queue(QUEUE_NAME, { connection: connectionOptions(target) });
    try { expect(await probe.getWorkersCount()).toBe(2); } finally { await probe.close(); }
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((w) => w === 1 || w === 2)).toBe(true);
    expect(lines.some((l) => /^\[bench\] .* running, .*; elapsed \S+, time left about 1h00m \(measured epoch times, [12] at a time\)$/.test(l))).toBe(true);
    const held = lease! as LeaseContent;
    const killed = workers.find((w) => w.pid === held.pid)!;
    expect(killed, `lease holder pid ${held.pid} is one of the workers`).toBeDefined();
    killed.kill('SIGKILL');
    // its child notices (stdin closes) and ends at once
    await until('the killed worker\'s child to exit', () => !processAlive(held.childPid));
    const survivor = held.worker === 'worker-a' ? 'worker-b' : 'worker-a';

    const summary = await sweep;
    expect(summary.interrupted).toBe(false);
    expect(summary.completed).toBe(3);
    expect(summary.failed).toBe(1);
    // The diverged cell is a result: its job completed once, recorded as diverged, result.json as the task wrote it.
    const nanCell = cells.find((c) => c.experiment === 'stand_in_nan')!;
    expect(summary.records.find((x) => x.cell === nanCell)?.status).toBe('diverged');
    expect(readJson(path.join(runsDir, 'stand_in_nan', nanCell.id, 'result.json'))).toEqual({ format: 'asam-run/1', status: 'diverged', divergedAt: { epoch: 1, step: 1, loss: null }, resumedFrom: null });
    expect(lines.some((l) => /smoke\/stand_in_nan\/sam-rho5-seed0: diverged on worker-[ab]/.test(l))).toBe(true);

    const r = readJson<{ status: string; resumedFrom: number | null }>(path.join(victimDir, 'result.json'))!;
    expect(r.status).toBe('completed');
    expect(r.resumedFrom).toBeGreaterThan(0);
    const victimLog = fs.readFileSync(path.join(victimDir, 'log.txt'), 'utf8');
    expect(victimLog).toMatch(new RegExp(`start pid \\d+ on worker ${held.worker} `));
    expect(victimLog).toMatch(new RegExp(`start pid \\d+ on worker ${survivor} `));
    expect(fs.existsSync(path.join(victimDir, 'lease.json'))).toBe(false);
    const rows = fs.readFileSync(path.join(victimDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1 + 6); // header + 6 steps, none repeated

    // Every good cell completed exactly once (one successful child exit), and nothing else was written.
    for (const c of cells.filter((x) => x.experiment === 'stand_in')) {
      const dir = path.join(runsDir, c.experiment, c.id);
      expect(readJson<{ status: string }>(path.join(dir, 'result.json'))?.status, c.id).toBe('completed');
      expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8').match(/exit code 0 /g), c.id).toHaveLength(1);
    }
    expect(fs.readdirSync(path.join(runsDir, 'stand_in')).sort()).toEqual(['asam-rho0.5-seed0', 'sam-rho0.05-seed0', 'sgd-seed0']);

    // The bad config failed once, without retry, and is recorded as deterministic.
    const badCell = cells.find((c) => c.experiment === 'stand_in_bad')!;
    const badResult = readJson<{ status: string; failureKind: string; willRetry: boolean; error: string }>(path.join(runsDir, 'stand_in_bad', badCell.id, 'result.json'))!;
    expect(badResult).toMatchObject({ status: 'failed', failureKind: 'deterministic', willRetry: false });
    expect(badResult.error).toMatch(/configured to fail/);
    const q = new Queue(QUEUE_NAME, { connection: connectionOptions(target) });
    try {
      const badJob = (await q.getJob(jobIdOf('smoke', badCell)))!;
      expect(await badJob.getState()).toBe('failed');
      expect(badJob.attemptsMade).toBe(1);
      // A job delivered again for a cell that has its result (as BullMQ does with a job it took for stalled) returns
      // that result's status: the diverged cell stays diverged, nothing runs.
      const nanJob = (await q.getJob(jobIdOf('smoke', nanCell)))!;
      await nanJob.remove();
      await q.add(nanJob.name, nanJob.data, { jobId: nanJob.id });
      // one read of the job hash per poll: its finishedOn and returnvalue are written together (a state read, then
      // a job read, could see 'completed' and an older hash without the return value)
      let again = await q.getJob(nanJob.id!);
      for (const t0 = Date.now(); !again?.finishedOn; again = await q.getJob(nanJob.id!)) {
        if (Date.now() - t0 > 40_000) throw new Error('timed out waiting for the job delivered again to complete');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await again.getState()).toBe('completed');
      expect(again.returnvalue).toMatchObject({ status: 'diverged', earlier: true });
      expect(fs.readFileSync(path.join(runsDir, 'stand_in_nan', nanCell.id, 'log.txt'), 'utf8').match(/ start pid /g)).toHaveLength(1);
    } finally {
      await q.close();
    }

    // Enqueuing the same sweep again adds nothing: finished cells are skipped, the failed one is retried.
    const again = await runQueuedSweep({ target, cells, runsDir, backend: 'none', pollMs: 100, log: (l) => lines.push(l) });
    expect(again.skipped).toBe(4);
    expect(lines.some((l) => /0 cell\(s\) enqueued, 0 already queued or running, 1 failed earlier and retried, 4 finished earlier/.test(l))).toBe(true);

    // The report equals the one a local sweep of the same cells produces.
    const localRuns = path.join(root, 'local', 'runs', 'smoke');
    await runSweep({ cells, runsDir: localRuns, backend: 'none', dataDir: os.tmpdir(), taskModule: () => STAND_IN, log: () => {} });
    const now = new Date('2024-01-01T00:00:00Z');
    const outQ = path.join(root, 'queue', 'report'); // same relative place to the runs as the local one
    const outL = path.join(root, 'local', 'report');
    generateReport({ experiments: [good, bad, diverging], profile: 'smoke', runsDir, outDir: outQ, now });
    generateReport({ experiments: [good, bad, diverging], profile: 'smoke', runsDir: localRuns, outDir: outL, now });
    for (const f of ['report.md', 'summary.csv', 'summary.json', 'stand_in/report.md']) {
      // the git revision each cell ran at is the checkout's at that moment (a commit between the two sweeps changes it)
      const norm = (dir: string, runs: string) => fs.readFileSync(path.join(dir, f), 'utf8').split(runs).join('<runs>')
        .replace(/Git revisions of the runs: [0-9a-f, +]*/g, 'Git revisions of the runs: <sha>');
      expect(norm(outQ, runsDir), f).toBe(norm(outL, localRuns));
    }
  }, 120_000);
});
