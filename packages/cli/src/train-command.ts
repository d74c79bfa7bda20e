/**
 * `asam train <task> [flags]`: one command for every registered task (@asam/train's TaskSpec), with one vocabulary for
 * the runtime's settings, the same for every task:
 *
 *   --out DIR  --epochs N  --max-steps N  --checkpoint-every N  --workers N  --micro-batch N  --progress-every N
 *   --resume | --overwrite  --data-dir DIR  --backend NAME  --native-kernels on|off
 *
 * and the task's own section from `--config FILE` (a JSON object) and `--set field=value` (repeatable; a dotted field
 * sets a nested one, the value is JSON where it parses, else a string). The run goes through `runTask`: config.json
 * `{ format, task, runtime, config }`, env.json, log.txt, metrics.csv, result.json (with the task's metric vocabulary)
 * and checkpoint.bin. `--resume` reuses config.json (of this layout, or of the task's older flat layout); only the
 * execution settings may be given again (and --epochs / --max-steps where the task's schedule does not span the run).
 * Ctrl-C / SIGTERM: a checkpoint at the next step and status 'stopped'; a second one stops at once.
 *
 * This module owns no task: the caller passes the registry (`createTaskRegistry([visionTask, nmtTask])`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatEpochRow, formatProgress, formatRunResult, readRunConfig, readRunResult, RUNTIME_EXECUTION_FIELDS, runTask, type AnyTaskSpec, type RunResult,
  type RuntimeConfig, type TaskRegistry,
} from '@asam/train';
import { addOption, addSharedOptions, createCommand, givenFlags, parseCommand, requireOption } from './command.ts';
import type { EngineReport } from './env-info.ts';
import { isUserError, oneLine, UsageError } from './errors.ts';
import { invocationDir, resolveUserPath } from './paths.ts';
import { firstMissingFolder, prepareRunFolder, readRunEnv, readRunJson, runInFolder, START_AGAIN_FIX, markRunStopped } from './run-folder.ts';
import { catchStopSignals, exitCodeOf } from './stop.ts';

/** Options of {@link runTrainCommand}. */
export interface TrainCommandOptions {
  /** The tasks `<task>` may name. */
  tasks: TaskRegistry;
  /** Program name in usage and hints, e.g. `asam` or `pnpm asam`. */
  name: string;
  /** Arguments after `train`: `<task> [flags]`. */
  argv: string[];
  env: Record<string, string | undefined>;
  /** The program's file (import.meta.url): versions and git sha in env.json. */
  programFile: string;
  /** Starts the backend (@asam/engine's initEngine). */
  initEngine: (backend: string, nativeKernels: string | undefined) => Promise<EngineReport>;
  /** The data folder when neither --data-dir, the run's env.json nor $ASAM_DATA_DIR names one. */
  defaultDataDir: () => string;
  /** Before the run starts: e.g. fetch a dataset that is missing (a failure leaves no run folder). */
  prepareData?: (spec: AnyTaskSpec, config: unknown, dataDir: string) => Promise<void>;
  /**
   * The task's section of a new run, from a front end with flags of its own (a package's CLI): used instead of
   * --config / --set (which are then refused).
   */
  taskConfig?: Record<string, unknown>;
  /** On --resume: fields of the task's section to set again (only the spec's `executionFields`: where data lives, what is tested). */
  resumeTaskOverrides?: Record<string, unknown>;
  /** What the run's first line says about its config (model, optimizer, …), after `data …;`. */
  describe?: (task: unknown) => string;
  /** The line printed with the run's result; default @asam/train's formatRunResult. */
  resultLine?: (r: RunResult) => string;
  /** More env.json fields from the task's section (e.g. the cache folder). */
  envExtra?: (task: unknown) => Record<string, unknown>;
  /** What the task's config is called in messages, e.g. 'image-classification'; default the task id. */
  configNoun?: string;
  /** The command line recorded in env.json (a front end's own); default `argv`. */
  recordArgv?: string[];
  /** The command that resumes the run in `out` (printed when a run stops); default `<name> train <task> --resume --out <out>`. */
  resumeHint?: (out: string) => string;
}

/** The runtime flags: flag → RuntimeConfig field. */
const RUNTIME_FLAGS: Array<{ flags: string; to: keyof RuntimeConfig; help: string; defaultText: string }> = [
  { flags: '--epochs <n>', to: 'epochs', help: 'epochs to run', defaultText: 'the task\'s recipe' },
  { flags: '--max-steps <n>', to: 'maxSteps', help: 'cap on optimizer steps (the run ends after evaluating where it falls; a schedule that spans the run, such as vision\'s cosine, then spans the cap rather than the epochs)', defaultText: 'no cap' },
  { flags: '--checkpoint-every <n>', to: 'checkpointEverySteps', help: 'also checkpoint every N steps (always at epoch ends)', defaultText: 'the task\'s recipe, else epoch ends only' },
  { flags: '--workers <n>', to: 'workers', help: 'data-parallel worker threads (wasm/cpu backends)', defaultText: '1' },
  { flags: '--micro-batch <n>', to: 'microBatch', help: 'at most N rows per forward/backward pass (gradient accumulation)', defaultText: 'whole batch' },
  { flags: '--progress-every <n>', to: 'progressEvery', help: 'progress line every N steps', defaultText: '10' },
];

