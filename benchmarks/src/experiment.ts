/**
 * Experiments as typed values: a base task config, a grid (optimizer × ρ × seed) and named
 * profiles (`smoke`, `cpu`, `paper`) that override both. `expandGrid` turns an experiment and a
 * profile into the list of cells the sweep runner executes, one child process per cell.
 */
import { addConfigIssue, createRegistry, numberField, oneOf, parseConfig, type Registry } from '@asam/train';
import { z } from 'zod';

/** Tasks a cell can run. Each has an adapter in `src/tasks/`. */
export const TASKS = ['vision', 'nmt', 'scale_invariance', 'sharpness_gap', 'step_time'] as const;
export type TaskName = (typeof TASKS)[number];

/** Optimizer names used in experiment grids; `sgd` is the base optimizer alone (method 'none', ρ = 0). */
export const OPTIMIZERS = ['sgd', 'sam', 'asam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/**
 * smoke: CI, pipeline only. quick: a newcomer's first run on a CPU (~2–3 minutes; the analyses and step times,
 * no method comparison). cpu: the CPU-scale reproduction (hours, resumable). paper: the published recipes (GPU).
 */
export const PROFILES = ['smoke', 'quick', 'cpu', 'paper'] as const;
export type ProfileName = (typeof PROFILES)[number];

/** Task config: a plain JSON object handed to the task (e.g. @asam/vision's `trainClassifier`). */
export type TaskConfig = Record<string, unknown>;

/** The swept dimensions. A missing `optimizer` list means the task has no optimizer axis. */
export interface Grid {
  optimizer?: OptimizerName[];
  /** ρ values per optimizer; `sgd` always uses ρ = 0. */
  rho?: Partial<Record<OptimizerName, number[]>>;
  seed?: number[];
}

/** What a profile changes: a deep-merged patch of the base config and replacements of grid axes. */
export interface ProfileSpec {
  base?: TaskConfig;
  grid?: Grid;
  /** One line shown in reports: what this profile is sized for. */
  note?: string;
  /** A ρ sweep's labelled longer schedule for some of its ρ values ({@link LongerSchedule}). */
  longer?: LongerSchedule;
}

/**
 * A ρ sweep's labelled longer schedule: the given ρ values run again, same seeds, with `patch` deep-merged into the
 * cell config (e.g. `{ epochs: 240 }`), as extra cells whose ids end in `-<label>` (`asam-rho2-seed0-e240`). For a
 * ρ value that has them, the report counts the longer runs and shows the standard-schedule runs beside them as
 * superseded: a ρ so large that training accuracy is still rising at the end of the standard schedule is judged on
 * runs that have had the time to plateau, and the table says which schedule each value rests on.
 */
export interface LongerSchedule {
  /** Cell-id suffix and the schedule's short name, lower-case letters and digits (`e240`). */
  label: string;
  /** Deep-merged into the cell config of the longer runs. */
  patch: TaskConfig;
  /** The ρ values (each one of the grid's) that get the longer schedule. */
  rho: Partial<Record<OptimizerName, number[]>>;
  /** One line for the report: why these values run longer. */
  reason: string;
  /**
   * The seeds (each one of the grid's) at which these ρ values also keep their standard-schedule runs, the runs that
   * showed the need for the longer one; at the other seeds they run on the longer schedule only. Default: every seed.
   */
  standardSeeds?: number[];
  /**
   * The control for what the longer schedule adds by itself: ρ values of the reference experiment (`rhoSweepOf`, the
   * published ρ, not in this grid) that also run on the longer schedule, at every seed of the grid, as cells of this
   * experiment (`sam-rho0.05-seed0-e240`) whose config is the reference run's with `patch` merged in. The report
   * measures the schedule's lift on them and counts the ρ range a second way, with these ρ values on the longer schedule.
   */
  controls?: Partial<Record<OptimizerName, number[]>>;
}

/** Published numbers, shown beside measured ones. */
export interface PaperReference {
  /** The paper setting these numbers belong to (model, dataset, recipe). */
  setting: string;
  values: Partial<Record<OptimizerName, number>>;
  source: string;
}

