/**
 * @asam/core: sharpness-aware training for TensorFlow.js.
 *
 * - `sam(base, {rho})`, `asam(base, {rho, eta, p, normalization})`, `sharpnessAware(base, config)`:
 *   tf.Optimizers wrapping any base optimizer; `minimize(f)` takes one sharpness-aware step.
 * - `sharpnessAwareGradients(f, vars, config)`: the gradient alone, for custom loops.
 * - `sharpness`, `adaptiveSharpness`: measure (adaptive) sharpness of a loss at the current weights.
 * Depends on @tensorflow/tfjs-core only; gradients must be registered by the application.
 */
export * from './config';
export * from './perturbation';
export * from './algorithm';
export * from './optimizer';
export * from './sharpness';
export * from './layers';
