/**
 * One process trains a run folder at a time: `run.lock` names the process that works on the folder (host, boot,
 * pid and the pid's start time, and the child it trains in when a supervisor holds the lock), so a second
 * `pnpm bench`, a `--resume` in another terminal or a publication never writes into a run while it trains.
 *
 * - Acquire: the record is written to a temporary file and linked to `run.lock` (link(2) fails when the name exists,
 *   and the file is complete when it appears).
 * - A lock is **live** while its process (or its child) runs on this host in this boot; a pid whose start time
 *   differs is another process that reused the number. A lock of this host whose processes are gone, or of an
 *   earlier boot, is **stale** and taken over (renamed aside; of two processes taking it over, one wins). A lock
 *   written on another host cannot be checked from here: it is refused, with the fix.
 * - Within one process acquiring again is counted (the CLI, then the runtime it calls), but only one acquisition at a
 *   time may be `sole` (the training itself): a second `train()` on a folder this process already trains is refused.
 *   A child process started by the holder gets the lock's token in `$ASAM_RUN_LOCK` ({@link RunLock.childEnv}) and
 *   adopts it.
 * - Released by its holder (the file is removed only while it still holds this holder's token), and at process exit.
 *
 * A run folder in a queue sweep also has the worker's lease (lease.json), which guarantees that a dead worker's child
 * is gone before another worker takes the cell; that worker therefore takes over a lock of another host
 * (`takeOverForeign`).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The lock file's name in a run folder. */
export const RUN_LOCK_FILE = 'run.lock';
/** The environment variable through which a holder hands its lock to the child process it trains in. */
export const RUN_LOCK_ENV = 'ASAM_RUN_LOCK';
const FORMAT = 'asam-run-lock/1';

/** What `run.lock` holds. */
export interface RunLockRecord {
  format: typeof FORMAT;
  host: string;
  /** The kernel's boot id (Linux), null elsewhere: a lock of an earlier boot is stale. */
  bootId: string | null;
  pid: number;
  /** The process's start time in clock ticks since boot (Linux `/proc/<pid>/stat`), null elsewhere. */
  pidStart: number | null;
  /** The child process the holder trains in, once started. */
  childPid: number | null;
  childStart: number | null;
  token: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What holds it (e.g. `pnpm bench`, `vision training`). */
  what: string;
}

/** A run folder another process is working on (a user error: the message names the process and the fix). */
export class RunLockedError extends Error {
  constructor(message: string, readonly holder: RunLockRecord | null) {
    super(message);
    this.name = 'RunLockedError';
  }
}

function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** The start time of process `pid` (clock ticks since boot) on Linux; null where /proc does not say. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so fields are counted after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]); // field 22 of stat(5); fields[0] is field 3
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function alive(pid: number | null, start: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === null) return true;
  const now = processStartTime(pid);
  return now === null || now === start;
}

/** Where a lock stands, seen from this process. */
export type RunLockState = 'free' | 'live' | 'stale' | 'foreign' | 'damaged';

/** The lock record of `dir` and its state; `record` is null when the folder has no lock (or it cannot be read). */
export function inspectRunLock(dir: string): { state: RunLockState; record: RunLockRecord | null } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, RUN_LOCK_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free', record: null };
    throw e;
  }
  let r: RunLockRecord;
  try {
    r = JSON.parse(text) as RunLockRecord;
    if (r === null || typeof r !== 'object' || r.format !== FORMAT || typeof r.pid !== 'number' || typeof r.token !== 'string') throw new Error('not a lock record');
  } catch {
    return { state: 'damaged', record: null };
  }
  if (r.host !== os.hostname()) return { state: 'foreign', record: r };
  const boot = bootId();
  if (r.bootId !== null && boot !== null && r.bootId !== boot) return { state: 'stale', record: r };
  return { state: alive(r.pid, r.pidStart) || alive(r.childPid, r.childStart) ? 'live' : 'stale', record: r };
}

/** "pid 123 (pnpm bench) on host h since 2026-…", for messages. */
export function describeHolder(r: RunLockRecord): string {
  return `pid ${r.pid}${r.childPid ? ` (child ${r.childPid})` : ''} on host ${r.host} (${r.what}) since ${r.since}`;
}

/** A held lock. */
export interface RunLock {
  readonly dir: string;
  readonly token: string;
  /** True when this process adopted its parent's lock (`$ASAM_RUN_LOCK`): releasing it is the parent's. */
  readonly adopted: boolean;
  /** Records the child process the holder trains in (a lock stays live while either runs). */
  setChild(pid: number): void;
  /** Environment for that child: it adopts the lock instead of waiting for it. */
  childEnv(): Record<string, string>;
  /** Gives the lock up (the last of this process's acquisitions of the folder removes the file). */
  release(): void;
}

interface Held {
  token: string;
  record: RunLockRecord;
  count: number;
  adopted: boolean;
  /** What the `sole` acquisition that is active says it does, null when none is. */
  sole: string | null;
}

const held = new Map<string, Held>();
let exitHookInstalled = false;

function removeIfOurs(dir: string, token: string): void {
  const file = path.join(dir, RUN_LOCK_FILE);
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunLockRecord;
    if (r.token === token) fs.rmSync(file, { force: true });
  } catch {
    // gone already, or no longer ours
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [dir, h] of held) if (!h.adopted) removeIfOurs(dir, h.token);
    held.clear();
  });
}

