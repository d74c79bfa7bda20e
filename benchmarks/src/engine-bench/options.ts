/**
 * Command lines of the engine programs `bench:engine`, `profile:engine` and `soak:engine`, on @asam/cli:
 * `--flag value` / `--flag=value`, a bare `--` dropped, unknown flags answered with the nearest valid one,
 * defaults shown by `--help`, `--out` relative to the directory the command was run in, and every mistake a
 * one-line UsageError (exit 2 under runCli).
 *
 * This module loads no tfjs: the programs parse their flags first and load the engine afterwards, so a bad flag
 * or `--help` answers at once.
 */
import { addOption, BACKENDS, createCommand, invocationDir, nearest, parseCommand, UsageError } from '@asam/cli';
import * as path from 'node:path';
import type { BackendName, BackendRequest } from '@asam/engine';

/** A command of @asam/cli (a commander Command). */
type Command = ReturnType<typeof createCommand>;

/** Backends that can be requested by name (@asam/engine's BACKEND_NAMES: @asam/cli's BACKENDS without auto). */
export const ENGINE_BACKENDS = BACKENDS.filter((b): b is BackendName => b !== 'auto');

/** Where relative paths are taken from: $INIT_CWD in `env` (pnpm scripts), else `cwd`. Defaults: the process's. */
export interface InvocationContext {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

function command(name: string, description: string, where: InvocationContext, epilog?: string): Command {
  return createCommand({ name, description, ...(epilog ? { epilog } : {}), ...(where.env ? { env: where.env } : {}), ...(where.cwd ? { cwd: where.cwd } : {}) });
}

/**
 * A `--no-x` switch: off by default, given it turns `x` off (commander's negation: the parsed attribute `x` is
 * true unless the switch is given). Added through commander directly, as @asam/cli's addOption reads a
 * `--no-` flag as a value option; its help states the default itself.
 */
function addOffSwitch(cmd: Command, flags: `--no-${string}`, help: string): void {
  cmd.addOption(cmd.createOption(flags, help));
}

/** Resolved options of one `bench:engine` run. */
export interface EngineBenchOptions {
  /** Timed steps per step kind (after one warm-up step) on the fast backends. */
  steps: number;
  /** ResNet-20 batch (images) on the fast backends; also the global batch of the data-parallel figure. */
  batch: number;
  /** Transformer batch (sentence pairs) on the fast backends. */
  tfmBatch: number;
  /** Source / target length of the Transformer batch (rows are right-padded by 0–2 tokens). */
  seq: number;
  /** ResNet-20 batch on the slow `cpu` backend. */
  cpuBatch: number;
  /** Transformer batch on the `cpu` backend. */
  cpuTfmBatch: number;
  /** Timed steps per kind on the `cpu` backend. */
  cpuSteps: number;
  /** Backends to measure; undefined = every backend that loads, plus wasm and cpu. */
  backends: BackendName[] | undefined;
  /** Run the PyTorch peer (scripts/torch_bench.py) when a python3 with torch is found. */
  torch: boolean;
  /** Measure the worker_threads data-parallel trainer (1 vs 2 wasm workers). */
  dataParallel: boolean;
  /** Results file (absolute); undefined = the default location. */
  out: string | undefined;
  /** A short verification run (`--quick`): its figures are not measurements. */
  quick: boolean;
  /** Markdown files whose `<!-- bench:engine:start -->` … `<!-- bench:engine:end -->` block gets this run's table. */
  readme: string[];
}

/** The command of `bench:engine` (its flags, help and defaults). */
export function engineBenchCommand(where: InvocationContext = {}): Command {
  const cmd = command('pnpm bench:engine --',
    'Training throughput of every tfjs backend that loads (ResNet-20 and the Transformer; forward, SGD, SAM, ASAM steps), ' +
    'the data-parallel trainer on 1 and 2 wasm workers, and the same workloads in PyTorch. Prints a markdown table ' +
    '(progress on stderr) and, as the last stdout line, one JSON summary; writes every timing to a JSON file.',
    where,
    'From the package: pnpm --filter @asam/benchmarks run bench:engine -- [flags]. ' +
    '--quick changes the defaults only; flags given explicitly win (--quick --backends wasm,cpu measures both).');
  addOption(cmd, { flags: '--steps <n>', kind: 'int', min: 1, help: 'timed rounds (each runs every step kind once, in turn) after 1 warm-up round', defaultText: '5; --quick: 1' });
  addOption(cmd, { flags: '--batch <n>', kind: 'int', min: 1, help: 'ResNet-20 batch, also the data-parallel global batch (even, unless --no-data-parallel)', defaultText: '128; --quick: 8' });
  addOption(cmd, { flags: '--tfm-batch <n>', kind: 'int', min: 1, help: 'Transformer batch in sentence pairs', defaultText: '32; --quick: 2' });
  addOption(cmd, { flags: '--seq <n>', kind: 'int', min: 4, help: 'Transformer source/target length, >= 4', defaultText: '32; --quick: 8' });
  addOption(cmd, { flags: '--cpu-batch <n>', kind: 'int', min: 1, default: 8, help: 'ResNet-20 batch on the cpu backend' });
  addOption(cmd, { flags: '--cpu-tfm-batch <n>', kind: 'int', min: 1, default: 2, help: 'Transformer batch on the cpu backend' });
  addOption(cmd, { flags: '--cpu-steps <n>', kind: 'int', min: 1, default: 1, help: 'timed steps per kind on the cpu backend' });
  addOption(cmd, { flags: '--backends <list>', help: `comma-separated subset of ${ENGINE_BACKENDS.join(', ')}`, defaultText: 'every backend that loads, plus wasm and cpu; --quick: wasm' });
  addOffSwitch(cmd, '--no-torch', 'skip the PyTorch peer (default: off, the peer runs where a python3 with torch is found; --quick: on)');
  addOffSwitch(cmd, '--no-data-parallel', 'skip the 1- vs 2-worker data-parallel figure (default: off, it is measured)');
  addOption(cmd, { flags: '--out <file>', kind: 'path', help: 'results JSON path', defaultText: 'benchmarks/runs/engine/engine-<time>.json (ignored by git; to publish: --out benchmarks/results/engine/<name>.json); --quick: the OS temp folder' });
  addOption(cmd, { flags: '--quick', help: 'short verification run: batch 8, Transformer 2x8, 1 round, wasm only, no torch (its figures are not measurements)' });
  addOption(cmd, { flags: '--readme <files>', help: 'comma-separated markdown files whose <!-- bench:engine:start --> … <!-- bench:engine:end --> block is replaced by this run\'s table (e.g. README.md,packages/engine/README.md)', defaultText: 'none' });
  return cmd;
}

/** Parsed `--backends`: known names, duplicates dropped, order kept. */
export function parseBackendList(raw: string): BackendName[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`--backends ${JSON.stringify(raw)} names no backend; expected a comma-separated subset of ${ENGINE_BACKENDS.join(', ')}`);
  for (const b of names) {
    if (!(ENGINE_BACKENDS as readonly string[]).includes(b)) {
      throw new UsageError(`--backends: unknown backend ${JSON.stringify(b)}; expected one of ${ENGINE_BACKENDS.join(', ')} (did you mean ${nearest(b, ENGINE_BACKENDS)}?)`);
    }
  }
  return [...new Set(names)] as BackendName[];
}

