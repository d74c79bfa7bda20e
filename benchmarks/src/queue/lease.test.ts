import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEASE_FILE, LeaseWatcher } from './lease.ts';

const T = { ttlMs: 1000, renewMs: 100, fenceMs: 500 };

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'asam-lease-'));
}

describe('cell folder lease', () => {
  it('one holder at a time; released leases can be taken', () => {
    const dir = tmp();
    const a = new LeaseWatcher(dir, 'a', T).tryAcquire();
    expect(a.ok).toBe(true);
    const b = new LeaseWatcher(dir, 'b', T).tryAcquire();
    expect(b).toMatchObject({ ok: false, holder: { worker: 'a', pid: process.pid } });
    if (a.ok) a.lease.release();
    expect(fs.existsSync(path.join(dir, LEASE_FILE))).toBe(false);
    expect(new LeaseWatcher(dir, 'b', T).tryAcquire().ok).toBe(true);
  });

  it('a live lease is stale only after its content stayed unchanged for ttl (the waiter\'s clock)', () => {
    const dir = tmp();
    let now = 0;
    const a = new LeaseWatcher(dir, 'a', T, () => now).tryAcquire();
    if (!a.ok) throw new Error('not acquired');
    const w = new LeaseWatcher(dir, 'b', T, () => now);
    expect(w.tryAcquire().ok).toBe(false); // first sight
    now = 400;
    expect(a.lease.renew()).toBe(true); // renewed: the content changed
    now = 1300;
    expect(w.tryAcquire().ok).toBe(false); // the renewed content, first seen now
    now = 2200;
    expect(w.tryAcquire().ok).toBe(false); // unchanged for 900 ms < ttl
    now = 2300;
    const b = w.tryAcquire();
    expect(b.ok).toBe(true);
    // the old holder, which stopped renewing, had fenced itself long before (fence 500 ms < ttl 1000 ms)
    expect(a.lease.renew()).toBe(false);
    expect(a.lease.lostReason).toMatch(/not renewed for/);
    a.lease.release(); // not ours any more: left alone
    expect(JSON.parse(fs.readFileSync(path.join(dir, LEASE_FILE), 'utf8')).worker).toBe('b');
  });

  it('the holder fences itself when it could not renew in time', () => {
    const dir = tmp();
    let now = 0;
    const a = new LeaseWatcher(dir, 'a', T, () => now).tryAcquire();
    if (!a.ok) throw new Error('not acquired');
    now = 600;
    expect(a.lease.renew()).toBe(false);
    expect(a.lease.lostReason).toMatch(/not renewed for/);
  });

  it('a lease of a dead worker and child on this host is stale at once', () => {
    const dir = tmp();
    const dead = 2 ** 22 + 12345; // above the default pid_max: no such process
    fs.writeFileSync(path.join(dir, LEASE_FILE), JSON.stringify({ worker: 'gone', host: os.hostname(), pid: dead, childPid: dead + 1, token: 'x', renewals: 3, acquiredAt: '', renewedAt: '' }));
    const r = new LeaseWatcher(dir, 'b', T).tryAcquire();
    expect(r.ok).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([LEASE_FILE]);
  });
});