function writeRecord(file: string, r: RunLockRecord, exclusive: boolean): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, JSON.stringify(r, null, 2) + '\n');
  try {
    if (exclusive) fs.linkSync(tmp, file);
    else fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function handle(dir: string, h: Held, sole: boolean): RunLock {
  let released = false;
  return {
    dir,
    token: h.token,
    adopted: h.adopted,
    setChild(pid: number): void {
      if (h.adopted) return;
      h.record = { ...h.record, childPid: pid, childStart: processStartTime(pid) };
      const cur = inspectRunLock(dir).record;
      if (cur?.token === h.token) writeRecord(path.join(dir, RUN_LOCK_FILE), h.record, false);
    },
    childEnv: () => ({ [RUN_LOCK_ENV]: h.token }),
    release(): void {
      const cur = held.get(dir);
      if (cur !== h || released) return;
      released = true;
      if (sole) h.sole = null;
      h.count -= 1;
      if (h.count > 0) return;
      held.delete(dir);
      if (!h.adopted) removeIfOurs(dir, h.token);
    },
  };
}

/** Throws the {@link RunLockedError} for a lock in `state` that this process may not take. */
function refuse(key: string, state: RunLockState, record: RunLockRecord | null, o: { takeOverForeign?: boolean }): void {
  const file = path.join(key, RUN_LOCK_FILE);
  if (state === 'live') {
    throw new RunLockedError(`${key} is being trained by ${describeHolder(record!)}; wait for it to end or stop it (Ctrl-C or SIGTERM), then run again`, record);
  }
  if (state === 'damaged') {
    throw new RunLockedError(`${file} is damaged (not a lock record); if no process is training ${key}, delete ${file} and run again`, null);
  }
  if (state === 'foreign' && !o.takeOverForeign) {
    throw new RunLockedError(`${key} is being trained by ${describeHolder(record!)}, another machine (which this one cannot check); if that process has ended, delete ${file} and run again`, record);
  }
}

/**
 * Throws what {@link acquireRunLock} would throw for `dir` (another live process, another host, a damaged lock),
 * without taking the lock: for a program that is about to change the folder (delete a run to start it again) and
 * takes the lock just after.
 */
export function assertRunLockFree(dir: string): void {
  const key = path.resolve(dir);
  if (held.has(key)) return;
  const { state, record } = inspectRunLock(key);
  if (state === 'free' || state === 'stale') return;
  if (record !== null && process.env[RUN_LOCK_ENV] === record.token) return;
  refuse(key, state, record, {});
}

/**
 * Takes the lock of run folder `dir` (created if missing) for this process, or throws {@link RunLockedError}
 * (one line: who holds it, and the fix) when another live process — or a process on another host, which cannot be
 * checked from here — holds it. `takeOverForeign`: for a holder that knows by other means (a queue lease) that
 * nobody else works on the folder. `sole`: the acquisition that trains (writes checkpoints and results); while one is
 * active in this process, another `sole` acquisition of the folder is refused (two `train()` calls on one folder).
 */
export function acquireRunLock(dir: string, what: string, o: { takeOverForeign?: boolean; sole?: boolean } = {}): RunLock {
  const key = path.resolve(dir);
  const sole = o.sole === true;
  const mine = held.get(key);
  if (mine) {
    if (sole && mine.sole !== null) {
      throw new RunLockedError(`${key} is already being trained by this process (${mine.sole}); a second ${what} on the same run folder would write into the first one's run: wait for the first to end, or give each run its own folder`, mine.record);
    }
    mine.count += 1;
    if (sole) mine.sole = what;
    return handle(key, mine, sole);
  }
  fs.mkdirSync(key, { recursive: true });
  const file = path.join(key, RUN_LOCK_FILE);
  installExitHook();
  for (let attempt = 0; attempt < 5; attempt++) {
    const { state, record } = inspectRunLock(key);
    if (state !== 'free') {
      if (record !== null && process.env[RUN_LOCK_ENV] === record.token) {
        const h: Held = { token: record.token, record, count: 1, adopted: true, sole: sole ? what : null };
        held.set(key, h);
        return handle(key, h, sole);
      }
      refuse(key, state, record, o);
      // stale (or foreign, taken over): moved aside; of two processes doing so at once, one finds it gone
      const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        fs.renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      let movedToken: string | null = null;
      try {
        movedToken = (JSON.parse(fs.readFileSync(aside, 'utf8')) as RunLockRecord).token;
      } catch {
        movedToken = null;
      }
      if (record !== null && movedToken !== record.token) {
        // another process took the stale lock over between our look and our rename: its lock goes back
        try {
          fs.linkSync(aside, file);
        } catch {
          // a third process holds the name now; ours to give back is gone, and the loop looks again
        }
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    const record2: RunLockRecord = {
      format: FORMAT, host: os.hostname(), bootId: bootId(), pid: process.pid, pidStart: processStartTime(process.pid),
      childPid: null, childStart: null, token: randomBytes(12).toString('hex'), since: new Date().toISOString(), what,
    };
    try {
      writeRecord(file, record2, true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    const h: Held = { token: record2.token, record: record2, count: 1, adopted: false, sole: sole ? what : null };
    held.set(key, h);
    return handle(key, h, sole);
  }
  throw new RunLockedError(`${file}: other processes keep taking this run folder's lock; make sure one process works on ${key}, then run again`, null);
}

/** Files of a run folder that belong to the processes working on it, never to a copy of the run (publication, restore). */
export const PROCESS_FILES: readonly string[] = [RUN_LOCK_FILE, 'lease.json'];
