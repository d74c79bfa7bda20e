/**
 * `SharpnessAwareOptimizer`: a `tf.Optimizer` that wraps any base tfjs optimizer (SGD, momentum,
 * Adam, ...) and makes every `minimize(f)` a full sharpness-aware step. tfjs's `minimize(f)` already
 * receives the loss closure, which is what SAM needs: the closure is evaluated at w and at w + eps.
 *
 * `applyGradients` alone cannot be sharpness-aware (there is no closure to re-evaluate) and throws.
 * tfjs-layers: pass the model as `{ model }` and compile it with this optimizer; `fit()`,
 * `fitDataset()` and `trainOnBatch()` then take sharpness-aware steps (see layers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkVariables, descentGradient, sharpnessAwareGradients, type Guardable, type LossFn } from './algorithm.ts';
import { sharpnessAwareTrainStep, withoutMetrics, type LayersModelLike, type LayersStepper } from './layers.ts';
import {
  ConfigError,
  SHARPNESS_CONFIG_FIELDS,
  resolveSharpnessConfig,
  type NormalizeFilter,
  type Normalization,
  type PNorm,
  type ResolvedSharpnessConfig,
  type SharpnessConfig,
} from './config.ts';

export interface WrapperOptions {
  /**
   * Extra state the perturbed pass must not change. State the clean pass writes (BatchNorm moving
   * mean/variance) is restored automatically and need not be listed. See `setGuard`.
   */
  guard?: Guardable[];
  /**
   * The tfjs-layers model this optimizer is compiled into: its `fit()` / `fitDataset()` / `trainOnBatch()`
   * step becomes one clean pass (loss, metrics, BatchNorm statistics) and one perturbed pass. See `setModel`.
   */
  model?: LayersModelLike;
  /**
   * Which variables ASAM normalizes, as a function (the config then records `normalizeParams: 'custom'`). Prefer the
   * named, serializable config field `normalizeParams` ('except-bias-and-beta', the default, or 'all').
   */
  normalizeFilter?: NormalizeFilter;
}