export interface ExperimentDef {
  id: string;
  title: string;
  task: TaskName;
  description: string;
  base: TaskConfig;
  grid: Grid;
  profiles: Partial<Record<ProfileName, ProfileSpec>>;
  /** Published numbers per profile (the paper's recipe is only comparable to the `paper` profile). */
  paper?: PaperReference;
  /**
   * What the grid's `sgd` point (the base optimizer alone, ρ = 0) runs, as shown in cell ids and reports:
   * 'sgd' (default; SGD with momentum) or 'adam' (translation tasks).
   */
  baseOptimizer?: 'sgd' | 'adam';
  /**
   * Where this experiment's cells go in a sweep (default 0): `sweepOrder` groups run in increasing order, and within
   * a group cells run seed by seed, so every seed's method comparison completes before the next seed starts.
   */
  sweepOrder?: number;
  /**
   * The paper's claims this experiment tests, each "`better` beats `worse`" with the paper's figure for it; the
   * report computes the paired difference over seeds with its confidence interval and a verdict for each.
   */
  claims?: PairClaim[];
  /**
   * For a ρ-sensitivity experiment: the experiment whose cells of the same seed supply the published ρ values
   * (they are the same runs), so the report's accuracy-vs-ρ curve is complete without running them twice.
   */
  rhoSweepOf?: string;
}

/** A claim of the form "method A scores higher than method B", with the published figure it is checked against. */
export interface PairClaim {
  better: OptimizerName;
  worse: OptimizerName;
  /** The paper's figure for this claim, as text (setting included), e.g. "+0.94 (CIFAR-10, WRN-28-10)". */
  paper: string;
}

/** One grid point: the unit the runner executes in its own folder and process. */
export interface Cell {
  experiment: string;
  profile: ProfileName;
  task: TaskName;
  /** Folder name, stable and readable: `sam-rho0.05-seed0`, `sgd-seed1` (`adam-seed1` where the base optimizer is Adam), `seed0`. */
  id: string;
  optimizer: OptimizerName | null;
  rho: number | null;
  seed: number;
  config: TaskConfig;
  /** The label of the ρ sweep's longer schedule this cell runs ({@link LongerSchedule}); absent on the standard schedule. */
  schedule?: string;
}

const ID_RE = /^[a-z][a-z0-9_]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const noDuplicates = (a: unknown[]): boolean => new Set(a).size === a.length;
const optimizerName = oneOf(OPTIMIZERS);
const configObject = (what: string) => z.record(z.string(), z.unknown(), { error: what });
const perOptimizer = <T extends z.ZodType>(s: T) => z.strictObject({ sgd: s.optional(), sam: s.optional(), asam: s.optional() }, { error: 'an object keyed by optimizer (sgd, sam, asam)' });

/** The swept dimensions: each list non-empty and without duplicates. */
const gridSchema = z.strictObject({
  optimizer: z.array(optimizerName, { error: 'a non-empty list of optimizer names (sgd, sam, asam)' }).min(1)
    .refine(noDuplicates, { error: 'a list without duplicates' }).optional(),
  rho: perOptimizer(z.array(numberField({ min: 0, expected: 'a finite number >= 0 (a ρ value)' }), { error: 'a non-empty list of ρ values >= 0, e.g. [0.05]' }).min(1)).optional(),
  seed: z.array(numberField({ int: true, min: 0, expected: 'an integer >= 0 (a seed)' }), { error: 'a non-empty list of integer seeds, e.g. [0, 1, 2]' }).min(1)
    .refine(noDuplicates, { error: 'a list without duplicates' }).optional(),
}, { error: 'an object { optimizer?, rho?, seed? }' });

const profileSchema = z.strictObject({
  base: configObject('a config object (deep-merged into the experiment base)').optional(),
  grid: gridSchema.optional(),
  note: z.string({ error: 'a one-line note' }).optional(),
  longer: z.strictObject({
    label: z.string({ error: 'a cell-id suffix of lower-case letters and digits, e.g. "e240"' }).regex(/^[a-z][a-z0-9]*$/, { error: 'a cell-id suffix of lower-case letters and digits, e.g. "e240"' }),
    patch: configObject('a config patch, e.g. { epochs: 240 }'),
    rho: perOptimizer(z.array(numberField({ min: 0, expected: 'a finite number >= 0 (a ρ value)' }), { error: 'a non-empty list of ρ values of the grid' }).min(1)),
    reason: z.string({ error: 'one line: why these ρ values run longer' }),
    standardSeeds: z.array(numberField({ int: true, min: 0, expected: 'an integer >= 0 (a seed of the grid)' }), { error: 'a list of the grid\'s seeds, e.g. [0]' })
      .refine(noDuplicates, { error: 'a list without duplicates' }).optional(),
    controls: perOptimizer(z.array(numberField({ min: 0, expected: 'a finite number >= 0 (a ρ value of the reference experiment)' }), { error: 'a non-empty list of the reference experiment\'s ρ values' }).min(1)).optional(),
  }, { error: 'an object { label, patch, rho, reason, standardSeeds?, controls? }' }).optional(),
}, { error: 'an object { base?, grid?, note?, longer? }' });