/**
 * Parses the flags of `bench:engine`. `--quick` changes the defaults only; flags given explicitly win.
 * After `--help` (printed) it throws CliExit(0); a mistake throws a UsageError.
 */
export function parseEngineBenchArgs(argv: readonly string[], where: InvocationContext = {}): EngineBenchOptions {
  const f = parseCommand<{
    steps?: number; batch?: number; tfmBatch?: number; seq?: number; cpuBatch: number; cpuTfmBatch: number; cpuSteps: number;
    backends?: string; torch: boolean; dataParallel: boolean; out?: string; quick?: boolean; readme?: string;
  }>(engineBenchCommand(where), argv);
  const quick = f.quick === true;
  const backends = f.backends !== undefined ? parseBackendList(f.backends) : quick ? (['wasm'] as BackendName[]) : undefined;
  const batch = f.batch ?? (quick ? 8 : 128);
  if (f.dataParallel && batch % 2 !== 0) {
    throw new UsageError(`--batch ${batch} cannot be split over 2 data-parallel workers; use an even batch or --no-data-parallel`);
  }
  return {
    steps: f.steps ?? (quick ? 1 : 5),
    batch,
    tfmBatch: f.tfmBatch ?? (quick ? 2 : 32),
    seq: f.seq ?? (quick ? 8 : 32),
    cpuBatch: f.cpuBatch,
    cpuTfmBatch: f.cpuTfmBatch,
    cpuSteps: f.cpuSteps,
    backends,
    torch: f.torch && !quick,
    dataParallel: f.dataParallel,
    out: f.out,
    quick,
    readme: f.readme === undefined ? [] : f.readme.split(',').map((s) => s.trim()).filter((s) => s !== '')
      .map((s) => path.resolve(invocationDir(where.env ?? process.env, where.cwd ?? process.cwd()), s)),
  };
}

/** The step kinds `profile:engine` can profile. */
export const PROFILE_KINDS = ['sgd', 'sam', 'asam'] as const;
/** The models `profile:engine` can profile. */
export const PROFILE_MODELS = ['resnet20', 'transformer'] as const;

/** Resolved options of one `profile:engine` run. */
export interface ProfileOptions {
  model: (typeof PROFILE_MODELS)[number];
  backend: BackendRequest;
  /** Images (resnet20) or sentence pairs (transformer). */
  batch: number;
  kind: (typeof PROFILE_KINDS)[number];
  /** Kernel rows printed. */
  top: number;
  /** Rows by kernel name and input shapes instead of by name. */
  byShape: boolean;
  /** JSON file of the rows (absolute); undefined = print only. */
  out: string | undefined;
}