const attr = (flags: string): string => flags.split(' ')[0]!.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function command(o: TrainCommandOptions) {
  const cmd = createCommand({
    name: `${o.name} train <task>`,
    description: `Trains a registered task (${o.tasks.ids().join(', ')}) through the shared runtime and writes a run folder:\n` +
      'config.json, env.json, log.txt, metrics.csv, result.json, checkpoint.bin (and the task\'s own files).',
    epilog: 'The task\'s settings: --config FILE (a JSON object) and --set field=value (repeatable, dotted fields for nested ones).\n' +
      `Examples:\n  ${o.name} train vision --out runs/x --epochs 1 --set model=resnet20 --set trainLimit=512\n  ${o.name} train vision --resume --out runs/x`,
    env: o.env,
  });
  cmd.allowExcessArguments(true);
  addSharedOptions(cmd, { out: {}, dataDir: true, resume: true, backend: true });
  for (const f of RUNTIME_FLAGS) addOption(cmd, { flags: f.flags, kind: 'int', min: 1, help: f.help, defaultText: f.defaultText });
  addOption(cmd, { flags: '--config <file>', kind: 'path', help: 'the task\'s config section, a JSON object', defaultText: 'the task\'s defaults' });
  cmd.option('--set <field=value...>', 'sets one field of the task\'s config section (repeatable)');
  addOption(cmd, { flags: '--list-tasks', help: 'print the registered tasks and exit' });
  return cmd;
}

