/**
 * run.lock: one process works on a run folder. Live holders are made from this test's own process (its pid and start
 * time under another token), dead ones from a child process that has exited, so nothing here waits on a clock.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireRunLock, inspectRunLock, processStartTime, RUN_LOCK_ENV, RUN_LOCK_FILE, RunLockedError, type RunLockRecord } from './run-lock.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-lock-'));
const lockOf = (dir: string): RunLockRecord => JSON.parse(fs.readFileSync(path.join(dir, RUN_LOCK_FILE), 'utf8')) as RunLockRecord;
const bootId = (): string | null => { try { return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return null; } };
/** A pid that has just ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

/** A lock record as another holder would write it: this process, another token, unless told otherwise. */
function plant(dir: string, over: Partial<RunLockRecord> = {}): RunLockRecord {
  const r: RunLockRecord = {
    format: 'asam-run-lock/1', host: os.hostname(), bootId: bootId(), pid: process.pid, pidStart: processStartTime(process.pid),
    childPid: null, childStart: null, token: 'another-holder', since: '2026-12-07T03:00:00.000Z', what: 'pnpm bench', ...over,
  };
  fs.writeFileSync(path.join(dir, RUN_LOCK_FILE), JSON.stringify(r));
  return r;
}

afterEach(() => { delete process.env[RUN_LOCK_ENV]; });

