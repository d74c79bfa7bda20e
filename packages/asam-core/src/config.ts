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
  const known = new Set([
    'method', 'rho', 'eta', 'p', 'normalization', 'weightDecay', 'weightDecayInAscent', 'clipNorm', 'mSharpness', 'microBatches', 'every',
  ]);
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
  return { method: config.method, rho, eta, p, normalization, weightDecay, weightDecayInAscent, clipNorm, mSharpness, microBatches, every };
}
