/**
 * The lease on a cell folder (`lease.json`): at most one worker runs a cell's child process at a time, even when the
 * queue delivers a job twice (at-least-once: a worker that lost Redis for longer than its lock still runs the cell
 * while another worker got it). The child is only started while the lease is held, so only one process writes the
 * folder's checkpoint, metrics and result, and a checkpoint is only ever replaced by the same run, one step later.
 *
 * - Acquire: create the file with O_EXCL (atomic on local disks and NFS v3+), holding the worker's identity
 *   (host, pid, child pid, a random token) and a renewal counter.
 * - Renew: the holder rewrites the file every `renewMs` after checking the token is still its own. When it has not
 *   renewed for `fenceMs` (file system or process stalled) it kills its child and gives the lease up.
 * - Stale: a waiting worker calls a lease stale when its content has not changed for `ttlMs` by its own clock
 *   (no clock comparison between machines), or at once when the holder ran on this host and both its worker
 *   and child processes are gone. fence < ttl, so the old child is dead before a new one starts.
 * - Take-over: rename the stale file aside (only one worker's rename succeeds), check it was the stale one, create anew.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LeaseTimings } from './settings.ts';

export const LEASE_FILE = 'lease.json';

export interface LeaseContent {
  worker: string;
  host: string;
  pid: number;
  childPid: number | null;
  token: string;
  renewals: number;
  acquiredAt: string;
  renewedAt: string;
}

/** Whether a process exists on this host (EPERM: exists, owned by someone else). */
export function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLease(file: string): { text: string; lease: LeaseContent } | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return { text, lease: JSON.parse(text) as LeaseContent };
  } catch {
    // a half-visible write on a network file system: treated as a live lease with this content until it changes
    return { text, lease: { worker: '(unreadable lease)', host: '', pid: 0, childPid: null, token: '', renewals: -1, acquiredAt: '', renewedAt: '' } };
  }
}

/** Writes a file via temp + rename in the same folder. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export type AcquireResult = { ok: true; lease: CellLease } | { ok: false; holder: LeaseContent };

/**
 * Tries to acquire cell folders' leases for one worker. Keep one `LeaseWatcher` per folder while waiting:
 * it remembers when it first saw each lease content, to tell a stale lease from a live one.
 */
export class LeaseWatcher {
  private seen: { text: string; at: number } | null = null;

  constructor(private readonly dir: string, private readonly worker: string, private readonly t: LeaseTimings,
    private readonly now: () => number = () => performance.now()) {}

  /** One attempt: acquires the lease, or reports the live holder. */
  tryAcquire(): AcquireResult {
    const file = path.join(this.dir, LEASE_FILE);
    for (let round = 0; round < 3; round++) {
      const mine = this.create(file);
      if (mine) return { ok: true, lease: mine };
      const cur = readLease(file);
      if (!cur) continue; // released meanwhile: try again
      if (!this.isStale(cur.text, cur.lease)) return { ok: false, holder: cur.lease };
      // Stale: move it aside; only one contender's rename succeeds, and it must have moved the stale content.
      const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
      try {
        fs.renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = fs.readFileSync(aside, 'utf8');
      if (moved !== cur.text) {
        // it changed between read and rename (renewed, or another worker's fresh lease): put it back untouched
        try {
          fs.linkSync(aside, file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        fs.unlinkSync(aside);
        this.seen = null;
        continue;
      }
      fs.unlinkSync(aside);
      this.seen = null;
    }
    const cur = readLease(file);
    if (cur) return { ok: false, holder: cur.lease };
    const mine = this.create(file);
    if (mine) return { ok: true, lease: mine };
    return { ok: false, holder: readLease(file)?.lease ?? { worker: '(contended)', host: '', pid: 0, childPid: null, token: '', renewals: -1, acquiredAt: '', renewedAt: '' } };
  }

  private isStale(text: string, l: LeaseContent): boolean {
    if (l.host === os.hostname() && l.pid !== process.pid && !processAlive(l.pid) && !processAlive(l.childPid)) return true;
    const t = this.now();
    if (!this.seen || this.seen.text !== text) {
      this.seen = { text, at: t };
      return false;
    }
    return t - this.seen.at >= this.t.ttlMs;
  }

  private create(file: string): CellLease | null {
    const now = new Date().toISOString();
    const content: LeaseContent = {
      worker: this.worker, host: os.hostname(), pid: process.pid, childPid: null, token: randomBytes(12).toString('hex'),
      renewals: 0, acquiredAt: now, renewedAt: now,
    };
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw e;
    }
    try {
      fs.writeSync(fd, JSON.stringify(content, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return new CellLease(file, content, this.t, this.now);
  }
}

/** A held lease: renew it while the child runs, release it when done. */
export class CellLease {
  private lastRenewal: number;
  private timer: NodeJS.Timeout | null = null;
  private lost: string | null = null;

  constructor(readonly file: string, private content: LeaseContent, private readonly t: LeaseTimings, private readonly now: () => number) {
    this.lastRenewal = now();
  }

  get token(): string {
    return this.content.token;
  }

  /** Why the lease was lost, or null while held. */
  get lostReason(): string | null {
    return this.lost;
  }

  /** Rewrites the lease (new child pid, renewal counter); returns false (and marks it lost) when it is not ours any more. */
  renew(patch: Partial<Pick<LeaseContent, 'childPid'>> = {}): boolean {
    if (this.lost) return false;
    const since = this.now() - this.lastRenewal;
    if (since > this.t.fenceMs) {
      this.lost = `not renewed for ${Math.round(since / 1000)} s (limit ${this.t.fenceMs / 1000} s): the run folder or this process stalled`;
      return false;
    }
    const cur = readLease(this.file);
    if (!cur || cur.lease.token !== this.content.token) {
      this.lost = cur ? `taken over by ${cur.lease.worker}` : 'lease file removed';
      return false;
    }
    this.content = { ...this.content, ...patch, renewals: this.content.renewals + 1, renewedAt: new Date().toISOString() };
    writeAtomic(this.file, JSON.stringify(this.content, null, 2) + '\n');
    this.lastRenewal = this.now();
    return true;
  }

  /** Renews every `renewMs`; calls `onLost` once when the lease is lost (the caller kills its child). */
  startRenewing(onLost: (reason: string) => void): void {
    this.timer = setInterval(() => {
      let ok: boolean;
      try {
        ok = this.renew();
      } catch (e) {
        // an I/O error now is retried at the next tick; the fence ends it if it lasts
        ok = !this.lost;
        if (this.now() - this.lastRenewal > this.t.fenceMs) {
          this.lost = `renewal failed for ${Math.round((this.now() - this.lastRenewal) / 1000)} s: ${(e as Error).message}`;
          ok = false;
        }
      }
      if (!ok) {
        this.stopRenewing();
        onLost(this.lost!);
      }
    }, this.t.renewMs);
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes the lease file if it is still ours. */
  release(): void {
    this.stopRenewing();
    const cur = readLease(this.file);
    if (cur && cur.lease.token === this.content.token) fs.rmSync(this.file, { force: true });
  }
}
