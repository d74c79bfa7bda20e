/**
 * tfjs-layers integration: `model.compile({ optimizer: asam(base, { rho }, { model }) })` followed by the
 * usual `fit()` / `fitDataset()` / `trainOnBatch()`.
 *
 * tfjs-layers trains through `LayersModel.makeTrainFunction()`: its step closure runs the forward pass
 * (training mode: BatchNorm writes its moving statistics), the compiled losses, the compiled metrics (each
 * `tf.keep`-ed into an array the step returns) and the layers' regularizer penalties, then calls
 * `optimizer.minimize(totalLoss, true, trainableVariables)`. A sharpness-aware step evaluates that closure
 * twice, so called as is it would compute, keep and return the metrics twice (a leak, and a wrong
 * `trainOnBatch()` result). `sharpnessAwareTrainStep(model)` gives the model a train step in which the
 * perturbed pass runs the same closure with the metric list emptied: one clean pass (loss, metrics and
 * BatchNorm statistics as tfjs-layers computes them), one perturbed pass (the same loss, no metrics).
 * State the clean pass writes is restored after the perturbed pass by the algorithm itself.
 *
 * Only structural access to the model is used, so this module does not import tfjs-layers; the members it reaches
 * are read in tfjs-internals.ts.
 */
import type { LossFn } from './algorithm.ts';
import { layersModelInternals, watchSequentialInner, withMetricsOff, wrapTrainFunction, type LayersModelInternals } from './tfjs-internals.ts';

/** The public face of a tfjs-layers `LayersModel` (or `Sequential`) that this integration needs. */
export interface LayersModelLike {
  fit(...args: never[]): unknown;
  trainOnBatch(...args: never[]): unknown;
  compile(...args: never[]): unknown;
}

/** An optimizer that takes tfjs-layers train steps (the sharpness-aware wrapper). */
export interface LayersStepper {
  /** Runs one tfjs-layers train step `run` of `model` with this optimizer. */
  runLayersStep<T>(model: LayersModelLike, run: () => T): T;
}

const INSTALLED = Symbol.for('@asam/core:sharpness-aware-train-step');

function isStepper(o: unknown): o is LayersStepper {
  return o != null && typeof (o as LayersStepper).runLayersStep === 'function';
}

function install(m: LayersModelInternals): void {
  const own = m as unknown as Record<symbol, boolean>;
  if (own[INSTALLED]) return;
  wrapTrainFunction(m, (opt, model, train, data) =>
    isStepper(opt) ? opt.runLayersStep(model as unknown as LayersModelLike, () => train(data)) : train(data));
  own[INSTALLED] = true;
}

/**
 * Makes `model`'s train step (used by fit, fitDataset and trainOnBatch) sharpness-aware whenever the
 * optimizer it is compiled with is a sharpness-aware wrapper; with any other optimizer the model trains
 * exactly as before. Idempotent. Called by `sam()` / `asam()` / `sharpnessAware()` with `{ model }`.
 *
 * A `tf.Sequential` trains through an inner `LayersModel` that it rebuilds in every `compile()`, so for a
 * Sequential the step is installed on each inner model it builds (before or after this call).
 */
export function sharpnessAwareTrainStep(model: LayersModelLike): void {
  const m = layersModelInternals(model);
  const own = m as unknown as Record<symbol, boolean>;
  if (own[INSTALLED]) return;
  if (watchSequentialInner(m, install)) own[INSTALLED] = true;
  else install(m);
}

/**
 * The perturbed-pass closure for a tfjs-layers train step: `f` with the model's compiled metrics switched
 * off while it runs (the closure reads `model.metricsTensors` at call time), so that the loss, sample
 * weights and regularizer penalties are those of the clean pass and nothing is kept.
 */
export function withoutMetrics(model: LayersModelLike, f: LossFn): LossFn {
  const m = layersModelInternals(model);
  return (part, pass) => withMetricsOff(m, () => f(part, pass));
}
