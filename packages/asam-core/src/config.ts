/**
 * Configuration of a sharpness-aware step, validated at the boundary.
 *
 * Every field that changes results is explicit and named, so that a run's resolved config
 * (written next to its results) says exactly what was done.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** `none` = the base optimizer alone (same code path, equivalent to rho = 0). */
export type Method = 'none' | 'sam' | 'asam';
export type PNorm = 2 | 'inf';
export type Normalization = 'elementwise' | 'filterwise';
/**
 * Which variables ASAM normalizes (the others get T = 1), by a name that a run's config can record:
 * - `'except-bias-and-beta'` (default): every variable except those whose name ends in `bias` or `beta` (biases and
 *   normalization shifts; tfjs names are `kernel`, `gamma`, `bias`, `beta`, `embeddings`), as the official ASAM code
 *   does by testing `'weight' in name` on PyTorch names (`defaultNormalizeFilter`);
 * - `'all'`: every variable;
 * - `'custom'`: the function given as the wrapper's `normalizeFilter` option (a function is not serializable, so a
 *   wrapper rebuilt from such a config needs it again: `setNormalizeFilter(f)`).
 */
export type NormalizeParams = 'except-bias-and-beta' | 'all' | 'custom';
/**
 * Which pass sets the state a training forward pass writes besides the optimized variables (BatchNorm moving
 * mean/variance):
 * - `'clean-pass'` (default): the clean pass's writes are kept and the perturbed pass's are undone, as in
 *   google-research/sam; a variable only the perturbed pass writes is refused unless guarded;
 * - `'both-passes'`: both passes update it, as a PyTorch SAM step without disabling the running statistics does.
 * The policy covers the state named in the `guard` option too: it is the same state, named rather than found.
 */
export type BnStatistics = 'clean-pass' | 'both-passes';

export interface SharpnessConfig {
  /** Which perturbation rule: `none`, `sam` (Foret et al. 2021) or `asam` (Kwon et al. 2021). */
  method: Method;
  /** Radius of the (adaptive) neighbourhood, rho >= 0. Paper: CIFAR-10 SAM 0.05 / ASAM 0.5. */
  rho: number;
  /** ASAM only: eta in T_w = |w| + eta. Default 0.01. */
  eta?: number;
  /** Norm of the neighbourhood ball: 2 (default) or 'inf'. */
  p?: PNorm;
  /** ASAM only: 'elementwise' (default) T = |w| + eta, or 'filterwise' T = ||w_f||_2 + eta per output filter. */
  normalization?: Normalization;
  /** Coupled L2 weight decay added to the descent gradient at the restored w (default 0). */
  weightDecay?: number;
  /** Also add the weight-decay term to the ascent gradient that defines epsilon (default false). */
  weightDecayInAscent?: boolean;
  /** Clip the descent gradient to this global L2 norm (before weight decay is added). Default: no clipping. */
  clipNorm?: number | null;
  /** m-sharpness: split the batch into this many parts, one epsilon per part (default 1). */
  mSharpness?: number;
  /**
   * Gradient accumulation: evaluate each (m-sharpness) part in this many micro-batches, one at a time, and
   * average their gradients, so only one micro-batch's activations are alive at once (default 1). The ascent
   * direction is the accumulated gradient of the whole part, as without accumulation.
   */
  microBatches?: number;
  /** Take a sharpness-aware step every k-th step and plain steps in between (default 1). */
  every?: number;
  /** ASAM only: which variables are normalized (default 'except-bias-and-beta'); see `NormalizeParams`. */
  normalizeParams?: NormalizeParams;
  /** Which pass sets BatchNorm moving statistics (default 'clean-pass'); see `BnStatistics`. */
  bnStatistics?: BnStatistics;
}

/** A config with every default filled in. */
export type ResolvedSharpnessConfig = Required<Omit<SharpnessConfig, 'clipNorm'>> & { clipNorm: number | null };

/**
 * Which variables ASAM normalizes. The default normalizes every trainable variable except
 * biases and normalization shifts (tfjs names ending in `bias` or `beta`), which get T = 1,
 * as the official ASAM code does (it tests `'weight' in name` on PyTorch names).
 */
export type NormalizeFilter = (v: tf.Variable) => boolean;

export function defaultNormalizeFilter(v: tf.Variable): boolean {
  const name = v.name.replace(/_\d+$/, '');
  return !/(^|[/_.])(bias|beta)$/.test(name);
}

