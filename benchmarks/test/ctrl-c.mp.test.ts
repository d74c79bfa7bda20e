/**
 * Ctrl-C as a terminal delivers it: SIGINT to every process of the foreground group (the sweep and its cells). The
 * sweep runs in its own process group here, and the test signals the group, sequenced by the lines the processes
 * print (no sleeps): the first Ctrl-C stops every running cell at its next step with a checkpoint, recorded as
 * stopped, the summary says how to resume, exit 130; a second Ctrl-C stops them at once.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DRIVER = fileURLToPath(new URL('./sweep-driver.ts', import.meta.url));
const CELLS = ['sgd-seed0', 'sam-rho0.05-seed0'];

/** Starts the driver in its own process group; `waitFor(re, n)` resolves once `n` output lines matched `re`. */
function start(runsDir: string, steps: number, sleepMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER, runsDir, String(steps), String(sleepMs)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<{ re: RegExp; n: number; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      if ((out.match(new RegExp(w.re.source, 'gm')) ?? []).length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    }
  };
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); check(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); check(); });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    waitFor: (re: RegExp, n = 1) => new Promise<void>((resolve) => { waiters.push({ re, n, resolve }); check(); }),
    ctrlC: () => process.kill(-child.pid!, 'SIGINT'),
    exited,
    output: () => out,
  };
}

const result = (runsDir: string, id: string) => JSON.parse(fs.readFileSync(path.join(runsDir, 'stand_in', id, 'result.json'), 'utf8')) as { status: string; resumedFrom?: number | null };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-ctrl-c-'));

describe('Ctrl-C in a terminal', () => {
  it('stops every running cell at its next step with a checkpoint, records them as stopped, says how to resume, exit 130; the next sweep resumes', async () => {
    const runsDir = tmp();
    const p = start(runsDir, 400, 20);
    await p.waitFor(/\] step 2\/400/, 2); // both cells have checkpointed steps
    p.ctrlC();
    expect(await p.exited).toBe(130);
    const out = p.output();
    expect(out).toMatch(/\[bench\] SIGINT: stopping 2 running cell\(s\) at their next step with a checkpoint; Ctrl-C again stops them at once/);
    // each cell gets the terminal's SIGINT and the sweep's SIGTERM, in either order: one request, from the first
    expect(out.match(/(SIGINT|SIGTERM): stopping at the next step with a checkpoint/g)).toHaveLength(2);
    expect(out).toMatch(/sweep interrupted .*0 completed, 0 skipped \(finished earlier\), 2 stopped at a checkpoint \(they resume\), 0 failed or not run/);
    expect(out).toContain('[bench] to resume: run the same command again (the driver again); finished cells are skipped, stopped ones continue from their checkpoints');
    expect(out).not.toMatch(/FAILED/);
    for (const id of CELLS) {
      expect(result(runsDir, id).status).toBe('stopped');
      const log = fs.readFileSync(path.join(runsDir, 'stand_in', id, 'log.txt'), 'utf8');
      expect(log).toMatch(/stopping at step (\d+) \(checkpointed\)/);
      expect(log).toMatch(/exit code (130|143) signal null/);
      const at = Number(/stopping at step (\d+)/.exec(log)![1]);
      expect(JSON.parse(fs.readFileSync(path.join(runsDir, 'stand_in', id, 'checkpoint.json'), 'utf8')).step).toBe(at);
    }
    const again = start(runsDir, 400, 20);
    expect(await again.exited).toBe(0);
    for (const id of CELLS) {
      expect(result(runsDir, id).status).toBe('completed');
      expect(result(runsDir, id).resumedFrom).toBeGreaterThanOrEqual(2);
    }
  }, 240_000);

  it('a second Ctrl-C stops the cells at once (a step in progress is abandoned); they are recorded as stopped', async () => {
    const runsDir = tmp();
    const p = start(runsDir, 3, 600_000); // a step that would take 10 minutes
    await p.waitFor(/\] start at step 0$/, 2); // both cells are in their first step
    p.ctrlC();
    await p.waitFor(/(SIGINT|SIGTERM): stopping at the next step with a checkpoint/, 2);
    p.ctrlC();
    expect(await p.exited).toBe(130);
    const out = p.output();
    expect(out.match(/(SIGINT|SIGTERM) again: stopping at once; the cell resumes from its last checkpoint/g)).toHaveLength(2);
    for (const id of CELLS) expect(result(runsDir, id).status).toBe('stopped');
    expect(out).toMatch(/2 stopped at a checkpoint \(they resume\)/);
  }, 240_000);
});
