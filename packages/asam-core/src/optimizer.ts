/**
 * `SharpnessAwareOptimizer`: a `tf.Optimizer` that wraps any base tfjs optimizer (SGD, momentum,
 * Adam, ...) and makes every `minimize(f)` a full sharpness-aware step. tfjs's `minimize(f)` already
 * receives the loss closure, which is what SAM needs: the closure is evaluated at w and at w + eps.
 *
 * `computeGradients(f)` + `applyGradients(grads)` is the same step split in two, as tf.Optimizer defines them;
 * `applyGradients` alone cannot be sharpness-aware (there is no closure to re-evaluate) and throws.
 * `beginStep(vars)` is the step as explicit phases (ascend with the clean gradient, descend with the perturbed one),
 * for gradients taken elsewhere, e.g. averaged over data-parallel workers.
 * tfjs-layers: pass the model as `{ model }` and compile it with this optimizer; `fit()`,
 * `fitDataset()` and `trainOnBatch()` then take sharpness-aware steps (see layers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SharpnessAwareStep, sharpnessAwareGradients, type Guardable, type LossFn } from './algorithm.ts';
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
import { adamBiasCorrection, learningRateScalar, registeredVariables } from './tfjs-internals.ts';

export interface WrapperOptions {
  /**
   * State a forward pass writes besides the trained variables, named explicitly (see `GradientOptions.guard`); the
   * config's `bnStatistics` decides which pass sets it, as for the state the clean pass writes, which is found
   * automatically and need not be listed. See `setGuard`.
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
  return registeredVariables().filter((v) => v.trainable);
}

export class SharpnessAwareOptimizer extends tf.Optimizer implements LayersStepper {
  static className = 'SharpnessAwareOptimizer';
  /** The resolved config (read it; change micro-batching with setMicroBatches). */
  config: ResolvedSharpnessConfig;
  private guard: Guardable[];
  private normalizeFilter: NormalizeFilter | undefined;
  private step = 0;
  /** computeGradients() returned the gradients of the next step and applyGradients() has not applied them yet. */
  private gradientsPending = false;
  /** The step begun by `beginStep` (null, or done, when none is open). */
  private openStep: SharpnessAwareStep | null = null;
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
   * applied by the base optimizer. Returns the loss at w when `returnCost`. The closure is called with the part and
   * the pass ('clean' at w, 'perturbed' at w + eps) it evaluates.
   */
  override minimize(f: LossFn, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const vars = varList ?? trainableVariables();
    this.refuseOpenStep('minimize');
    this.gradientsPending = false;
    const { loss, grads } = this.stepGradients(f, vars);
    try {
      this.applyStep(vars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
    } finally {
      tf.dispose(grads);
    }
    if (returnCost) return loss;
    loss.dispose();
    return null;
  }

  /** Loss at w and the descent gradient of the next step: sharpness-aware, or plain on the steps `every` skips. */
  private stepGradients(f: LossFn, vars: tf.Variable[]): { loss: tf.Scalar; grads: tf.NamedTensorMap } {
    const model = this.layersModel;
    const { loss, grads, perturbedLoss } = sharpnessAwareGradients(f, vars, this.config, {
      ...this.stepOptions(),
      ...(model !== null ? { perturbedLoss: withoutMetrics(model, f) } : {}),
    });
    perturbedLoss?.dispose();
    return { loss, grads };
  }

  private stepOptions(): { guard: Guardable[]; normalizeFilter?: NormalizeFilter; perturb: boolean } {
    return {
      guard: this.guard,
      ...(this.normalizeFilter !== undefined ? { normalizeFilter: this.normalizeFilter } : {}),
      perturb: this.step % this.config.every === 0,
    };
  }

  /** The base optimizer's update with a finished descent gradient; counts the step. */
  private applyStep(grads: tf.NamedTensorMap | NamedTensor[]): void {
    this.base.applyGradients(grads);
    this.step++;
  }

  private refuseOpenStep(what: string): void {
    if (this.openStep !== null && !this.openStep.done) {
      throw new Error(`SharpnessAwareOptimizer.${what}: a step begun with beginStep() is still open; finish it (descend) or abort() it first.`);
    }
    this.openStep = null;
  }

  /** Whether the next step perturbs (with `every: k`, one step in k does). */
  get nextStepPerturbs(): boolean {
    return this.config.method !== 'none' && this.step % this.config.every === 0;
  }

  /**
   * Begins the next step over `vars` as explicit phases (see `SharpnessAwareStep`), for gradients taken elsewhere —
   * e.g. averaged over data-parallel workers: for each of `step.parts` parts, `ascend(clean gradient)` takes w to
   * w + eps and `descend(gradient at w + eps)` restores w (and the guarded state) exactly; on a plain step
   * (`step.perturbs` false: method 'none', or a step `every` skips) `descend(clean gradient)` alone. The last descend
   * clips, adds weight decay, applies the base optimizer and counts the step. One step may be open at a time.
   */
  beginStep(vars: tf.Variable[]): SharpnessAwareStep {
    this.refuseOpenStep('beginStep');
    this.gradientsPending = false;
    const step = new SharpnessAwareStep(vars, this.config, this.stepOptions(), (descent) =>
      this.applyStep(vars.map((v, i) => ({ name: v.name, tensor: descent[i]! }))));
    this.openStep = step;
    return step;
  }

  /**
   * The first half of a step, as tf.Optimizer splits `minimize`: the loss at w and the descent gradient of the next
   * step — sharpness-aware, or plain on the steps `every` skips — clipped and with weight decay, keyed by variable
   * name. Hand them (or a transform of them) to `applyGradients`, which applies them and counts the step, so that
   * computeGradients + applyGradients is `minimize`. The caller disposes `value` and `grads`.
   */
  override computeGradients(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const vars = varList ?? trainableVariables();
    this.refuseOpenStep('computeGradients');
    const { loss, grads } = this.stepGradients(f, vars);
    this.gradientsPending = true;
    return { value: loss, grads };
  }

  /**
   * The second half of a step: applies the gradients of the preceding `computeGradients` with the base optimizer and
   * counts the step. Alone it cannot be sharpness-aware (the loss must be re-evaluated at w + eps) and throws.
   */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    if (!this.gradientsPending) {
      throw new Error(
        'SharpnessAwareOptimizer.applyGradients() cannot take a sharpness-aware step from gradients alone: SAM/ASAM must re-evaluate the loss at w + eps, ' +
          'so they need the loss closure. Call minimize(() => loss, true, vars), or computeGradients(f, vars) and then applyGradients(its grads); ' +
          'for gradients taken elsewhere (data-parallel workers) drive the step as phases: beginStep(vars), then ascend(clean gradient) and descend(gradient at w + eps).',
      );
    }
    this.gradientsPending = false;
    this.applyStep(variableGradients);
  }

  /**
   * The running bias-correction products β₁ᵗ, β₂ᵗ of an Adam or Adamax base (tfjs keeps them as variables, not in
   * its weights, and its setWeights recomputes them with pow, which differs from the running product in the last bit).
   */
  private biasCorrection(): Array<{ name: string; variable: tf.Variable }> {
    return adamBiasCorrection(this.base).map(({ key, variable }) => ({ name: `${STEP_WEIGHT.split('/')[0]}/${key}`, variable }));
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
    this.refuseOpenStep('setWeights');
    this.step = (await own.tensor.data())[0]!;
    this.gradientsPending = false;
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
    const c = learningRateScalar(this.base);
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