/** An experiment definition (`defineExperiment` checks it and the grid of every profile). */
export const experimentSchema = z.strictObject({
  id: z.string({ error: 'a lower_snake id ([a-z][a-z0-9_]*)' }).regex(ID_RE),
  title: z.string({ error: 'a title' }),
  task: oneOf(TASKS),
  description: z.string({ error: 'a description' }),
  base: configObject('a config object'),
  grid: gridSchema,
  profiles: z.strictObject(Object.fromEntries(PROFILES.map((p) => [p, profileSchema.optional()])), { error: `an object keyed by profile (${PROFILES.join(', ')})` })
    .refine((p) => Object.values(p).some((v) => v !== undefined), { error: `at least one profile (${PROFILES.join(', ')})` }),
  paper: z.strictObject({
    setting: z.string({ error: 'the paper setting' }),
    values: perOptimizer(numberField()),
    source: z.string({ error: 'the source (paper, table)' }),
  }, { error: 'an object { setting, values, source }' }).optional(),
  baseOptimizer: oneOf(['sgd', 'adam']).optional(),
  sweepOrder: numberField({ int: true }).optional(),
  claims: z.array(z.strictObject({ better: optimizerName, worse: optimizerName, paper: z.string({ error: "the paper's figure, as text" }) }, { error: 'an object { better, worse, paper }' }),
    { error: 'a list of claims' }).optional(),
  rhoSweepOf: z.string({ error: 'an experiment id' }).regex(ID_RE).optional(),
}, { error: 'an experiment definition object' }).superRefine((def, ctx) => {
  for (const p of Object.keys(def.profiles) as ProfileName[]) {
    if (!def.profiles[p]) continue;
    const g = resolveGrid(def as ExperimentDef, p);
    for (const o of g.optimizer ?? []) {
      if (o !== 'sgd' && !(g.rho?.[o]?.length)) {
        addConfigIssue(ctx, ['profiles', p, 'grid', 'rho', o], undefined, `a ρ list: optimizer "${o}" has no ρ list in profile ${p}; add grid.rho.${o} (to the experiment's grid or the profile's), e.g. [0.05]`);
      }
    }
    const longer = def.profiles[p]!.longer;
    if (longer && !def.rhoSweepOf) {
      addConfigIssue(ctx, ['profiles', p, 'longer'], undefined, 'a longer schedule belongs to a ρ sweep: set rhoSweepOf, or drop profiles.' + p + '.longer');
    }
    for (const [o, rhos] of Object.entries(longer?.rho ?? {}) as Array<[OptimizerName, number[]]>) {
      for (const r of rhos) {
        if (!(g.optimizer ?? []).includes(o) || !(g.rho?.[o] ?? []).includes(r)) {
          addConfigIssue(ctx, ['profiles', p, 'longer', 'rho', o], r, `one of the grid's ρ values for ${o} (${(g.rho?.[o] ?? []).join(', ') || 'none'}): the longer schedule reruns grid points`);
        }
      }
    }
    for (const [o, rhos] of Object.entries(longer?.controls ?? {}) as Array<[OptimizerName, number[]]>) {
      for (const r of rhos) {
        if (!(g.optimizer ?? []).includes(o) || (g.rho?.[o] ?? []).includes(r)) {
          addConfigIssue(ctx, ['profiles', p, 'longer', 'controls', o], r, `a ρ value of the reference experiment for ${o}, not one of this grid's (${(g.rho?.[o] ?? []).join(', ') || 'none'}): a control reruns the reference's runs on the longer schedule`);
        }
      }
    }
    for (const s of longer?.standardSeeds ?? []) {
      if (!(g.seed ?? []).includes(s)) {
        addConfigIssue(ctx, ['profiles', p, 'longer', 'standardSeeds'], s, `one of the grid's seeds (${(g.seed ?? []).join(', ') || 'none'}): standardSeeds keeps the standard-schedule runs at these seeds`);
      }
    }
  }
});

