/**
 * `pnpm bench:worker --queue redis://host:port[/db] --runs DIR [--concurrency N]`: a queue worker for sweeps
 * started with `pnpm bench --queue`. Run one per GPU (or per CPU core on CPU profiles) on every machine; all
 * workers and the `bench` that enqueued the sweep see the same runs folder (a network file system).
 * SIGTERM / SIGINT: takes no more cells, stops the running children and puts their cells back in the queue.
 */
import { addOption, BACKENDS, createCommand, parseCommand, runCli, UsageError } from '@asam/cli';
import { resolveDataDir } from '@asam/data';
import * as fs from 'node:fs';
import { checkRedis, parseQueueUrl } from './queue/redis.ts';
import { LEASE_TIMINGS, TRAINING_TIMINGS } from './queue/settings.ts';
import { startWorker } from './queue/worker.ts';
import { taskModulePath } from './tasks/registry.ts';

function command() {
  const cmd = createCommand({
    name: 'pnpm bench:worker --',
    description: 'Takes cells of sweeps enqueued with `pnpm bench --queue` and runs each in its own child process, in the shared runs folder.',
    epilog: 'Enqueue a sweep with: pnpm --filter @asam/benchmarks bench --profile P --queue redis://host:port[/db] --out <runs>/P\n' +
      'Lock, stalled interval and max stalls are set for training cells; see benchmarks/README.md ("Scale-out").',
  });
  addOption(cmd, { flags: '--queue <url>', help: "redis://host:port[/db] of the sweep's Redis", defaultText: 'none, required' });
  addOption(cmd, { flags: '--runs <dir>', kind: 'path', help: "shared runs root: cells go to <runs>/<profile>/<experiment>/<cell-id> (the parent of bench's --out)", defaultText: 'none, required' });
  addOption(cmd, { flags: '--concurrency <n>', kind: 'int', min: 1, default: 1, help: 'cells at the same time on this worker, one child process each (one worker per GPU)' });
  addOption(cmd, { flags: '--backend <name>', choices: [...BACKENDS, 'none'], help: 'tfjs backend of the cells run here', defaultText: 'the one the sweep asked for' });
  addOption(cmd, { flags: '--data-dir <dir>', kind: 'path', help: 'dataset root on this machine', defaultText: '$ASAM_DATA_DIR, else ~/.cache/asam/data' });
  addOption(cmd, { flags: '--name <name>', help: 'worker name in leases, progress and logs', defaultText: '<host>:<pid>' });
  addOption(cmd, { flags: '--lock-duration <s>', kind: 'number', min: 1, default: TRAINING_TIMINGS.lockDurationMs / 1000, help: "job lock in seconds, renewed every half of it; a dead worker's cell moves on after lock + stalled interval" });
  addOption(cmd, { flags: '--stalled-interval <s>', kind: 'number', min: 1, default: TRAINING_TIMINGS.stalledIntervalMs / 1000, help: 'seconds between checks for stalled jobs' });
  addOption(cmd, { flags: '--max-stalls <n>', kind: 'int', min: 1, default: TRAINING_TIMINGS.maxStalledCount, help: 'times a cell may stall (its worker died) before it fails' });
  addOption(cmd, { flags: '--task-module <file>', kind: 'path', help: "run every cell with this task adapter module (stand-in tasks in tests)", defaultText: "the task registry's adapter" });
  addOption(cmd, { flags: '--verbose', help: "echo the cells' output lines (they always go to each cell's log.txt)" });
  return cmd;
}

async function main(): Promise<number> {
  const f = parseCommand<{
    queue?: string; runs?: string; concurrency: number; backend?: string; dataDir?: string; name?: string;
    lockDuration: number; stalledInterval: number; maxStalls: number; taskModule?: string; verbose?: boolean;
  }>(command(), process.argv.slice(2));
  if (!f.queue) throw new UsageError('--queue redis://host:port[/db] is required (the Redis the sweep was enqueued on)');
  if (!f.runs) throw new UsageError('--runs <dir> is required (the runs root all workers share)');
  const target = parseQueueUrl(f.queue);
  const runsRoot = f.runs;
  if (!fs.existsSync(runsRoot) || !fs.statSync(runsRoot).isDirectory()) throw new UsageError(`--runs ${runsRoot} is not a folder; create it (on the shared file system) or fix the path`);
  const taskModule = f.taskModule;
  if (taskModule && !fs.existsSync(taskModule)) throw new UsageError(`--task-module ${taskModule} does not exist`);
  await checkRedis(target);
  const dataDir = resolveDataDir({ ...(f.dataDir ? { dir: f.dataDir } : {}), env: process.env });
  const w = await startWorker({
    target, runsRoot, concurrency: f.concurrency, dataDir, lease: LEASE_TIMINGS,
    timings: { lockDurationMs: f.lockDuration * 1000, stalledIntervalMs: f.stalledInterval * 1000, maxStalledCount: f.maxStalls },
    ...(f.backend ? { backend: f.backend } : {}),
    ...(f.name ? { name: f.name } : {}),
    taskModule: taskModule ? () => taskModule : taskModulePath,
    echoChildOutput: !!f.verbose,
  });
  const onSignal = (sig: NodeJS.Signals) => { void w.stop(sig); };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await w.closed;
  console.log(`[worker ${w.name}] closed`);
  return 0;
}

void runCli(main);