/** A named tensor, as tfjs optimizers' getWeights/setWeights use. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const STEP_WEIGHT = 'sharpness_aware/step';

type WithLearningRate = tf.Optimizer & { learningRate?: number; setLearningRate?: (lr: number) => void };

function trainableVariables(): tf.Variable[] {
  const reg = tf.engine().registeredVariables;
  return Object.keys(reg)
    .map((k) => reg[k]!)
    .filter((v) => v.trainable);
}

export class SharpnessAwareOptimizer extends tf.Optimizer implements LayersStepper {
  static className = 'SharpnessAwareOptimizer';
  /** The resolved config (read it; change micro-batching with setMicroBatches). */
  config: ResolvedSharpnessConfig;
  private guard: Guardable[];
  private normalizeFilter: NormalizeFilter | undefined;
  private step = 0;
  /** The tfjs-layers model whose train step is running (set only inside `runLayersStep`). */
  private layersModel: LayersModelLike | null = null;

  constructor(
    readonly base: tf.Optimizer,
    config: SharpnessConfig,
    opts: WrapperOptions = {},
  ) {
    super();
    if (base == null || typeof base.applyGradients !== 'function') {
      throw new Error(`Invalid base optimizer: got ${String(base)}; pass a tfjs optimizer such as tf.train.sgd(0.1), tf.train.momentum(0.1, 0.9) or tf.train.adam(5e-4).`);
    }
    if (opts.normalizeFilter !== undefined && config?.normalizeParams !== undefined && config.normalizeParams !== 'custom') {
      throw new ConfigError(
        'normalizeParams',
        config.normalizeParams,
        "'custom' or left out when the normalizeFilter option is given (the function decides); or drop normalizeFilter",
      );
    }
    this.config = resolveSharpnessConfig(opts.normalizeFilter !== undefined && config != null ? { ...config, normalizeParams: 'custom' } : config);
    this.guard = opts.guard ?? [];
    this.normalizeFilter = opts.normalizeFilter;
    if (opts.model !== undefined) this.setModel(opts.model);
  }

  /**
   * Prepares a tfjs-layers model to be trained by this optimizer through `compile()` + `fit()` /
   * `fitDataset()` / `trainOnBatch()` (the `model` option does this). Use it for a model loaded with its
   * optimizer: `(model.optimizer as SharpnessAwareOptimizer).setModel(model)`.
   */
  setModel(model: LayersModelLike): void {
    sharpnessAwareTrainStep(model);
  }

  /**
   * One tfjs-layers train step (called by the model's train step, not by users): the step's loss closure
   * is evaluated with metrics for the clean pass and without them for the perturbed pass.
   */
  runLayersStep<T>(model: LayersModelLike, run: () => T): T {
    if (this.layersModel !== null) throw new Error('SharpnessAwareOptimizer: a tfjs-layers train step is already running with this optimizer.');
    const { mSharpness, microBatches } = this.config;
    if (mSharpness !== 1 || microBatches !== 1) {
      throw new Error(
        `mSharpness (${mSharpness}) and microBatches (${microBatches}) must be 1 with fit()/fitDataset()/trainOnBatch(): tfjs-layers' train step ` +
          'evaluates the whole batch in one closure. Use them in a custom loop: opt.minimize((part) => loss of that part, true, vars).',
      );
    }
    this.layersModel = model;
    try {
      return run();
    } finally {
      this.layersModel = null;
    }
  }

  override getClassName(): string {
    return SharpnessAwareOptimizer.className;
  }

  /**
   * Sets the function that picks the variables ASAM normalizes, for a wrapper whose config says
   * `normalizeParams: 'custom'` (one rebuilt by `fromConfig`, which cannot serialize the function).
   */
  setNormalizeFilter(filter: NormalizeFilter): void {
    if (typeof filter !== 'function') throw new Error(`setNormalizeFilter: got ${typeof filter}; pass a function (v: tf.Variable) => boolean.`);
    if (this.config.normalizeParams !== 'custom') {
      throw new ConfigError('normalizeParams', this.config.normalizeParams, "'custom' to use a filter function; build the optimizer with { normalizeFilter }");
    }
    this.normalizeFilter = filter;
  }

  /** Replaces the guarded state (e.g. after a model is rebuilt). */
  setGuard(vars: Guardable[]): void {
    this.guard = vars;
  }

  /**
   * Changes the number of micro-batches (gradient accumulation) from the next step on, e.g. for a
   * last batch smaller than the usual one. Results are unchanged in expectation; only memory and
   * speed change (and BatchNorm statistics, which are per micro-batch).
   */
  setMicroBatches(k: number): void {
    this.config = resolveSharpnessConfig({ ...this.config, microBatches: k });
  }

  /** Steps taken by this wrapper (counts plain steps taken with `every > 1` too). */
  get stepCount(): number {
    return this.step;
  }

  get learningRate(): number {
    const lr = (this.base as WithLearningRate).learningRate;
    if (typeof lr !== 'number') throw new Error(`The base optimizer ${this.base.getClassName()} has no numeric learningRate.`);
    return lr;
  }

  /** Sets the base optimizer's learning rate (for schedules). */
  setLearningRate(lr: number): void {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`Invalid learning rate: got ${lr}; expected a finite number >= 0.`);
    const b = this.base as WithLearningRate;
    if (typeof b.setLearningRate === 'function') b.setLearningRate(lr);
    else b.learningRate = lr;
  }

  /**
   * One full step: loss at w, descent gradient at w + eps (see `sharpnessAwareGradients`),
   * applied by the base optimizer. Returns the loss at w when `returnCost`.
   */
  override minimize(f: LossFn, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const vars = varList ?? trainableVariables();
    const perturb = this.step % this.config.every === 0;
    const model = this.layersModel;
    const { loss, grads, perturbedLoss } = sharpnessAwareGradients(f, vars, this.config, {
      guard: this.guard,
      ...(this.normalizeFilter !== undefined ? { normalizeFilter: this.normalizeFilter } : {}),
      perturb,
      ...(model !== null ? { perturbedLoss: withoutMetrics(model, f) } : {}),
    });
    perturbedLoss?.dispose();
    try {
      this.base.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
    } finally {
      tf.dispose(grads);
    }
    this.step++;
    if (returnCost) return loss;
    loss.dispose();
    return null;
  }

  /** Whether the next step perturbs (with `every: k`, one step in k does). */
  get nextStepPerturbs(): boolean {
    return this.config.method !== 'none' && this.step % this.config.every === 0;
  }

  /**
   * Applies a sharpness-aware gradient computed elsewhere (e.g. averaged over data-parallel workers:
   * the mean of the gradients at w + ε, in `vars` order): clipping and weight decay as configured
   * (`descentGradient`), then the base optimizer; counts as one step. `grads` stay the caller's.
   */
  applyDescent(vars: tf.Variable[], grads: tf.Tensor[]): void {
    checkVariables(vars);
    if (grads.length !== vars.length) throw new Error(`applyDescent: got ${grads.length} gradients for ${vars.length} variables.`);
    grads.forEach((g, i) => {
      if (!tf.util.arraysEqual(g.shape, vars[i]!.shape)) {
        throw new Error(`applyDescent: gradient ${i} has shape [${g.shape}], variable '${vars[i]!.name}' has [${vars[i]!.shape}].`);
      }
    });
    const descent = descentGradient(grads, vars, this.config);
    try {
      this.base.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: descent[i]! })));
    } finally {
      if (descent !== grads) tf.dispose(descent);
    }
    this.step++;
  }

  override computeGradients(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const vars = varList ?? trainableVariables();
    const { loss, grads, perturbedLoss } = sharpnessAwareGradients(f, vars, this.config, {
      guard: this.guard,
      ...(this.normalizeFilter !== undefined ? { normalizeFilter: this.normalizeFilter } : {}),
    });
    perturbedLoss?.dispose();
    return { value: loss, grads };
  }

  override applyGradients(_variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    throw new Error(
      'SharpnessAwareOptimizer.applyGradients() cannot take a sharpness-aware step: SAM/ASAM must re-evaluate the loss at w + eps, ' +
        'so they need the loss closure. Call minimize(() => loss, true, vars) instead, or use sharpnessAwareGradients() ' +
        'and hand its gradients to the base optimizer yourself.',
    );
  }

  /**
   * The running bias-correction products β₁ᵗ, β₂ᵗ of an Adam or Adamax base (tfjs keeps them as variables, not in
   * its weights, and its setWeights recomputes them with pow, which differs from the running product in the last bit).
   */
  private biasCorrection(): Array<{ name: string; variable: tf.Variable }> {
    const b = this.base as unknown as { accBeta1?: unknown; accBeta2?: unknown };
    return ([['acc_beta1', b.accBeta1], ['acc_beta2', b.accBeta2]] as const)
      .filter(([, v]) => v instanceof tf.Variable)
      .map(([k, v]) => ({ name: `${STEP_WEIGHT.split('/')[0]}/${k}`, variable: v as tf.Variable }));
  }

  /**
   * The base optimizer's weights, led by this wrapper's step counter (and, for Adam/Adamax bases, followed by the
   * running β products, so that a restored optimizer continues bit for bit). The step scalar and the products are
   * fresh tensors; the base's slot variables are its live state.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const base = await this.base.getWeights();
    const extra = this.biasCorrection().map(({ name, variable }) => ({ name, tensor: tf.clone(variable) }));
    return [{ name: STEP_WEIGHT, tensor: tf.scalar(this.step, 'int32') }, ...base, ...extra];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const own = weightValues.find((w) => w.name === STEP_WEIGHT);
    if (own == null) {
      throw new Error(`setWeights: missing '${STEP_WEIGHT}'; pass the list returned by SharpnessAwareOptimizer.getWeights().`);
    }
    this.step = (await own.tensor.data())[0]!;
    const extra = this.biasCorrection();
    const extraNames = new Set(extra.map((e) => e.name));
    await this.base.setWeights(weightValues.filter((w) => w.name !== STEP_WEIGHT && !extraNames.has(w.name)));
    // weights saved before the products were kept: the base's own (pow) values stay
    for (const { name, variable } of extra) {
      const saved = weightValues.find((w) => w.name === name);
      if (saved) variable.assign(saved.tensor);
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...this.config,
      base: this.base.getClassName(),
      baseConfig: this.base.getConfig(),
    } as unknown as tf.serialization.ConfigDict;
  }

  /**
   * Rebuilds a wrapper from `getConfig()` (used by tfjs-layers' `loadLayersModel` for a model saved with
   * `includeOptimizer: true`, after `registerSharpnessAwareOptimizer()`). The base optimizer is rebuilt from
   * the tfjs serialization registry. The named options (`normalizeParams`, `bnStatistics`) are part of the config;
   * guard, model and a `normalizeFilter` function are not serialized (for `normalizeParams: 'custom'` call
   * `setNormalizeFilter(f)` before training).
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const baseName = config['base'];
    const entry = typeof baseName === 'string' ? tf.serialization.SerializationMap.getMap().classNameMap[baseName] : undefined;
    if (entry === undefined) {
      throw new Error(`SharpnessAwareOptimizer.fromConfig: unknown base optimizer ${JSON.stringify(baseName)}; register its class with tf.serialization.registerClass().`);
    }
    const [baseCls, baseFromConfig] = entry;
    const base = baseFromConfig(baseCls, (config['baseConfig'] ?? {}) as tf.serialization.ConfigDict) as unknown as tf.Optimizer;
    const fields: Record<string, unknown> = {};
    for (const k of SHARPNESS_CONFIG_FIELDS) if (config[k] !== undefined) fields[k] = config[k];
    return new (cls as unknown as new (b: tf.Optimizer, c: SharpnessConfig) => T)(base, fields as unknown as SharpnessConfig);
  }

  override dispose(): void {
    // tfjs's MomentumOptimizer.dispose() does not free the learning-rate scalar `c` it inherits from SGD
    const c = (this.base as unknown as { c?: tf.Tensor }).c;
    this.base.dispose();
    if (c != null && !c.isDisposed) c.dispose();
    super.dispose();
  }
}

/**
 * Registers `SharpnessAwareOptimizer` with tfjs serialization, so that `tf.loadLayersModel` can rebuild it
 * for a model saved with `model.save(url, { includeOptimizer: true })`. Call once before loading; idempotent.
 */
