import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { envRecords, envWithHistory } from '../src/env-info.ts';
import { fmtDuration, runSweep } from '../src/runner.ts';

const STAND_IN = fileURLToPath(new URL('./stand-in-task.ts', import.meta.url));

function exp(base: Record<string, unknown>) {
  return defineExperiment({
    id: 'stand_in', title: 'stand-in', task: 'vision', description: 'test', base,
    grid: { optimizer: ['sgd', 'sam'], rho: { sam: [0.05] }, seed: [0] },
    profiles: { smoke: {} },
  });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-runner-'));
}

const common = { backend: 'none', dataDir: os.tmpdir(), taskModule: () => STAND_IN, log: () => {} };

describe('runSweep', () => {
  it('runs each cell in its own folder, skips finished cells on re-run', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 3 }), 'smoke');
    const s1 = await runSweep({ ...common, cells, runsDir });
    expect(s1.failed).toBe(0);
    expect(s1.completed).toBe(2);
    for (const c of cells) {
      const d = path.join(runsDir, 'stand_in', c.id);
      for (const f of ['cell.json', 'env.json', 'config.json', 'metrics.csv', 'result.json', 'log.txt']) expect(fs.existsSync(path.join(d, f)), `${c.id}/${f}`).toBe(true);
      const env = JSON.parse(fs.readFileSync(path.join(d, 'env.json'), 'utf8'));
      expect(env.backend.backend).toBe('none');
      expect(env.machine.cpuCount).toBeGreaterThan(0);
      expect(env.versions.node).toBe(process.version);
      expect(env.git.sha).toMatch(/^[0-9a-f]{40}$/); // the run folder is outside the repository: the sha comes from the source tree
      expect(env.previous).toBeUndefined(); // a first start has no history
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(runsDir, 'stand_in', 'sam-rho0.05-seed0', 'config.json'), 'utf8'));
    expect(cfg.optimizer).toEqual({ method: 'sam', rho: 0.05 });
    const s2 = await runSweep({ ...common, cells, runsDir });
    expect(s2.skipped).toBe(2);
    expect(s2.completed).toBe(0);
  }, 60_000);

  it('records a failed cell, goes on with the others, and reports failure', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2 }), 'smoke');
    cells[0]!.config = { ...cells[0]!.config, failAlways: true };
    const lines: string[] = [];
    const s = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect(s.failed).toBe(1);
    expect(s.completed).toBe(1);
    const r = JSON.parse(fs.readFileSync(path.join(runsDir, 'stand_in', cells[0]!.id, 'result.json'), 'utf8'));
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/configured to fail/);
    expect(lines.some((l) => /cell 1\/2 .*FAILED/.test(l))).toBe(true);
    expect(lines.some((l) => /cell 2\/2 .*completed/.test(l))).toBe(true);
  }, 60_000);

  it("logs a user error's failure as one line and a bug's with its stack; result.json keeps the stack of both", async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2, failAlways: true }), 'smoke');
    cells[0]!.config = { ...cells[0]!.config, failAs: 'MissingToolError' };
    const s = await runSweep({ ...common, cells, runsDir });
    expect(s.failed).toBe(2);
    const [user, bug] = cells.map((c) => path.join(runsDir, 'stand_in', c.id));
    const userLog = fs.readFileSync(path.join(user!, 'log.txt'), 'utf8');
    expect(userLog).toMatch(/cell failed: stand-in task: configured to fail \(failAlways\)\n/);
    expect(userLog).not.toMatch(/^\s+at /m);
    expect(fs.readFileSync(path.join(bug!, 'log.txt'), 'utf8')).toMatch(/cell failed: Error: stand-in task[^\n]*\n\s+at /);
    for (const d of [user!, bug!]) expect(JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8')).stack).toMatch(/\n\s+at /);
  }, 60_000);

  it('keeps a diverged cell as its result: recorded as diverged, result.json unchanged, skipped by the next sweep', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 4 }), 'smoke');
    cells[1]!.config = { ...cells[1]!.config, divergeAtStep: 2 };
    const lines: string[] = [];
    const s1 = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect(s1.failed).toBe(0);
    expect(s1.completed).toBe(1);
    expect(s1.records.map((r) => r.status)).toEqual(['completed', 'diverged']);
    const dir = path.join(runsDir, 'stand_in', cells[1]!.id);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'))).toEqual({ format: 'asam-run/1', status: 'diverged', divergedAt: { epoch: 2, step: 1, loss: null }, resumedFrom: null });
    expect(lines.find((l) => l.includes('diverged after'))).toMatch(/^\[bench\] cell 2\/2 stand_in\/sam-rho0.05-seed0: diverged after .* at epoch 3, step 1 \(loss NaN\); kept as the cell's result, not retried$/);
    expect(lines.some((l) => /1 completed, 1 diverged, 0 skipped/.test(l))).toBe(true);
    const s2 = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect(s2.skipped).toBe(2);
    expect(lines.some((l) => /stand_in\/sam-rho0.05-seed0: diverged earlier \(its result; delete the folder to run it again\), skipped/.test(l))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'runs.log'), 'utf8')).toBe('diverged\n'); // ran once
  }, 60_000);

  it('an interrupted cell is recorded as failed, then resumes from its checkpoint on the next sweep', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 4, crashOnceAtStep: 2 }), 'smoke').slice(0, 1);
    const s1 = await runSweep({ ...common, cells, runsDir });
    expect(s1.failed).toBe(1);
    const dir = path.join(runsDir, 'stand_in', cells[0]!.id);
    const r1 = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    expect(r1.status).toBe('failed');
    expect(r1.error).toMatch(/code 7/);
    const s2 = await runSweep({ ...common, cells, runsDir });
    expect(s2.completed).toBe(1);
    const r2 = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    expect(r2.status).toBe('completed');
    expect(r2.resumedFrom).toBe(2);
    // env.json keeps the first start's record: where each part of the cell ran
    const env = JSON.parse(fs.readFileSync(path.join(dir, 'env.json'), 'utf8'));
    expect(env.previous).toHaveLength(1);
    expect(env.previous[0].pid).not.toBe(env.pid);
    expect(env.previous[0].machine).toEqual(env.machine);
    expect(env.resumedAt.status).toBe('failed');
    expect(envRecords(dir).map((e) => (e as { pid?: number }).pid)).toEqual([env.previous[0].pid, env.pid]);
    const rows = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(5); // header + 4 steps, no step repeated
  }, 60_000);

  it('the time left at each cell start comes from timeLeft when given, else from the unfinished cells left', async () => {
    const e = defineExperiment({
      id: 'stand_in', title: 'stand-in', task: 'vision', description: 'test', base: { steps: 1 },
      grid: { optimizer: ['sgd', 'sam'], rho: { sam: [0.05, 0.1] }, seed: [0] },
      profiles: { smoke: {} },
    });
    const cells = expandGrid(e, 'smoke');
    expect(cells).toHaveLength(3);
    // Without an estimator: the last cell finished earlier, so when the second starts one cell is left, not two.
    const runsDir = tmp();
    await runSweep({ ...common, cells: cells.slice(2), runsDir });
    const lines: string[] = [];
    const s = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect(s.completed).toBe(2);
    expect(lines.find((l) => /cell 1\/3 .*: start/.test(l))).toMatch(/ETA after the first cell$/);
    expect(lines.find((l) => /cell 2\/3 .*: start/.test(l))).toMatch(new RegExp(`ETA ${fmtDuration(s.records[0]!.wallS)} \\(mean cell time so far\\)$`));
    // With an estimator: its figure, asked as each cell starts; cells it cannot time make it a lower bound.
    const answers = [{ seconds: 9000, unknown: 0 }, { seconds: 600, unknown: 1 }, { seconds: 0, unknown: 1 }];
    const lines2: string[] = [];
    const s2 = await runSweep({ ...common, cells, runsDir: tmp(), log: (l) => lines2.push(l), timeLeft: () => answers.shift()! });
    expect(answers).toHaveLength(0);
    const starts = lines2.filter((l) => /: start/.test(l));
    expect(starts[0]).toMatch(/time left about 2h30m \(measured epoch times\)$/);
    expect(starts[1]).toMatch(/time left at least 10m00s \(1 cell\(s\) not measured yet\)$/);
    // Nothing measured at all: back to the mean time of the cells run so far (two of them, one cell left).
    const meanS = (s2.records[0]!.wallS + s2.records[1]!.wallS) / 2;
    expect(starts[2]).toMatch(new RegExp(`ETA ${fmtDuration(meanS)} \\(mean cell time so far\\)$`));
  }, 60_000);

  it('a cell folder with a damaged result.json or cell.json: that cell is recorded as failed with one line naming the file and the fix; the sweep goes on', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2 }), 'smoke');
    const lines: string[] = [];
    for (const [i, file] of [[0, 'result.json'], [1, 'cell.json']] as const) {
      fs.mkdirSync(path.join(runsDir, 'stand_in', cells[i]!.id), { recursive: true });
      fs.writeFileSync(path.join(runsDir, 'stand_in', cells[i]!.id, file), '{"status": "comp');
    }
    const s = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect(s.records.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(s.records[0]!.error).toMatch(/result\.json: not valid JSON \(.*\); fix: delete the file \(the cell then starts again from its checkpoint, or from the start\) or repair it$/);
    expect(s.records[1]!.error).toMatch(/cell\.json: not valid JSON/);
    expect(lines.filter((l) => /FAILED: .*not valid JSON/.test(l))).toHaveLength(2);
    // the damaged file is left for the user to look at
    expect(fs.readFileSync(path.join(runsDir, 'stand_in', cells[0]!.id, 'result.json'), 'utf8')).toBe('{"status": "comp');
    fs.rmSync(path.join(runsDir, 'stand_in', cells[0]!.id, 'result.json'));
    const again = await runSweep({ ...common, cells: [cells[0]!], runsDir });
    expect(again.completed).toBe(1);
  }, 60_000);

  it('one process per cell folder: the child trains under the runner\'s run.lock; a cell another live process holds is left to it (busy), untouched', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2, takeLock: true }), 'smoke');
    const [held, free] = cells.map((c) => path.join(runsDir, 'stand_in', c.id));
    fs.mkdirSync(held!, { recursive: true });
    const lock = JSON.stringify({ format: 'asam-run-lock/1', host: os.hostname(), bootId: null, pid: process.pid, pidStart: null, childPid: null,
      childStart: null, token: 'another-sweep', since: '2026-12-07T03:00:00.000Z', what: 'pnpm bench' });
    fs.writeFileSync(path.join(held!, 'run.lock'), lock);
    fs.writeFileSync(path.join(held!, 'result.json'), '{"status":"running"}');
    const lines: string[] = [];
    const s = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    expect([s.completed, s.busy, s.failed]).toEqual([1, 1, 0]);
    expect(s.records[0]!.status).toBe('busy');
    expect(lines.find((l) => l.includes('cell 1/2'))).toBe(`[bench] cell 1/2 stand_in/${cells[0]!.id}: not started: ${held} is being trained by pid ${process.pid} on host ${os.hostname()} (pnpm bench) since 2026-12-07T03:00:00.000Z; wait for it to end or stop it (Ctrl-C or SIGTERM), then run again`);
    expect(fs.readdirSync(held!).sort()).toEqual(['result.json', 'run.lock']);
    expect(fs.readFileSync(path.join(held!, 'run.lock'), 'utf8')).toBe(lock);
    // the free cell's child adopted the runner's lock (its record names the runner and the child), and the runner gave it back
    const seen = JSON.parse(fs.readFileSync(path.join(free!, 'lock-seen.json'), 'utf8'));
    expect(seen.adopted).toBe(true);
    expect(seen.record).toMatchObject({ pid: process.pid, what: 'pnpm bench' });
    expect(seen.record.childPid).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(free!, 'run.lock'))).toBe(false);
    expect(lines.at(-2)).toMatch(/1 left to the process already training them/);
  }, 60_000);

  it('a cell process that finds its folder taken (RunLockedError) writes nothing and is recorded as busy, not failed', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2, failAlways: true, failAs: 'RunLockedError' }), 'smoke').slice(0, 1);
    const s = await runSweep({ ...common, cells, runsDir });
    expect([s.busy, s.failed]).toEqual([1, 0]);
    expect(s.records[0]!.error).toBe('stand-in task: configured to fail (failAlways)');
    expect(fs.existsSync(path.join(runsDir, 'stand_in', cells[0]!.id, 'result.json'))).toBe(false);
  }, 60_000);

  it('refuses a folder that holds a different cell definition', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 1 }), 'smoke').slice(0, 1);
    await runSweep({ ...common, cells, runsDir });
    const changed = expandGrid(exp({ steps: 2 }), 'smoke').slice(0, 1);
    const s = await runSweep({ ...common, cells: changed, runsDir });
    expect(s.failed).toBe(1);
    expect(s.records[0]!.error).toMatch(/different cell definition/);
  }, 60_000);

  it('SIGINT stops the sweep (running cell recorded, rest not started); the next sweep resumes', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 40, sleepMs: 50 }), 'smoke');
    const dir = path.join(runsDir, 'stand_in', cells[0]!.id);
    const lines: string[] = [];
    const p = runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l) });
    // Wait until the first cell has checkpointed a few steps, then deliver SIGINT to the sweep's handler.
    for (let t = 0; t < 2400 && !(fs.existsSync(path.join(dir, 'checkpoint.json')) && JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).step >= 3); t++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    process.emit('SIGINT');
    const s1 = await p;
    expect(s1.interrupted).toBe(true);
    expect(s1.completed).toBe(0);
    expect(s1.records[1]!.error).toMatch(/not started/);
    expect(fs.existsSync(path.join(runsDir, 'stand_in', cells[1]!.id, 'cell.json'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).status).toBe('stopped');
    expect(s1.records[0]!.status).toBe('stopped');
    expect(lines.some((l) => /cell 1\/2 .*stopped at a checkpoint/.test(l))).toBe(true);
    // The cell's process was sent SIGTERM: it checkpointed at its next step and exited 143 (not killed mid-step).
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toContain('stopped at a checkpoint on SIGTERM');
    expect(log).toMatch(/exit code 143 signal null/);
    const stoppedAt = Number(/stopping at step (\d+)/.exec(log)![1]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).step).toBe(stoppedAt);
    const s2 = await runSweep({ ...common, cells, runsDir });
    expect(s2.completed).toBe(2);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).resumedFrom).toBeGreaterThanOrEqual(3);
  }, 240_000); // child processes start slowly when the machine is loaded
});

