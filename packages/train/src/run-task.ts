/**
 * `runTask(spec, config, hooks)`: trains a registered task (see task-spec.ts) in its run folder. The task builds its
 * model, data, evaluation and schedule (`spec.createTask`); the runtime (`train`) owns the rest, and every run-folder
 * file is written through run-folder.ts's `RunFolder`. config.json holds both sections:
 *
 *   { "format": "asam-config/1", "task": "<spec.id>", "runtime": RuntimeConfig, "config": <the task's section> }
 *
 * and result.json carries `taskId` and the task's metric vocabulary (`metrics`), so readers never branch on the task.
 * A config.json from before this layout (one flat object in the task's own names) is read through the spec's
 * `runtimeNames` / `legacyConfig`, so such run folders resume bit-identically.
 */
import * as path from 'node:path';
import { createRegistry, type Registry } from './registry.ts';
import { RUN_FILES, type RunResult } from './run-folder.ts';
import {
  resolveRuntimeConfig, RUNTIME_EXECUTION_FIELDS, splitFlatConfig, type RuntimeConfig,
} from './runtime-config.ts';
import { ResumeError, train, type TrainOptions } from './runtime.ts';
import { ConfigError } from './schema.ts';
import type { TaskSpec } from './task-spec.ts';

/** config.json's `format` for runs started through {@link runTask}. */
export const RUN_CONFIG_FORMAT = 'asam-config/1';

/** A run's resolved config: both sections. */
export interface RunConfig<C = unknown> {
  runtime: RuntimeConfig;
  task: C;
}

/** What config.json holds. */
export interface RunConfigJson<C = unknown> {
  format: typeof RUN_CONFIG_FORMAT;
  task: string;
  runtime: RuntimeConfig;
  config: C;
}

/** Callbacks and choices of whoever runs the task (the CLI, a benchmark cell); nothing here changes what is computed. */
export interface RunHooks extends Pick<TrainOptions, 'onProgress' | 'onEpoch' | 'onLog' | 'shouldStop'> {
  /** Dataset root. */
  dataDir: string;
  /** Backend name the caller chose (recorded in result.json). */
  backend?: string | null;
}

/** A strict registry of task specs (nothing registers on import: its owner fills it, e.g. the `asam` CLI). */
export type TaskRegistry = Registry<AnyTaskSpec>;

/** A spec of any config type (what a registry holds; `runTask` keeps each spec's config type to itself). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- TaskSpec<C> is invariant in C; a registry holds specs of different C
export type AnyTaskSpec = TaskSpec<any>;

/** A task registry holding `specs` in this order (duplicate ids are refused). */
export function createTaskRegistry(specs: readonly AnyTaskSpec[]): TaskRegistry {
  const r = createRegistry<AnyTaskSpec>('task');
  for (const s of specs) r.register(s.id, s);
  return r;
}

/** Resolves both sections: the task's with its defaults, the runtime's over the task recipe's runtime defaults. */
export function resolveRunConfig<C>(spec: TaskSpec<C>, raw: { runtime: Partial<RuntimeConfig>; task: unknown }, source = 'config'): RunConfig<C> {
  const task = spec.parseConfig(raw.task ?? {}, source);
  return { task, runtime: resolveRuntimeConfig(raw.runtime, spec.runtimeDefaults?.(task)) };
}

/** config.json of a run. */
export function runConfigJson<C>(spec: TaskSpec<C>, c: RunConfig<C>): RunConfigJson<C> {
  return { format: RUN_CONFIG_FORMAT, task: spec.id, runtime: c.runtime, config: c.task };
}

/**
 * A run's config from what its config.json holds: this layout, or the flat layout of the task's older trainer (its
 * runtime settings under their old names). Throws a ConfigError naming the field.
 */
export function readRunConfig<C>(spec: TaskSpec<C>, raw: unknown, source: string = RUN_FILES.config): RunConfig<C> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('', raw, 'a JSON object (a run\'s config)', source);
  const r = raw as Record<string, unknown>;
  if (r.format === RUN_CONFIG_FORMAT) {
    if (r.task !== spec.id) throw new ConfigError('task', r.task, `"${spec.id}": this folder holds a run of another task; run it with that task, or use another run folder`, source);
    return resolveRunConfig(spec, { runtime: (r.runtime ?? {}) as Partial<RuntimeConfig>, task: r.config }, `${source} config`);
  }
  if (r.format !== undefined) throw new ConfigError('format', r.format, `"${RUN_CONFIG_FORMAT}" (or none, the layout of older runs)`, source);
  const flat = spec.legacyConfig ? spec.legacyConfig(r) : r;
  const { runtime, task } = splitFlatConfig(flat, spec.runtimeNames);
  return resolveRunConfig(spec, { runtime, task }, source);
}

/** The fields of config.json that may differ when a run resumes (dotted paths: `runtime.workers`, `config.dataDir`). */
export function executionPaths(spec: TaskSpec<unknown>): string[] {
  return [
    ...RUNTIME_EXECUTION_FIELDS.map((f) => `runtime.${f}`),
    ...(spec.scheduleSpansRun ? [] : ['runtime.epochs', 'runtime.maxSteps']),
    ...(spec.executionFields ?? []).map((f) => `config.${f}`),
  ];
}

/**
 * Trains `spec` with `config` (sections as given: both are resolved and validated here) in the run folder
 * `config.runtime.out`, resuming it by the runtime's resume policy; returns what result.json holds. The task's model and
 * optimizer are freed when the run returns or fails.
 */
export async function runTask<C>(spec: TaskSpec<C>, config: { runtime: Partial<RuntimeConfig>; task: unknown }, hooks: RunHooks): Promise<RunResult> {
  const c = resolveRunConfig(spec, config);
  const rt = c.runtime;
  const configFile = path.join(rt.out, RUN_FILES.config);
  const run = await spec.createTask(c.task, rt, { dataDir: hooks.dataDir, out: rt.out, backend: hooks.backend ?? null, log: (l) => hooks.onLog?.(l) });
  try {
    return await train(run.task, {
      out: rt.out,
      config: runConfigJson(spec, c),
      resolveSaved: (saved) => {
        try {
          return runConfigJson(spec, readRunConfig(spec, saved, configFile));
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          throw new ResumeError(`cannot resume ${rt.out}: ${e.message}; fix: start the run again in a new run folder (or --overwrite)`);
        }
      },
      executionFields: executionPaths(spec as TaskSpec<unknown>),
      resume: rt.resume, epochs: rt.epochs, maxSteps: rt.maxSteps, schedule: run.schedule,
      microBatch: rt.microBatch, workers: rt.workers, checkpointEverySteps: rt.checkpointEverySteps, progressEvery: rt.progressEvery,
      backend: hooks.backend ?? null,
      onProgress: hooks.onProgress, onEpoch: hooks.onEpoch, onLog: hooks.onLog, shouldStop: hooks.shouldStop,
      ...(run.explainStepError ? { explainStepError: run.explainStepError } : {}),
      spec: { id: spec.id, metrics: spec.metrics },
    });
  } finally {
    run.dispose();
  }
}
