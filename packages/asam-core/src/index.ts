/**
 * @asam/core: sharpness-aware training for TensorFlow.js.
 *
 * - `sam(base, {rho})`, `asam(base, {rho, eta, p, normalization})`, `sharpnessAware(base, config)`:
 *   tf.Optimizers wrapping any base optimizer; `minimize(f)` takes one sharpness-aware step.
 * - `sharpnessAwareGradients(f, vars, config)`: the gradient alone, for custom loops (the closure is told the part
 *   and the pass); `opt.beginStep(vars)` / `sharpnessAwareStep(vars, config)`: one step as explicit phases —
 *   `ascend(clean gradient)` (ε, w ← w + ε), `descend(gradient at w + ε)` (exact restore, clipping, weight decay,
 *   the base optimizer) — for gradients taken elsewhere (data-parallel workers).
 * - `sharpness`, `adaptiveSharpness`: measure (adaptive) sharpness of a loss at the current weights.
 * - `@asam/core/testing`: the conformance suite every optimizer variant passes (vitest).
 * Depends on @tensorflow/tfjs-core only; gradients must be registered by the application.
 */

// the optimizers
export { SharpnessAwareOptimizer, asam, registerSharpnessAwareOptimizer, sam, sharpnessAware } from './optimizer.ts';
export type { NamedTensor, WrapperOptions } from './optimizer.ts';

// configuration
export { ConfigError, defaultNormalizeFilter, resolveSharpnessConfig } from './config.ts';
export type {
  BnStatistics, Method, NormalizeFilter, NormalizeParams, Normalization, PNorm, ResolvedSharpnessConfig, SharpnessConfig,
} from './config.ts';

// the algorithm, for custom loops and data-parallel training
export { SharpnessAwareStep, ruleFromConfig, sharpnessAwareGradients, sharpnessAwareStep } from './algorithm.ts';
export type { GradientOptions, Guardable, LossFn, Part, Pass, SharpnessAwareResult, StepOptions } from './algorithm.ts';

// the perturbation rules (pure functions)
export { normalizationOperator, perturbation } from './perturbation.ts';
export type { PerturbationRule } from './perturbation.ts';

// tfjs-layers integration (compile() + fit())
export { sharpnessAwareTrainStep } from './layers.ts';
export type { LayersModelLike } from './layers.ts';

// sharpness measures
export { adaptiveSharpness, sharpness } from './sharpness.ts';
export type { AdaptiveSharpnessOptions, SharpnessOptions } from './sharpness.ts';