describe('runSweep with a deadline (--stop-by)', () => {
  it('starts a cell only if its estimate ends before the deadline; the others are deferred, not started', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 2 }), 'smoke');
    const clock = Date.now();
    const lines: string[] = [];
    const s = await runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l), now: () => clock, deadline: clock + 60_000,
      cellSeconds: (c) => (c.optimizer === 'sgd' ? 1 : 10_000) });
    expect(s.records.map((r) => r.status)).toEqual(['completed', 'deferred']);
    expect(s.deferred).toBe(1);
    expect(s.deadlineReached).toBe(false);
    expect(lines.filter((l) => l.includes('not started'))).toEqual(['[bench] cell 2/2 stand_in/sam-rho0.05-seed0: not started, it needs about 2h47m and 1m00s are left before the deadline; it runs in a later sweep']);
    expect(lines.some((l) => /1 deferred \(they would not end before the deadline\)/.test(l))).toBe(true);
    expect(fs.existsSync(path.join(runsDir, 'stand_in', cells[1]!.id, 'cell.json'))).toBe(false);
  }, 120_000);

  it('at the deadline the running cell stops at a checkpoint and the rest wait; the next sweep resumes', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 40, sleepMs: 50 }), 'smoke');
    const dir = path.join(runsDir, 'stand_in', cells[0]!.id);
    let clock = Date.now();
    const lines: string[] = [];
    // no estimate (null): the first cell starts while time is left
    const p = runSweep({ ...common, cells, runsDir, log: (l) => lines.push(l), now: () => clock, deadline: clock + 3_600_000, cellSeconds: () => null });
    for (let t = 0; t < 2400 && !(fs.existsSync(path.join(dir, 'checkpoint.json')) && JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).step >= 3); t++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    clock += 7_200_000; // the deadline passes
    const s1 = await p;
    expect(s1.interrupted).toBe(false);
    expect(s1.deadlineReached).toBe(true);
    expect(s1.records.map((r) => r.status)).toEqual(['stopped', 'deferred']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).status).toBe('stopped');
    expect(lines.some((l) => l.startsWith('[bench] deadline reached: stopping 1 running cell(s)'))).toBe(true);
    expect(lines.some((l) => /cell 1\/2 .*stopped at a checkpoint after .* \(deadline\)/.test(l))).toBe(true);
    expect(lines.some((l) => /cell 2\/2 .*not started, the deadline has come/.test(l))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain('stopped at a checkpoint on SIGTERM');
    const s2 = await runSweep({ ...common, cells, runsDir });
    expect(s2.completed).toBe(2);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).resumedFrom).toBeGreaterThanOrEqual(3);
  }, 240_000);
});

