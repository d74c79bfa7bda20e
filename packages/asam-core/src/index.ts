/**
 * @asam/core: sharpness-aware training for TensorFlow.js.
 *
 * - `sam(base, {rho})`, `asam(base, {rho, eta, p, normalization})`, `sharpnessAware(base, config)`:
 *   tf.Optimizers wrapping any base optimizer; `minimize(f)` takes one sharpness-aware step.
 * - `sharpnessAwareGradients(f, vars, config)`: the gradient alone, for custom loops; `descentGradient` and
 *   `perturbWeights` (ε, w ← w + ε, exact restore) for gradients averaged elsewhere (data-parallel workers).
 * - `sharpness`, `adaptiveSharpness`: measure (adaptive) sharpness of a loss at the current weights.
 * - `@asam/core/testing`: the conformance suite every optimizer variant passes (vitest).
 * Depends on @tensorflow/tfjs-core only; gradients must be registered by the application.
 */

// the optimizers
export { SharpnessAwareOptimizer, asam, registerSharpnessAwareOptimizer, sam, sharpnessAware } from './optimizer';
export type { NamedTensor, WrapperOptions } from './optimizer';

// configuration
export { ConfigError, defaultNormalizeFilter, resolveSharpnessConfig } from './config';
export type {
  BnStatistics, Method, NormalizeFilter, NormalizeParams, Normalization, PNorm, ResolvedSharpnessConfig, SharpnessConfig,
} from './config';

// the algorithm, for custom loops and data-parallel training
export { descentGradient, perturbWeights, ruleFromConfig, sharpnessAwareGradients } from './algorithm';
export type { GradientOptions, Guardable, LossFn, Part, SharpnessAwareResult } from './algorithm';

// the perturbation rules (pure functions)
export { normalizationOperator, perturbation } from './perturbation';
export type { PerturbationRule } from './perturbation';

// tfjs-layers integration (compile() + fit())
export { sharpnessAwareTrainStep } from './layers';
export type { LayersModelLike } from './layers';

// sharpness measures
export { adaptiveSharpness, sharpness } from './sharpness';
export type { AdaptiveSharpnessOptions, SharpnessOptions } from './sharpness';
