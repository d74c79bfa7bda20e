/**
 * `pnpm bench:worker --queue redis://host:port[/db] --runs DIR [--concurrency N]`: a queue worker for sweeps
 * started with `pnpm bench --queue`. Run one per GPU (or per CPU core on CPU profiles) on every machine; all
 * workers and the `bench` that enqueued the sweep see the same runs folder (a network file system).
 * SIGTERM / SIGINT: takes no more cells, stops the running children and puts their cells back in the queue.
 */
import { resolveDataDir } from '@asam/data';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { helpText, parseFlags, type FlagSpec } from './args.ts';
import { checkRedis, parseQueueUrl, QueueUsageError } from './queue/redis.ts';
import { LEASE_TIMINGS, TRAINING_TIMINGS } from './queue/settings.ts';
import { startWorker } from './queue/worker.ts';
import { taskModulePath } from './tasks/registry.ts';

const FLAGS: FlagSpec[] = [
  { name: 'queue', value: true, help: 'redis://host:port[/db] of the sweep\'s Redis (required)' },
  { name: 'runs', value: true, help: 'shared runs root: cells go to <runs>/<profile>/<experiment>/<cell-id> (required; e.g. the parent of bench\'s --out)' },
  { name: 'concurrency', value: true, help: 'cells at the same time on this worker, one child process each (default 1: one worker per GPU)' },
  { name: 'backend', value: true, help: 'auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu | none: overrides the backend the sweep asked for' },
  { name: 'data-dir', value: true, help: 'datasets root on this machine (default: $ASAM_DATA_DIR, else ~/.cache/asam/data)' },
  { name: 'name', value: true, help: 'worker name in leases and progress (default <host>:<pid>)' },
  { name: 'lock-duration', value: true, help: `job lock in seconds (default ${TRAINING_TIMINGS.lockDurationMs / 1000}); a dead worker's cell moves on after lock + stalled interval` },
  { name: 'stalled-interval', value: true, help: `seconds between checks for stalled jobs (default ${TRAINING_TIMINGS.stalledIntervalMs / 1000})` },
  { name: 'max-stalls', value: true, help: `stalls (worker died) before a cell fails (default ${TRAINING_TIMINGS.maxStalledCount})` },
  { name: 'task-module', value: true, help: 'run every cell with this task adapter module instead of the registry\'s (stand-in tasks in tests)' },
  { name: 'verbose', value: false, help: 'echo the cells\' output lines (they always go to each cell\'s log.txt)' },
  { name: 'help', value: false, help: 'this text' },
];

function positive(f: Record<string, string | true>, name: string, fallback: number, int: boolean): number {
  if (f[name] === undefined) return fallback;
  const v = Number(f[name]);
  if (!Number.isFinite(v) || v <= 0 || (int && !Number.isInteger(v))) throw new QueueUsageError(`--${name} = ${String(f[name])}: expected ${int ? 'an integer' : 'a number'} > 0`);
  return v;
}

async function main(): Promise<number> {
  const f = parseFlags(process.argv.slice(2), FLAGS);
  if (f.help) {
    console.log(helpText('Usage: pnpm bench:worker --queue redis://host:port[/db] --runs DIR [--concurrency N] [flags]', FLAGS,
      '\nEnqueue a sweep with: pnpm --filter @asam/benchmarks bench --profile P --queue redis://host:port[/db] --out DIR/P\n'));
    return 0;
  }
  if (typeof f.queue !== 'string') throw new QueueUsageError('--queue redis://host:port[/db] is required (the Redis the sweep was enqueued on)');
  if (typeof f.runs !== 'string') throw new QueueUsageError('--runs DIR is required (the runs root all workers share)');
  const target = parseQueueUrl(f.queue);
  const runsRoot = path.resolve(f.runs);
  if (!fs.existsSync(runsRoot) || !fs.statSync(runsRoot).isDirectory()) throw new QueueUsageError(`--runs ${runsRoot} is not a folder; create it (on the shared file system) or fix the path`);
  const concurrency = positive(f, 'concurrency', 1, true);
  const timings = {
    lockDurationMs: positive(f, 'lock-duration', TRAINING_TIMINGS.lockDurationMs / 1000, false) * 1000,
    stalledIntervalMs: positive(f, 'stalled-interval', TRAINING_TIMINGS.stalledIntervalMs / 1000, false) * 1000,
    maxStalledCount: positive(f, 'max-stalls', TRAINING_TIMINGS.maxStalledCount, true),
  };
  const taskModule = typeof f['task-module'] === 'string' ? path.resolve(f['task-module']) : null;
  if (taskModule && !fs.existsSync(taskModule)) throw new QueueUsageError(`--task-module ${taskModule} does not exist`);
  await checkRedis(target);
  const dataDir = resolveDataDir({ dir: f['data-dir'] as string | undefined, env: process.env });
  const w = await startWorker({
    target, runsRoot, concurrency, dataDir, timings, lease: LEASE_TIMINGS,
    ...(typeof f.backend === 'string' ? { backend: f.backend } : {}),
    ...(typeof f.name === 'string' ? { name: f.name } : {}),
    taskModule: taskModule ? () => taskModule : taskModulePath,
    echoChildOutput: f.verbose === true,
  });
  const onSignal = (sig: NodeJS.Signals) => { void w.stop(sig); };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await w.closed;
  console.log(`[worker ${w.name}] closed`);
  return 0;
}

main().then((code) => process.exit(code), (e: Error) => {
  // usage errors (flags, Redis unreachable) are one line; anything else keeps its stack for a bug report
  console.error(`[bench:worker] error: ${e instanceof QueueUsageError || /^(unknown flag|unexpected argument|--)/.test(e.message) ? e.message : e.stack ?? e.message}`);
  process.exit(2);
});
