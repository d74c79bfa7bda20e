/**
 * The one place @asam/core reads tfjs state that the public API does not offer. Every other module goes through
 * these functions, so a tfjs release that moves one of them breaks here, in one file, with one message.
 *
 * tfjs-core (checked when this module is loaded, i.e. when @asam/core is imported):
 * - the engine's variable registry and a variable's `dataId` (which state a forward pass wrote: `assign` gives a
 *   variable new data, hence a new id);
 * - the active tidy scope's tracked tensors and their `kept` flag (tensors a loss closure tf.keep()s);
 * - `AdamOptimizer`/`AdamaxOptimizer`'s running products `accBeta1`/`accBeta2`, and the learning-rate scalar `c`
 *   that `MomentumOptimizer` inherits from `SGDOptimizer` (its dispose() does not free it).
 * tfjs-layers (not a dependency: reached structurally on the model, each member checked where it is read):
 * - `LayersModel.makeTrainFunction`, `metricsTensors` and `optimizer`, and the inner `model` of a `Sequential`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs-core versions whose internals this module reads: at least `min`, below `below` (the peer range). */
export const SUPPORTED_TFJS_CORE = { min: '4.10.0', below: '5.0.0' } as const;

function parseVersion(v: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Throws a one-line error unless `version` (tfjs-core's `version_core`) is in {@link SUPPORTED_TFJS_CORE}. */
export function checkTfjsCoreVersion(version: unknown): void {
  const range = `>=${SUPPORTED_TFJS_CORE.min} <${SUPPORTED_TFJS_CORE.below}`;
  const v = typeof version === 'string' ? parseVersion(version) : null;
  if (v === null || compareVersions(v, parseVersion(SUPPORTED_TFJS_CORE.min)!) < 0 || compareVersions(v, parseVersion(SUPPORTED_TFJS_CORE.below)!) >= 0) {
    throw new Error(
      `@asam/core supports @tensorflow/tfjs-core ${range}; this process loaded ${JSON.stringify(version)}: install a tfjs-core (and @tensorflow/tfjs) in that range, with a single copy in the tree.`,
    );
  }
}

checkTfjsCoreVersion(tf.version_core);

// ---- tfjs-core engine ----

/** Every variable registered with the engine, in registration order. */
export function registeredVariables(): tf.Variable[] {
  const reg = tf.engine().registeredVariables;
  return Object.keys(reg).map((k) => reg[k]!);
}

/** The data a variable currently holds; `assign` replaces it, so a changed id means the variable was written. */
export function dataIdOf(v: tf.Variable): object {
  const id = (v as unknown as { dataId?: object }).dataId;
  if (id == null) throw new Error(`@asam/core: tf.Variable '${v.name}' has no dataId; this tfjs-core is outside the supported range >=${SUPPORTED_TFJS_CORE.min} <${SUPPORTED_TFJS_CORE.below}.`);
  return id;
}

/** The active tidy scope's list of tracked tensors (appended to as tensors are made), or undefined outside a scope. */
export function activeScopeTracked(): readonly tf.Tensor[] | undefined {
  const state = (tf.engine() as unknown as { state?: { activeScope?: { track?: tf.Tensor[] } } }).state;
  if (state == null) throw new Error(`@asam/core: the tfjs engine has no state; this tfjs-core is outside the supported range >=${SUPPORTED_TFJS_CORE.min} <${SUPPORTED_TFJS_CORE.below}.`);
  return state.activeScope?.track;
}

/** Whether `t` was tf.keep()-ed (it then survives the tidy scope it was made in). */
export function isKept(t: tf.Tensor): boolean {
  return (t as unknown as { kept?: boolean }).kept === true;
}

// ---- tfjs-core optimizers ----

/** The running bias-correction products β₁ᵗ, β₂ᵗ of an Adam or Adamax optimizer (absent for other optimizers). */
export function adamBiasCorrection(opt: tf.Optimizer): Array<{ key: 'acc_beta1' | 'acc_beta2'; variable: tf.Variable }> {
  const b = opt as unknown as { accBeta1?: unknown; accBeta2?: unknown };
  return ([['acc_beta1', b.accBeta1], ['acc_beta2', b.accBeta2]] as const)
    .filter(([, v]) => v instanceof tf.Variable)
    .map(([key, v]) => ({ key, variable: v as tf.Variable }));
}

/** The learning-rate scalar an SGD-derived optimizer holds (MomentumOptimizer's dispose() leaves it), if any. */
export function learningRateScalar(opt: tf.Optimizer): tf.Tensor | undefined {
  const c = (opt as unknown as { c?: unknown }).c;
  return c instanceof tf.Tensor ? c : undefined;
}

// ---- tfjs-layers models ----

/** The members of a compiled tfjs-layers `LayersModel` that the sharpness-aware train step reads. */
export interface LayersModelInternals {
  makeTrainFunction(): LayersTrainFunction;
  metricsTensors: unknown[];
  optimizer: unknown;
}

/** A tfjs-layers model's train-step internals; throws a one-line error for anything else. */
export function layersModelInternals(model: unknown): LayersModelInternals {
  const m = model as Partial<LayersModelInternals> & { fit?: unknown } | null | undefined;
  if (m == null || typeof m.makeTrainFunction !== 'function' || typeof m.fit !== 'function') {
    throw new Error(
      `Invalid model option: got ${model === null ? 'null' : typeof model}; pass the tfjs-layers LayersModel (tf.sequential / tf.model, @tensorflow/tfjs-layers >=${SUPPORTED_TFJS_CORE.min} <${SUPPORTED_TFJS_CORE.below}) this optimizer is compiled into.`,
    );
  }
  return m as LayersModelInternals;
}

/** The train step a `LayersModel` builds: one optimizer step on a batch, returning the loss and the metrics. */
export type LayersTrainFunction = (data: tf.Tensor[]) => tf.Scalar[];

/**
 * Replaces `m.makeTrainFunction()` so that each step of the train function it builds runs as
 * `step(m.optimizer at that time, the model, tfjs-layers' own train function, data)`.
 */
export function wrapTrainFunction(
  m: LayersModelInternals,
  step: (optimizer: unknown, model: LayersModelInternals, train: LayersTrainFunction, data: tf.Tensor[]) => tf.Scalar[],
): void {
  const original = m.makeTrainFunction;
  m.makeTrainFunction = function sharpnessAwareMakeTrainFunction(this: LayersModelInternals) {
    const train = original.call(this);
    return (data: tf.Tensor[]) => step(this.optimizer, this, train, data);
  };
}

/** Runs `run` with the model's compiled metrics switched off (its train closure reads `metricsTensors` at call time). */
export function withMetricsOff<T>(m: LayersModelInternals, run: () => T): T {
  const saved = m.metricsTensors;
  m.metricsTensors = [];
  try {
    return run();
  } finally {
    m.metricsTensors = saved;
  }
}

/**
 * For a tfjs-layers `Sequential` (it trains through an inner `LayersModel` rebuilt by every `compile()`): calls
 * `onInner` with the current inner model and with each one assigned later, and returns true; false for any other
 * model.
 */
export function watchSequentialInner(model: LayersModelInternals, onInner: (inner: LayersModelInternals) => void): boolean {
  const own = model as unknown as { model?: LayersModelInternals | null; add?: unknown; pop?: unknown };
  if (typeof own.add !== 'function' || typeof own.pop !== 'function') return false;
  let inner = own.model ?? null;
  if (inner != null) onInner(inner);
  Object.defineProperty(own, 'model', {
    configurable: true,
    enumerable: true,
    get: () => inner,
    set: (next: LayersModelInternals | null) => {
      inner = next;
      if (next != null) onInner(next);
    },
  });
  return true;
}
