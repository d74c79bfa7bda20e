/**
 * The runtime section of a run's config: one set of names for every task (the run folder, how long to run, the resume
 * policy, how often to checkpoint and report, how a step is cut into micro-batches or worker shards). A task's own
 * section (model, data, optimizer, schedule) sits beside it in config.json (see run-task.ts):
 *
 *   { "format": "asam-config/1", "task": "vision", "runtime": { "out": …, "epochs": 200, … }, "config": { "model": … } }
 *
 * Tasks whose older config.json used other names for these settings (nmt: `outDir`, `maxEpochs`, `maxUpdates`,
 * `checkpointEveryUpdates`, `logEveryUpdates`, `resume: true|false`) map them with {@link splitFlatConfig}, so run
 * folders written before this section existed still resume.
 */
import { z } from 'zod';
import type { ResumePolicy } from './runtime.ts';
import { ConfigError, nonEmptyString, nullableNumberField, numberField, oneOf, parseConfig } from './schema.ts';

/** The runtime section of a run's config (config.json `runtime`). */
export interface RuntimeConfig {
  /** The run folder. */
  out: string;
  /** Epochs to run. */
  epochs: number;
  /** Cap on optimizer steps (the run then ends after evaluating where the cap falls); null = none. */
  maxSteps: number | null;
  /** A folder that holds a checkpoint is resumed ('auto'), refused ('never'); 'require' refuses one without. */
  resume: ResumePolicy;
  /** Also checkpoint every N steps (always at epoch ends); null = epoch ends only. */
  checkpointEverySteps: number | null;
  /** Data-parallel worker threads (wasm/cpu backends); 1 = none. */
  workers: number;
  /** At most this many rows per forward/backward pass (gradient accumulation); null = the whole batch. */
  microBatch: number | null;
  /** A progress report every N steps. */
  progressEvery: number;
}

/** Names of the runtime section's fields. */
export const RUNTIME_FIELDS = ['out', 'epochs', 'maxSteps', 'resume', 'checkpointEverySteps', 'workers', 'microBatch', 'progressEvery'] as const satisfies readonly (keyof RuntimeConfig)[];

/** The fields that never change what a run computes, only where it lives and how a step is cut: they may differ on resume. */
export const RUNTIME_EXECUTION_FIELDS = ['out', 'resume', 'checkpointEverySteps', 'workers', 'microBatch', 'progressEvery'] as const satisfies readonly (keyof RuntimeConfig)[];

const fields = {
  out: nonEmptyString('a non-empty folder path for the run').describe('The run folder (config.json, env.json, log.txt, metrics.csv, result.json, checkpoint.bin).'),
  epochs: numberField({ int: true, min: 1, max: 100000 }).describe('Epochs to run (the default is the task\'s recipe).'),
  maxSteps: nullableNumberField({ int: true, min: 1 }).describe('Cap on optimizer steps; null = none (default).'),
  resume: oneOf(['auto', 'never', 'require']).describe('A folder with a checkpoint: "auto" resumes it (default), "never" refuses it; "require" refuses a folder without.'),
  checkpointEverySteps: nullableNumberField({ int: true, min: 1 }).describe('Also checkpoint every N steps; null = at epoch ends only (default).'),
  workers: numberField({ int: true, min: 1, max: 64 }).describe('Data-parallel worker threads (wasm or cpu backend; not with microBatch). Default 1.'),
  microBatch: nullableNumberField({ int: true, min: 1 }).describe('At most this many rows per forward/backward pass (gradient accumulation); null = the whole batch (default).'),
  progressEvery: numberField({ int: true, min: 1 }).describe('A progress report every N steps. Default 10.'),
};

/** A complete runtime section. */
export const runtimeConfigSchema = z.strictObject(fields, { error: 'an object' }).superRefine((c, ctx) => {
  if (c.workers > 1 && c.microBatch !== null) {
    ctx.addIssue({ code: 'custom', path: ['microBatch'], input: c.microBatch, message: 'null when workers > 1 (each worker takes one shard of the batch in one pass); use workers 1 with microBatch' });
  }
});

/** What a caller may give: `out` and `epochs` (the task's recipe supplies the latter) and any other field. */
export type PartialRuntimeConfig = Partial<RuntimeConfig> & { out: string };

/** Defaults of the runtime section (a task's recipe may set `epochs` and others: see `TaskSpec.runtimeDefaults`). */
export const RUNTIME_DEFAULTS: Omit<RuntimeConfig, 'out' | 'epochs'> = {
  maxSteps: null, resume: 'auto', checkpointEverySteps: null, workers: 1, microBatch: null, progressEvery: 10,
};

/**
 * The complete runtime section: `partial` over the task's defaults over {@link RUNTIME_DEFAULTS}, validated. A null
 * field of `partial` that is not nullable means its default. Errors are ConfigErrors naming `runtime.<field>`.
 */
export function resolveRuntimeConfig(partial: Partial<RuntimeConfig>, taskDefaults: Partial<RuntimeConfig> = {}): RuntimeConfig {
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return parseConfig(runtimeConfigSchema, { ...RUNTIME_DEFAULTS, ...taskDefaults, ...given }, 'runtime') as RuntimeConfig;
}

/** Old names of runtime fields in a task's flat config: old name → runtime field. */
export type RuntimeNames = Readonly<Record<string, keyof RuntimeConfig>>;

/**
 * Splits a flat config (one object holding the runtime's and the task's fields, the layout config.json had before the
 * runtime section existed) into the runtime's fields and the task's. `names` maps the task's old names (`outDir` →
 * `out`); the runtime's own names are taken as they are. A boolean `resume` (nmt's) means 'auto' (true) or 'never'.
 */
export function splitFlatConfig(flat: Record<string, unknown>, names: RuntimeNames = {}): { runtime: Partial<RuntimeConfig>; task: Record<string, unknown> } {
  const runtime: Record<string, unknown> = {};
  const task: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const to = names[k] ?? ((RUNTIME_FIELDS as readonly string[]).includes(k) ? k : undefined);
    if (to === undefined) task[k] = v;
    else runtime[to] = to === 'resume' && typeof v === 'boolean' ? (v ? 'auto' : 'never') : v;
  }
  return { runtime: runtime as Partial<RuntimeConfig>, task };
}

/** Refuses runtime fields (or their old names) in a task's own section: each setting has one place. */
export function refuseRuntimeFields(task: Record<string, unknown>, where: string, names: RuntimeNames = {}): void {
  for (const k of Object.keys(task)) {
    const to = names[k] ?? ((RUNTIME_FIELDS as readonly string[]).includes(k) ? k : undefined);
    if (to !== undefined) throw new ConfigError(k, task[k], `no ${k} here: it is the runtime's setting runtime.${to}; move it to the runtime section (CLI: --${to.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)})`, where);
  }
}