describe('run.lock', () => {
  it('is taken and given back; taking it again in the same process is counted (the CLI, then the runtime it calls)', () => {
    const dir = path.join(tmp(), 'new', 'run');
    const a = acquireRunLock(dir, 'vision training');
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: os.hostname(), what: 'vision training', childPid: null });
    expect(inspectRunLock(dir).state).toBe('live');
    const b = acquireRunLock(dir, 'training');
    expect(b.token).toBe(a.token);
    b.release();
    expect(fs.existsSync(path.join(dir, RUN_LOCK_FILE))).toBe(true);
    a.release();
    expect(fs.existsSync(path.join(dir, RUN_LOCK_FILE))).toBe(false);
    expect(inspectRunLock(dir).state).toBe('free');
    acquireRunLock(dir, 'again').release();
  });

  it('one sole acquisition (the training) at a time within the process; the others nest around it', () => {
    const dir = tmp();
    const cli = acquireRunLock(dir, 'vision training');
    const a = acquireRunLock(dir, 'training', { sole: true });
    let err: unknown;
    try { acquireRunLock(dir, 'training', { sole: true }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RunLockedError);
    expect((err as Error).message).toBe(`${dir} is already being trained by this process (training); a second training on the same run folder would write into the first one's run: wait for the first to end, or give each run its own folder`);
    const nested = acquireRunLock(dir, 'publication');
    nested.release();
    a.release();
    a.release(); // a second release of one acquisition changes nothing
    expect(fs.existsSync(path.join(dir, RUN_LOCK_FILE))).toBe(true);
    const b = acquireRunLock(dir, 'training', { sole: true });
    b.release();
    cli.release();
    expect(fs.existsSync(path.join(dir, RUN_LOCK_FILE))).toBe(false);
  });

  it('a live holder: refused in one line naming the holder and the fix; the lock and the folder stay as they were', () => {
    const dir = tmp();
    const before = plant(dir);
    fs.writeFileSync(path.join(dir, 'result.json'), '{"status":"running"}');
    let err: unknown;
    try { acquireRunLock(dir, 'training'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RunLockedError);
    expect((err as Error).name).toBe('RunLockedError');
    expect((err as Error).message).toBe(`${dir} is being trained by pid ${process.pid} on host ${os.hostname()} (pnpm bench) since 2026-12-07T03:00:00.000Z; wait for it to end or stop it (Ctrl-C or SIGTERM), then run again`);
    expect(lockOf(dir)).toEqual(before);
    expect(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).toBe('{"status":"running"}');
  });

  it('a holder whose child still runs is live although the holder is gone (a sweep runner killed under its cell)', () => {
    const dir = tmp();
    plant(dir, { pid: deadPid(), pidStart: null, childPid: process.pid, childStart: processStartTime(process.pid) });
    expect(inspectRunLock(dir).state).toBe('live');
    expect(() => acquireRunLock(dir, 'training')).toThrow(/is being trained by pid \d+ \(child \d+\)/);
  });

  it('a holder that has ended (killed: no release) is stale, and its lock is taken over', () => {
    const dir = tmp();
    plant(dir, { pid: deadPid(), pidStart: null });
    expect(inspectRunLock(dir).state).toBe('stale');
    const l = acquireRunLock(dir, 'training');
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, token: l.token });
    expect(fs.readdirSync(dir)).toEqual([RUN_LOCK_FILE]);
    l.release();
  });

  it.runIf(processStartTime(process.pid) !== null)('a pid reused by another process (its start time differs) is stale', () => {
    const dir = tmp();
    plant(dir, { pidStart: processStartTime(process.pid)! + 1 });
    expect(inspectRunLock(dir).state).toBe('stale');
  });

  it.runIf(bootId() !== null)('a lock of an earlier boot is stale, whatever its pid', () => {
    const dir = tmp();
    plant(dir, { bootId: '00000000-0000-0000-0000-000000000000' });
    expect(inspectRunLock(dir).state).toBe('stale');
  });

  it('a lock of another host is refused with the fix (it cannot be checked from here); a queue worker holding the lease takes it over', () => {
    const dir = tmp();
    plant(dir, { host: 'elsewhere', pid: 4242 });
    expect(inspectRunLock(dir).state).toBe('foreign');
    expect(() => acquireRunLock(dir, 'training')).toThrow(`${dir} is being trained by pid 4242 on host elsewhere (pnpm bench) since 2026-12-07T03:00:00.000Z, another machine (which this one cannot check); if that process has ended, delete ${path.join(dir, RUN_LOCK_FILE)} and run again`);
    const l = acquireRunLock(dir, 'queue worker', { takeOverForeign: true });
    expect(lockOf(dir)).toMatchObject({ host: os.hostname(), pid: process.pid, what: 'queue worker' });
    l.release();
  });

  it('a damaged lock file is refused, naming the file and the fix', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, RUN_LOCK_FILE), '{"pid": ');
    expect(() => acquireRunLock(dir, 'training')).toThrow(`${path.join(dir, RUN_LOCK_FILE)} is damaged (not a lock record); if no process is training ${dir}, delete ${path.join(dir, RUN_LOCK_FILE)} and run again`);
  });

  it('a child process adopts its holder\'s lock through $ASAM_RUN_LOCK and leaves it to the holder; setChild keeps the token', () => {
    const dir = tmp();
    const holder = acquireRunLock(dir, 'pnpm bench');
    holder.setChild(process.pid);
    expect(lockOf(dir)).toMatchObject({ token: holder.token, childPid: process.pid });
    expect(holder.childEnv()).toEqual({ [RUN_LOCK_ENV]: holder.token });
    holder.release();
    const planted = plant(dir, { token: 'parent-token' });
    process.env[RUN_LOCK_ENV] = 'parent-token';
    const child = acquireRunLock(dir, 'training');
    expect(child.adopted).toBe(true);
    child.release();
    expect(lockOf(dir)).toEqual(planted);
    process.env[RUN_LOCK_ENV] = 'some-other-token';
    expect(() => acquireRunLock(dir, 'training')).toThrow(RunLockedError);
  });

  it('a process that exits without releasing removes its lock on the way out', () => {
    const dir = tmp();
    const mod = fileURLToPath(new URL('./run-lock.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(mod)}); m.acquireRunLock(${JSON.stringify(dir)}, 'child'); console.log((await import('node:fs')).existsSync(${JSON.stringify(path.join(dir, RUN_LOCK_FILE))})); process.exit(3);`],
    { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout.trim()).toBe('true');
    expect(fs.existsSync(path.join(dir, RUN_LOCK_FILE))).toBe(false);
  });
});