describe('stop requests that meet a cell at its edges', () => {
  const waitForStep = async (dir: string, k: number) => {
    for (let t = 0; t < 2400 && !(fs.existsSync(path.join(dir, 'checkpoint.json')) && JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).step >= k); t++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  it('a task that finishes although asked to stop keeps its result: completed, exit 0, not failed', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 20, sleepMs: 50, ignoreStop: true }), 'smoke').slice(0, 1);
    const dir = path.join(runsDir, 'stand_in', cells[0]!.id);
    const p = runSweep({ ...common, cells, runsDir });
    await waitForStep(dir, 3);
    process.emit('SIGINT');
    const s = await p;
    expect(s.records[0]!.status).toBe('completed');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).status).toBe('completed');
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain('SIGTERM came while the task was finishing: its result stands');
  }, 240_000);
  it('a cell that dies of SIGTERM (no handler yet) is recorded as stopped, not failed, and resumes', async () => {
    const runsDir = tmp();
    const cells = expandGrid(exp({ steps: 40, sleepMs: 50, defaultSigterm: true }), 'smoke').slice(0, 1);
    const dir = path.join(runsDir, 'stand_in', cells[0]!.id);
    let clock = Date.now();
    const p = runSweep({ ...common, cells, runsDir, now: () => clock, deadline: clock + 3_600_000 });
    await waitForStep(dir, 3);
    clock += 7_200_000;
    const s1 = await p;
    expect(s1.records[0]!.status).toBe('stopped');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).status).toBe('stopped');
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/signal SIGTERM/);
    cells[0]!.config = { ...cells[0]!.config, defaultSigterm: false };
    fs.rmSync(path.join(dir, 'cell.json'));
    const s2 = await runSweep({ ...common, cells, runsDir });
    expect(s2.completed).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).resumedFrom).toBeGreaterThanOrEqual(3);
  }, 240_000);
});

describe('envWithHistory', () => {
  it('keeps every earlier start, earliest first, and the progress at each resume', () => {
    const a = { pid: 1, backend: { backend: 'wasm' } };
    expect(envWithHistory(a, undefined, undefined)).toBe(a);
    const b = envWithHistory({ pid: 2 }, a, { status: 'stopped', epochsCompleted: 5, steps: 160 });
    expect(b).toEqual({ pid: 2, resumedAt: { status: 'stopped', epochsCompleted: 5, steps: 160 }, previous: [a] });
    const c = envWithHistory({ pid: 3 }, b, { status: 'running', epochsCompleted: 9 });
    expect(c.previous).toEqual([a, { pid: 2, resumedAt: { status: 'stopped', epochsCompleted: 5, steps: 160 } }]);
    expect(c.resumedAt).toEqual({ status: 'running', epochsCompleted: 9, steps: null });
  });
});