/** Thrown for an invalid option: names the option, the value and the valid range. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`Invalid sharpness-aware option '${field}': got ${JSON.stringify(value)}; expected ${expected}.`);
    this.name = 'ConfigError';
  }
}

const METHODS: Method[] = ['none', 'sam', 'asam'];
const NORMALIZE_PARAMS: NormalizeParams[] = ['except-bias-and-beta', 'all', 'custom'];
const BN_STATISTICS: BnStatistics[] = ['clean-pass', 'both-passes'];

/** Every field of `SharpnessConfig`, in the order `resolveSharpnessConfig` returns them. */
export const SHARPNESS_CONFIG_FIELDS = [
  'method', 'rho', 'eta', 'p', 'normalization', 'weightDecay', 'weightDecayInAscent', 'clipNorm', 'mSharpness', 'microBatches', 'every',
  'normalizeParams', 'bnStatistics',
] as const;

/**
 * The variable filter a named `normalizeParams` stands for. `'custom'` has none: the function must be passed
 * (the wrapper's `normalizeFilter` option), and this throws naming that fix.
 */
export function normalizeFilterFor(normalizeParams: NormalizeParams): NormalizeFilter {
  if (normalizeParams === 'except-bias-and-beta') return defaultNormalizeFilter;
  if (normalizeParams === 'all') return () => true;
  throw new ConfigError(
    'normalizeParams',
    normalizeParams,
    "'except-bias-and-beta' or 'all'; 'custom' needs the filter function itself: pass it as the normalizeFilter option " +
      '(sharpnessAware(base, config, { normalizeFilter }) or opt.setNormalizeFilter(f) on a rebuilt optimizer)',
  );
}

function finiteNonNegative(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ConfigError(field, v, 'a finite number >= 0');
  }
  return v;
}

function positiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(field, v, 'an integer >= 1');
  }
  return v;
}

/** Validates a config and fills in defaults. Unknown fields are refused (they are usually typos). */
export function resolveSharpnessConfig(config: SharpnessConfig): ResolvedSharpnessConfig {
  if (config == null || typeof config !== 'object') throw new ConfigError('config', config, 'an object');
  const known = new Set<string>(SHARPNESS_CONFIG_FIELDS);
  for (const k of Object.keys(config)) {
    if (!known.has(k)) throw new ConfigError(k, (config as unknown as Record<string, unknown>)[k], `no such option; valid options are ${[...known].join(', ')}`);
  }
  if (!METHODS.includes(config.method)) throw new ConfigError('method', config.method, `one of ${METHODS.join(', ')}`);
  const rho = finiteNonNegative('rho', config.rho);
  const eta = finiteNonNegative('eta', config.eta ?? 0.01);
  const p = config.p ?? 2;
  if (p !== 2 && p !== 'inf') throw new ConfigError('p', p, "2 or 'inf'");
  const normalization = config.normalization ?? 'elementwise';
  if (normalization !== 'elementwise' && normalization !== 'filterwise') {
    throw new ConfigError('normalization', normalization, "'elementwise' or 'filterwise'");
  }
  const weightDecay = finiteNonNegative('weightDecay', config.weightDecay ?? 0);
  const weightDecayInAscent = config.weightDecayInAscent ?? false;
  if (typeof weightDecayInAscent !== 'boolean') throw new ConfigError('weightDecayInAscent', weightDecayInAscent, 'true or false');
  let clipNorm: number | null = null;
  if (config.clipNorm != null) {
    if (typeof config.clipNorm !== 'number' || !(config.clipNorm > 0) || !Number.isFinite(config.clipNorm)) {
      throw new ConfigError('clipNorm', config.clipNorm, 'a finite number > 0 (or leave it out for no clipping)');
    }
    clipNorm = config.clipNorm;
  }
  const mSharpness = positiveInt('mSharpness', config.mSharpness ?? 1);
  const microBatches = positiveInt('microBatches', config.microBatches ?? 1);
  const every = positiveInt('every', config.every ?? 1);
  const normalizeParams = config.normalizeParams ?? 'except-bias-and-beta';
  if (!NORMALIZE_PARAMS.includes(normalizeParams)) throw new ConfigError('normalizeParams', normalizeParams, `one of ${NORMALIZE_PARAMS.join(', ')}`);
  const bnStatistics = config.bnStatistics ?? 'clean-pass';
  if (!BN_STATISTICS.includes(bnStatistics)) throw new ConfigError('bnStatistics', bnStatistics, `one of ${BN_STATISTICS.join(', ')}`);
  return {
    method: config.method, rho, eta, p, normalization, weightDecay, weightDecayInAscent, clipNorm, mSharpness, microBatches, every,
    normalizeParams, bnStatistics,
  };
}