export function registerSharpnessAwareOptimizer(): void {
  tf.serialization.registerClass(SharpnessAwareOptimizer);
}

/** Wraps `base` with the given sharpness-aware config (method 'none' | 'sam' | 'asam'). */
export function sharpnessAware(base: tf.Optimizer, config: SharpnessConfig, opts: WrapperOptions = {}): SharpnessAwareOptimizer {
  return new SharpnessAwareOptimizer(base, config, opts);
}

type Extra = Omit<SharpnessConfig, 'method' | 'rho' | 'eta' | 'normalization'>;

/**
 * SAM (Foret et al., ICLR 2021): eps = rho * g / ||g||_2, descend with the gradient at w + eps.
 * @example const opt = sam(tf.train.momentum(0.1, 0.9), { rho: 0.05 });
 */
export function sam(base: tf.Optimizer, o: { rho: number } & Extra, opts: WrapperOptions = {}): SharpnessAwareOptimizer {
  return new SharpnessAwareOptimizer(base, { ...o, method: 'sam' }, opts);
}

/**
 * ASAM (Kwon et al., ICML 2021): eps = rho * T_w^2 g / ||T_w g||_2 with T_w = |w| + eta (element-wise)
 * or ||w_f||_2 + eta (filter-wise); p = 'inf' gives eps = rho * T_w sign(g).
 * @example const opt = asam(tf.train.momentum(0.1, 0.9), { rho: 0.5, eta: 0.01 });
 */
export function asam(
  base: tf.Optimizer,
  o: { rho: number; eta?: number; p?: PNorm; normalization?: Normalization } & Extra,
  opts: WrapperOptions = {},
): SharpnessAwareOptimizer {
  return new SharpnessAwareOptimizer(base, { ...o, method: 'asam' }, opts);
}