/**
 * Checks an experiment definition (`experimentSchema`) and returns it unchanged (typed). Throws a ConfigError naming
 * the field path, the value and the valid choices when something is wrong: unknown task, profile or optimizer, bad ρ,
 * a `sam`/`asam` optimizer without a ρ list in some profile.
 */
export function defineExperiment(def: ExperimentDef): ExperimentDef {
  parseConfig(experimentSchema, def, `experiment ${isPlainObject(def) ? String(def.id) : '(not an object)'}`);
  return def;
}

/** Recursive merge of plain objects; arrays and scalars in `patch` replace those in `base`. */
export function deepMerge(base: TaskConfig, patch: TaskConfig | undefined): TaskConfig {
  const out: TaskConfig = { ...base };
  for (const [k, v] of Object.entries(patch ?? {})) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function resolveGrid(def: ExperimentDef, profile: ProfileName): Grid {
  const p = def.profiles[profile]?.grid ?? {};
  return {
    ...(def.grid.optimizer || p.optimizer ? { optimizer: p.optimizer ?? def.grid.optimizer } : {}),
    rho: { ...(def.grid.rho ?? {}), ...(p.rho ?? {}) },
    seed: p.seed ?? def.grid.seed ?? [0],
  };
}

/** Formats ρ for a folder name without float noise: 0.05 → "0.05", 1 → "1". */
function fmtRho(r: number): string {
  return String(Number(r.toPrecision(6)));
}

/** Maps a grid optimizer name to the @asam/core `SharpnessConfig.method`. */
export function methodOf(o: OptimizerName): 'none' | 'sam' | 'asam' {
  return o === 'sgd' ? 'none' : o;
}

/**
 * All cells of an experiment under a profile, in a stable order (optimizer, ρ, seed).
 * Each cell's config = deepMerge(base, profile.base) with `optimizer.method`, `optimizer.rho` and
 * `seed` set from the grid point. Throws if the experiment has no such profile.
 */
export function expandGrid(def: ExperimentDef, profile: ProfileName): Cell[] {
  const spec = def.profiles[profile];
  if (!spec) {
    throw new Error(`experiment "${def.id}" has no profile "${profile}"; it has: ${Object.keys(def.profiles).join(', ')}`);
  }
  const base = deepMerge(def.base, spec.base);
  const g = resolveGrid(def, profile);
  const seeds = g.seed ?? [0];
  const cells: Cell[] = [];
  const points: Array<{ optimizer: OptimizerName | null; rho: number | null }> = [];
  if (g.optimizer) {
    for (const o of g.optimizer) {
      const rhos = o === 'sgd' ? [0] : g.rho?.[o] ?? [];
      for (const r of rhos) points.push({ optimizer: o, rho: r });
    }
  } else {
    points.push({ optimizer: null, rho: null });
  }
  // One grid point at one seed: its id and config.
  const cellAt = (pt: { optimizer: OptimizerName | null; rho: number | null }, seed: number): Cell => {
    const parts: string[] = [];
    if (pt.optimizer) parts.push(pt.optimizer === 'sgd' ? def.baseOptimizer ?? 'sgd' : pt.optimizer);
    if (pt.optimizer && pt.optimizer !== 'sgd') parts.push(`rho${fmtRho(pt.rho!)}`);
    parts.push(`seed${seed}`);
    let config: TaskConfig = { ...base, seed };
    if (pt.optimizer) {
      const prev = isPlainObject(base.optimizer) ? base.optimizer : {};
      config = { ...config, optimizer: { ...prev, method: methodOf(pt.optimizer), rho: pt.rho } };
    }
    return { experiment: def.id, profile, task: def.task, id: parts.join('-'), optimizer: pt.optimizer, rho: pt.rho, seed, config };
  };
  for (const pt of points) {
    for (const seed of seeds) cells.push(cellAt(pt, seed));
  }
  // The labelled longer schedule of a ρ sweep: the same grid points again, config patched, ids suffixed; outside
  // `standardSeeds` the longer run replaces the standard one.
  const longer = spec.longer;
  if (!longer) return cells;
  const isLonger = (c: Cell) => !!c.optimizer && c.rho !== null && (longer.rho[c.optimizer] ?? []).includes(c.rho);
  const keepsStandard = (c: Cell) => !isLonger(c) || (longer.standardSeeds ?? [c.seed]).includes(c.seed);
  const onLonger = (c: Cell): Cell => ({ ...c, id: `${c.id}-${longer.label}`, config: deepMerge(c.config, longer.patch), schedule: longer.label });
  // Controls: the reference experiment's grid points (same base, the control ρ) on the longer schedule, every seed.
  const controls = (Object.entries(longer.controls ?? {}) as Array<[OptimizerName, number[]]>)
    .flatMap(([o, rhos]) => rhos.flatMap((r) => seeds.map((seed) => onLonger(cellAt({ optimizer: o, rho: r }, seed)))));
  return [...cells.filter(keepsStandard), ...cells.filter(isLonger).map(onLonger), ...controls];
}

/**
 * A strict registry of experiments (an @asam/train `createRegistry`): duplicate ids are refused; unknown ids
 * (UnknownIdError) list the valid ones.
 */
export class ExperimentRegistry {
  private readonly byId: Registry<ExperimentDef> = createRegistry<ExperimentDef>('experiment');

  constructor(defs: ExperimentDef[] = []) {
    for (const d of defs) this.register(d);
  }

  /** Adds an experiment (validated by `defineExperiment`); throws on a duplicate id. */
  register(def: ExperimentDef): void {
    defineExperiment(def);
    this.byId.register(def.id, def);
  }

  /** The experiment with this id; throws listing the registered ids otherwise. */
  get(id: string): ExperimentDef {
    return this.byId.get(id);
  }

  /** Whether an experiment with this id is registered. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Registered ids, in registration order. */
  ids(): string[] {
    return this.byId.ids();
  }

  /** Registered experiments, in registration order. */
  list(): ExperimentDef[] {
    return this.byId.list();
  }

  /** Experiments that define the given profile, in registration order. */
  forProfile(profile: ProfileName): ExperimentDef[] {
    return this.list().filter((d) => d.profiles[profile] !== undefined);
  }
}

/**
 * Cell filter for `--only`: comma-separated patterns, a cell is kept if any matches. A pattern is
 * `key=value` (keys: optimizer, seed, rho, id, experiment), or a glob (`*` = any run of characters)
 * matched against the cell id or `<experiment>/<cell id>`.
 */
export function matchesFilter(cell: Cell, filter: string | undefined): boolean {
  if (!filter) return true;
  const pats = filter.split(',').map((s) => s.trim()).filter(Boolean);
  return pats.some((p) => {
    const eq = p.indexOf('=');
    if (eq > 0) {
      const key = p.slice(0, eq);
      const val = p.slice(eq + 1);
      const have: Record<string, string> = {
        optimizer: String(cell.optimizer), seed: String(cell.seed), rho: cell.rho === null ? 'null' : fmtRho(cell.rho),
        id: cell.id, experiment: cell.experiment,
      };
      if (!(key in have)) throw new Error(`--only: unknown key "${key}" in "${p}"; valid keys: ${Object.keys(have).join(', ')}`);
      return have[key] === val;
    }
    const re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return re.test(cell.id) || re.test(`${cell.experiment}/${cell.id}`);
  });
}

/**
 * The order a sweep runs cells in: by the experiment's `sweepOrder`, then by the position of the cell's seed in its
 * experiment's seed list, then by experiment (registry order), then grid order. A sweep cut short thus holds
 * complete seeds of its first experiments rather than every seed of one method.
 */
export function sweepOrder(cells: Cell[], defs: ExperimentDef[]): Cell[] {
  const pos = new Map(defs.map((d, i) => [d.id, i]));
  const order = new Map(defs.map((d) => [d.id, d.sweepOrder ?? 0]));
  const seedRank = new Map<string, number>();
  for (const c of cells) {
    const key = `${c.experiment}\0${c.seed}`;
    if (!seedRank.has(key)) seedRank.set(key, new Set(cells.filter((x) => x.experiment === c.experiment && x.seed < c.seed).map((x) => x.seed)).size);
  }
  return cells
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (order.get(a.c.experiment)! - order.get(b.c.experiment)!)
      || (seedRank.get(`${a.c.experiment}\0${a.c.seed}`)! - seedRank.get(`${b.c.experiment}\0${b.c.seed}`)!)
      || (pos.get(a.c.experiment)! - pos.get(b.c.experiment)!)
      || a.i - b.i)
    .map((x) => x.c);
}
