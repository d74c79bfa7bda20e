/**
 * The `--queue redis://host:port[/db]` flag: parsing, and a start-up check of the server (reachable, Redis >= 6.2,
 * `maxmemory-policy noeviction` as BullMQ requires) that fails with one line naming the problem and the fix.
 */
import { UsageError } from '@asam/cli';
import { Redis } from 'ioredis';

export interface QueueTarget {
  host: string;
  port: number;
  db: number;
  /** The URL as shown to people (no password). */
  display: string;
  password?: string;
  username?: string;
}

/** A problem the user can fix (bad flag, unreachable server): the CLIs print its message on one line and exit 2. */
export class QueueUsageError extends UsageError {}

/** Parses `redis://[user:password@]host[:port][/db]`; throws QueueUsageError naming the value and the expected form. */
export function parseQueueUrl(value: string): QueueTarget {
  const form = 'expected redis://host:port[/db], e.g. redis://127.0.0.1:6379/0';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new QueueUsageError(`--queue "${value}" is not a URL; ${form}`);
  }
  if (u.protocol !== 'redis:') throw new QueueUsageError(`--queue "${value}": scheme "${u.protocol.replace(/:$/, '')}" is not supported; ${form}`);
  if (!u.hostname) throw new QueueUsageError(`--queue "${value}" has no host; ${form}`);
  const port = u.port ? Number(u.port) : 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new QueueUsageError(`--queue "${value}": port must be 1-65535; ${form}`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isInteger(db) || db < 0 || db > 15) {
    throw new QueueUsageError(`--queue "${value}": database "${dbText}" must be an integer 0-15; ${form}`);
  }
  if (u.search || u.hash) throw new QueueUsageError(`--queue "${value}": query and fragment are not supported; ${form}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host, port, db, display: `redis://${u.host}/${db}`,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

/** ioredis options for BullMQ (workers need `maxRetriesPerRequest: null`: blocking commands must wait, not fail). */
export function connectionOptions(t: QueueTarget): { host: string; port: number; db: number; password?: string; username?: string; maxRetriesPerRequest: null } {
  return { host: t.host, port: t.port, db: t.db, maxRetriesPerRequest: null, ...(t.password ? { password: t.password } : {}), ...(t.username ? { username: t.username } : {}) };
}

/**
 * Connects once (5 s timeout, no retries) and checks the server: version >= 6.2 and, where CONFIG is allowed,
 * `maxmemory-policy noeviction` (with eviction Redis may drop queue keys under memory pressure and lose cells).
 * Throws QueueUsageError with the fix.
 */
export async function checkRedis(t: QueueTarget): Promise<{ version: string }> {
  const r = new Redis({ ...connectionOptions(t), maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null, lazyConnect: true, enableOfflineQueue: false });
  r.on('error', () => undefined); // reported through the rejected promises below
  try {
    try {
      await r.connect();
      await r.ping();
    } catch (e) {
      throw new QueueUsageError(`cannot reach Redis at ${t.display} (${(e as Error).message}); start it with \`redis-server --port ${t.port} --maxmemory-policy noeviction\` or fix --queue`);
    }
    const info = await r.info('server');
    const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '0';
    const [maj = 0, min = 0] = version.split('.').map(Number);
    if (maj < 6 || (maj === 6 && min < 2)) throw new QueueUsageError(`Redis at ${t.display} is version ${version}; BullMQ needs Redis >= 6.2`);
    let policy: string | null = null;
    try {
      const got = (await r.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
      policy = got[1] ?? null;
    } catch {
      policy = null; // CONFIG is disabled on some managed servers: nothing to check then
    }
    if (policy !== null && policy !== 'noeviction') {
      throw new QueueUsageError(`Redis at ${t.display} has maxmemory-policy ${policy}; queued cells could be evicted. ` +
        `Start it with --maxmemory-policy noeviction (or run \`redis-cli -p ${t.port} CONFIG SET maxmemory-policy noeviction\`)`);
    }
    return { version };
  } finally {
    r.disconnect();
  }
}
