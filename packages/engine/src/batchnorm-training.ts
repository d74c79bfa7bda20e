/**
 * Gradients of the fused BatchNorm-in-training kernel and of Relu.
 *
 * `BatchNormTraining` (kernels.ts) computes y = (x − μ)·γ·r + β with μ, σ² the batch mean and biased variance over every
 * axis but the last and r = 1/√(σ² + ε), and returns [y, μ, σ²]. Differentiating through the statistics (M values per
 * channel, x̂ = (x − μ)·r, S₁ = Σ dy, S₂ = Σ (x − μ)·dy, and dμ, dσ² the gradients reaching the μ and σ² outputs):
 *   ∂x = γr·(dy − S₁/M − x̂·r·S₂/M) + dμ/M + 2(x − μ)·dσ²/M,   ∂γ = r·S₂,   ∂β = S₁,
 * the gradient that tf.moments + tf.batchNorm's chain of stock gradients gives (ChannelBroadcast, Square, Sub, Mean and
 * FusedBatchNorm gradients, about a dozen passes over x) up to float32 rounding, here in two (`BatchNormTrainingGrad`).
 * Where that kernel is not registered (or the SIMD module cannot run) the same formula is composed from tf ops.
 *
 * tfjs's Relu gradient is mul(dy, step(x)): two passes and a temporary. With the `ReluGrad` kernel it is one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD, simdKernelUsable } from './kernels.ts';

/** ∂x, ∂γ, ∂β of BatchNormTraining composed from tf ops (any backend). */
function composedBatchNormTrainingGrad(x: Tensor, dy: Tensor, mean: Tensor, variance: Tensor, scale: Tensor,
  dmean: Tensor, dvariance: Tensor, eps: number): [Tensor, Tensor, Tensor] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const c = x.shape[x.rank - 1] as number;
  const m = c === 0 ? 0 : x.size / c;
  const r = tf.rsqrt(tf.add(variance, eps));
  const g = tf.mul(scale, r);
  const xc = tf.sub(x, mean);
  const s1 = tf.sum(dy, axes);
  const s2 = tf.sum(tf.mul(xc, dy), axes);
  const k = tf.div(tf.sub(tf.mul(dvariance, 2), tf.mul(tf.mul(tf.mul(g, r), r), s2)), m);
  const d0 = tf.div(tf.sub(dmean, tf.mul(g, s1)), m);
  const dx = tf.add(tf.mul(dy, g), tf.add(tf.mul(xc, k), d0));
  return [dx, tf.mul(r, s2), s1];
}

/** The gradient of the project's BatchNormTraining kernel (registered by initEngine on every backend). */
export const batchNormTrainingGradConfig: GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [dyY, dmean, dvariance] = dy as [Tensor, Tensor, Tensor];
    const [x, scale, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor];
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    // All three come from one kernel call, made here once; the closures hand them out (tensors of the
    // surrounding tf.grads scope, which disposes whichever are not used).
    const [dx, dscale, doffset] = simdKernelUsable(BATCH_NORM_TRAINING_GRAD)
      ? tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { x, dy: dyY, mean, variance, scale, dmean, dvariance },
        { varianceEpsilon: eps } as never) as Tensor[]
      : composedBatchNormTrainingGrad(x, dyY, mean, variance, scale, dmean, dvariance, eps);
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

let stockReluConfig: GradConfig | undefined;

/** The Relu gradient through ReluGrad where the backend has it and the SIMD module runs (float32), else the stock gradient. */
export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const d = dy as Tensor;
    if (x.dtype !== 'float32' || d.dtype !== 'float32' || !simdKernelUsable(RELU_GRAD)) {
      if (stockReluConfig === undefined) throw new Error('Relu gradient: the stock gradient is not registered; call registerGradients() first.');
      return stockReluConfig.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as Tensor };
  },
};

/**
 * Registers the BatchNormTraining gradient (idempotent) and chooses the Relu gradient: 'fused' (ReluGrad where
 * registered; default in initEngine) or 'stock' (tfjs-core's). Call after the stock gradients are registered.
 */
export function setFusedTrainingGradients(relu: 'fused' | 'stock'): void {
  if (relu !== 'fused' && relu !== 'stock') throw new Error(`setFusedTrainingGradients: unknown Relu variant '${String(relu)}'; valid: fused, stock.`);
  if (tf.getGradient(BATCH_NORM_TRAINING) !== batchNormTrainingGradConfig) tf.registerGradient(batchNormTrainingGradConfig);
  const current = tf.getGradient('Relu');
  if (stockReluConfig === undefined && current !== undefined && current !== reluGradConfig) stockReluConfig = current;
  if (relu === 'fused') {
    if (stockReluConfig === undefined) throw new Error('setFusedTrainingGradients: the stock Relu gradient is not registered; call registerGradients() first.');
    if (current !== reluGradConfig) tf.registerGradient(reluGradConfig);
  } else if (stockReluConfig !== undefined && current !== stockReluConfig) {
    tf.registerGradient(stockReluConfig);
  }
}