/** The command of `profile:engine`. */
export function profileCommand(where: InvocationContext = {}): Command {
  const cmd = command('pnpm --filter @asam/benchmarks profile:engine --',
    'Where the time of one training step goes, kernel by kernel (tf.profile): prints the step and forward-only wall ' +
    'times (median of 3), then kernel milliseconds summed over one profiled step.',
    where,
    'resnet20: @asam/vision ResNet-20 on random 32x32x3 images, momentum 0.9. transformer: @asam/nmt transformer_small ' +
    '(V = 8000) on random pairs of 32 tokens, Adam, as bench:engine builds it.');
  addOption(cmd, { flags: '--model <name>', choices: PROFILE_MODELS, default: 'resnet20', help: 'the model whose step is profiled' });
  addOption(cmd, { flags: '--backend <name>', choices: BACKENDS, default: 'wasm', help: 'tfjs backend' });
  addOption(cmd, { flags: '--batch <n>', kind: 'int', min: 1, help: 'images (resnet20) or sentence pairs (transformer) per step', defaultText: '128 for resnet20, 32 for transformer' });
  addOption(cmd, { flags: '--kind <step>', choices: PROFILE_KINDS, default: 'sgd', help: 'the step profiled (sgd = method none)' });
  addOption(cmd, { flags: '--top <n>', kind: 'int', min: 1, default: 25, help: 'kernel rows printed' });
  addOption(cmd, { flags: '--by-shape', help: 'one row per kernel name and input shapes' });
  addOption(cmd, { flags: '--out <file>', kind: 'path', help: 'also write every row as JSON', defaultText: 'none, print only' });
  return cmd;
}

/** Parses the flags of `profile:engine` (CliExit(0) after `--help`, UsageError for a mistake). */
export function parseProfileArgs(argv: readonly string[], where: InvocationContext = {}): ProfileOptions {
  const f = parseCommand<{ model: ProfileOptions['model']; backend: BackendRequest; batch?: number; kind: ProfileOptions['kind']; top: number; byShape?: boolean; out?: string }>(
    profileCommand(where), argv);
  return {
    model: f.model, backend: f.backend, batch: f.batch ?? (f.model === 'resnet20' ? 128 : 32), kind: f.kind, top: f.top,
    byShape: f.byShape === true, out: f.out,
  };
}

/** Resolved options of one `soak:engine` run. */
export interface SoakOptions {
  /** SGD steps and ASAM steps per model. */
  steps: number;
  /** Sampling interval in steps. */
  every: number;
  batch: number;
  tfmBatch: number;
  seq: number;
  backend: BackendRequest;
  /** Results JSON (absolute); undefined = benchmarks/runs/engine/soak-<time>.json (ignored by git). */
  out: string | undefined;
}

/** The command of `soak:engine`. */
export function soakCommand(where: InvocationContext = {}): Command {
  const cmd = command('pnpm --filter @asam/benchmarks soak:engine --',
    'Memory over many training steps: runs --steps SGD and --steps ASAM steps of ResNet-20 and of the Transformer and ' +
    'samples the tensor count, the backend\'s buffer count and RSS every --every steps; they must stay flat. ' +
    'Progress on stderr, a table and (last line) one JSON summary on stdout.',
    where);
  addOption(cmd, { flags: '--steps <n>', kind: 'int', min: 1, default: 500, help: 'SGD steps and ASAM steps per model' });
  addOption(cmd, { flags: '--every <n>', kind: 'int', min: 1, default: 25, help: 'sample every n steps (at most --steps; growth is counted from the first sample)' });
  addOption(cmd, { flags: '--batch <n>', kind: 'int', min: 1, default: 32, help: 'ResNet-20 batch (random images)' });
  addOption(cmd, { flags: '--tfm-batch <n>', kind: 'int', min: 1, default: 8, help: 'Transformer batch in sentence pairs' });
  addOption(cmd, { flags: '--seq <n>', kind: 'int', min: 4, default: 32, help: 'Transformer source/target length, >= 4' });
  addOption(cmd, { flags: '--backend <name>', choices: BACKENDS, default: 'wasm', help: 'tfjs backend' });
  addOption(cmd, { flags: '--out <file>', kind: 'path', help: 'results JSON path', defaultText: 'benchmarks/runs/engine/soak-<time>.json (ignored by git; to publish: --out benchmarks/results/engine/<name>.json)' });
  return cmd;
}

/** Parses the flags of `soak:engine` (CliExit(0) after `--help`, UsageError for a mistake). */
export function parseSoakArgs(argv: readonly string[], where: InvocationContext = {}): SoakOptions {
  const f = parseCommand<{ steps: number; every: number; batch: number; tfmBatch: number; seq: number; backend: BackendRequest; out?: string }>(soakCommand(where), argv);
  if (f.every > f.steps) throw new UsageError(`--every ${f.every} must not exceed --steps ${f.steps}`);
  return { steps: f.steps, every: f.every, batch: f.batch, tfmBatch: f.tfmBatch, seq: f.seq, backend: f.backend, out: f.out };
}