/** `field=value` pairs into an object (dotted fields nest; the value is JSON where it parses). */
function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(s)} is not field=value (e.g. --set lr=0.05, --set optimizer.method=sam)`);
    const keys = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown;
    try { value = JSON.parse(raw); } catch { value = raw; }
    let at = out;
    keys.slice(0, -1).forEach((k) => { at = (at[k] ??= {}) as Record<string, unknown>; });
    at[keys.at(-1)!] = value;
  }
  return out;
}

/** Merges b into a (objects field by field). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const r = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = r[k];
    r[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && prev !== null && typeof prev === 'object' && !Array.isArray(prev)
      ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return r;
}

/** Runs `<task> [flags]`; returns the exit code (0 completed or finished, 3 diverged, 130/143 stopped by a signal). */
export async function runTrainCommand(o: TrainCommandOptions): Promise<number> {
  const cmd = command(o);
  const opts = parseCommand(cmd, o.argv);
  if (opts.listTasks) {
    for (const s of o.tasks.list()) process.stdout.write(`${s.id.padEnd(12)} ${s.title}\n`);
    return 0;
  }
  const operands = cmd.args.filter((a) => a !== '--');
  if (operands.length !== 1) throw new UsageError(`name one task: ${o.name} train <task> [flags], <task> one of ${o.tasks.ids().join(', ')}${operands.length > 1 ? ` (got ${operands.join(' ')})` : ''}`);
  const spec = o.tasks.get(operands[0]!);
  const out = requireOption(opts.out as string | undefined, '--out', 'the run folder');
  const resume = opts.resume === true;
  const runtimeFlags = Object.fromEntries(RUNTIME_FLAGS.map((f) => [f.to, opts[attr(f.flags)]]).filter(([, v]) => v !== undefined)) as Partial<RuntimeConfig>;
  const mayChange = new Set<string>([...RUNTIME_EXECUTION_FIELDS, ...(spec.scheduleSpansRun ? [] : ['epochs', 'maxSteps'])]);
  if (resume) {
    const flagOf = (k: string): string => RUNTIME_FLAGS.find((f) => f.to === k)!.flags.split(' ')[0]!;
    const fixed = Object.keys(runtimeFlags).filter((k) => !mayChange.has(k)).map(flagOf);
    const task = givenFlags(cmd).filter((g) => g === '--config' || g === '--set');
    const extra = [...fixed, ...task];
    if (extra.length) throw new UsageError(`--resume reuses ${path.join(out, 'config.json')}; drop ${extra.join(', ')} (they change what the run computes)`);
  }
  const runFiles = ['config.json', 'checkpoint.bin', 'metrics.csv', 'result.json', ...spec.artifacts];
  const created = firstMissingFolder(out);
  const mode = prepareRunFolder(out, { resume, overwrite: opts.overwrite === true, runFiles });
  if (mode === 'finished') {
    process.stdout.write(`[${spec.id}] ${out} is a finished run (status ${formatRunResult(readRunResult(out)!)}); nothing to resume (--overwrite starts it again)\n`);
    return 0;
  }

  let run: { runtime: Partial<RuntimeConfig>; task: unknown };
  if (mode === 'resume') {
    const file = path.join(out, 'config.json');
    try {
      const rc = readRunConfig(spec, readRunJson(file, START_AGAIN_FIX), file);
      const overrides = o.resumeTaskOverrides ?? {};
      const fixed = Object.keys(overrides).filter((k) => !(spec.executionFields ?? []).includes(k));
      if (fixed.length) throw new Error(`resumeTaskOverrides: ${fixed.join(', ')} ${fixed.length > 1 ? 'are not execution fields' : 'is not an execution field'} of task '${spec.id}'`);
      run = { runtime: { ...rc.runtime, ...runtimeFlags, out, resume: 'auto' }, task: { ...(rc.task as Record<string, unknown>), ...overrides } };
    } catch (e) {
      if (!isUserError(e) || e instanceof UsageError) throw e;
      throw new UsageError(`${file} is not ${/^[aeiou]/i.test(o.configNoun ?? spec.id) ? 'an' : 'a'} ${o.configNoun ?? spec.id} config this program can resume: ${oneLine(e.message)}; ${START_AGAIN_FIX}`);
    }
  } else {
    const file = opts.config as string | undefined;
    const fromFile = file === undefined ? {} : readRunJson(file, 'fix: pass a JSON object of the task\'s config section');
    const sets = parseSets((opts.set as string[] | undefined) ?? []);
    if (o.taskConfig && (file !== undefined || Object.keys(sets).length > 0)) throw new UsageError('--config and --set are not taken here: this command sets the task\'s fields with its own flags (see --help)');
    run = { runtime: { ...runtimeFlags, out, resume: 'never' }, task: o.taskConfig ?? merge(fromFile, sets) };
  }
  const resolved = { runtime: run.runtime, task: spec.parseConfig(run.task, 'config') };

  const base = invocationDir(o.env, process.cwd());
  const started = mode === 'resume' ? readRunEnv(out) : null;
  const dataDir = (opts.dataDir as string | undefined) ?? (typeof started?.dataDir === 'string' ? started.dataDir : undefined)
    ?? (o.env.ASAM_DATA_DIR ? resolveUserPath(o.env.ASAM_DATA_DIR, base) : undefined) ?? o.defaultDataDir();
  if (o.prepareData) await o.prepareData(spec, resolved.task, dataDir);

  const tag = `[${spec.id}]`;
  return runInFolder({
    tag, out, mode, created, runFiles, backendFlag: opts.backend as string | undefined, env: o.env, argv: o.recordArgv ?? o.argv, cwd: base,
    programFile: o.programFile, extra: { dataDir, task: spec.id, ...(o.envExtra?.(resolved.task) ?? {}) }, initEngine: (b) => o.initEngine(b, opts.nativeKernels as string | undefined),
  }, async (engine) => {
    process.stdout.write(`${tag} ${mode === 'resume' ? 'resuming' : 'new run'}: data ${dataDir}; ${o.describe ? `${o.describe(resolved.task)}; ` : ''}out ${out}\n`);
    const resumeHint = o.resumeHint ? o.resumeHint(out) : `${o.name} train ${spec.id} --resume --out ${out}`;
    const stop = catchStopSignals({
      onFirst: (sig) => process.stdout.write(`${tag} ${sig}: stopping at the next step… (it writes a checkpoint there; Ctrl-C again stops at once)\n`),
      onSecond: (sig) => {
        markRunStopped(out);
        process.stdout.write(`${tag} ${sig} again: stopped at once; the run resumes from its last checkpoint: ${resumeHint}\n`);
        process.exit(exitCodeOf(sig));
      },
    });
    const r = await runTask(spec, resolved, {
      dataDir, backend: engine.backend, shouldStop: () => stop.requested,
      onProgress: (p) => process.stdout.write(`${formatProgress(p)}\n`),
      onEpoch: (row) => process.stdout.write(`${formatEpochRow(row)}\n`),
      onLog: (m) => process.stdout.write(`${tag} ${m}\n`),
    }).finally(() => stop.dispose());
    if (r.status === 'stopped') {
      process.stdout.write(`${tag} ${formatRunResult(r)}\n`);
      process.stdout.write(`${tag} stopped at a checkpoint after ${r.steps} step(s); resume with: ${resumeHint}\n`);
      return exitCodeOf(stop.signal ?? 'SIGINT');
    }
    process.stdout.write(`${tag} ${o.resultLine ? o.resultLine(r) : formatRunResult(r)}\n`);
    const files = ['config.json', 'env.json', 'metrics.csv', 'result.json', 'checkpoint.bin', 'log.txt', ...spec.artifacts].filter((f) => fs.existsSync(path.join(out, f)));
    process.stdout.write(`${tag} results in ${out}: ${files.join(', ')}\n`);
    return r.status === 'completed' ? 0 : 3;
  });
}
