/**
 * Gradient of the FusedBatchNorm kernel without `tf.tile`.
 *
 * The stock tfjs-core gradient (gradients/FusedBatchNorm_grad.ts) materialises
 * rsqrt(var + ε) tiled to the full [N,H,W,C] shape before multiplying, which costs a Tile
 * kernel per BN layer per step (about a quarter of a small ResNet step on wasm; tf.batchNorm
 * always hands the kernel a rank-4 x). Here the same products are formed by broadcasting, in the same order, so every
 * output is bitwise identical to the stock gradient. For y = (x − μ)·γ/√(σ² + ε) + β:
 *   ∂x = dy·r·γ,  ∂μ = Σ(−r·dy·γ),  ∂σ² = Σ(−½r³·(x − μ)·dy·γ),  ∂γ = Σ dy·(x − μ)·r,  ∂β = Σ dy,
 * with r = 1/√(σ² + ε) and the sums over the broadcast (non-channel) axes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD_SUMS, simdKernelUsable } from './kernels.ts';

/** The broadcast (tile-free) FusedBatchNorm gradient config. */
export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const d = dy as Tensor;
    const { varianceEpsilon } = attrs as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    const scaleValue = scale == null ? tf.scalar(1) : scale;
    const reductionAxes = tf.broadcast_util.getReductionAxes(mean.shape, x.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(d, scaleValue);
    const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(r, r), r), tf.scalar(-0.5));
    const reduce = (t: Tensor): Tensor => (mean.rank === 1 ? tf.sum(t, reductionAxes) : t);
    return {
      x: () => tf.reshape(tf.mul(tf.mul(d, r), scaleValue), x.shape),
      mean: () => tf.reshape(reduce(tf.mul(tf.mul(r, tf.scalar(-1)), dyTimesScale)), mean.shape),
      variance: () => tf.reshape(reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)), mean.shape),
      scale: () => tf.reshape(reduce(tf.mul(d, tf.mul(xMinusMean, r))), mean.shape),
      offset: () => tf.reshape(reduce(d), mean.shape),
    };
  },
};

/**
 * The FusedBatchNorm gradient with the per-channel factors pulled out of the sums, so each BN
 * layer costs 3 full-size elementwise ops and 2 reductions instead of 8 and 4. With d = (x − μ),
 * r = 1/√(σ² + ε), S₁ = Σ dy and S₂ = Σ d·dy (sums over the non-channel axes):
 *   ∂x = dy·(rγ),  ∂μ = −rγ·S₁,  ∂σ² = −½r³γ·S₂,  ∂γ = r·S₂,  ∂β = S₁.
 * Equal to the stock gradient up to float32 rounding (the sums are taken in another order).
 * A mean that is not 1-D (no reduction) uses the broadcast formulas.
 */
export const factoredBatchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    if (mean.rank !== 1) return fusedBatchNormGradConfig.gradFunc(dy, saved, attrs);
    const d = dy as Tensor;
    const { varianceEpsilon } = attrs as { varianceEpsilon: number };
    const gamma = scale == null ? tf.scalar(1) : scale;
    const axes = tf.broadcast_util.getReductionAxes(mean.shape, x.shape);
    const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const rGamma = tf.mul(r, gamma);
    let s1: Tensor;
    let s2: Tensor;
    if (x.dtype === 'float32' && d.dtype === 'float32' && tf.util.arraysEqual(x.shape, d.shape) &&
        simdKernelUsable(BATCH_NORM_GRAD_SUMS)) {
      // both sums in one pass over x and dy (wasm, where the SIMD module instantiates)
      const sums = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x, mean, dy: d }) as Tensor;
      [s1, s2] = tf.unstack(sums) as [Tensor, Tensor];
    } else {
      s1 = tf.sum(d, axes);
      s2 = tf.sum(tf.mul(tf.sub(x, mean), d), axes);
    }
    return {
      x: () => tf.reshape(tf.mul(d, rGamma), x.shape),
      mean: () => tf.reshape(tf.mul(tf.neg(rGamma), s1), mean.shape),
      variance: () => tf.reshape(tf.mul(tf.mul(tf.mul(tf.mul(r, r), rGamma), tf.scalar(-0.5)), s2), mean.shape),
      scale: () => tf.reshape(tf.mul(r, s2), mean.shape),
      offset: () => tf.reshape(s1, mean.shape),
    };
  },
};

let stockConfig: GradConfig | undefined;

/**
 * Chooses the FusedBatchNorm gradient: 'factored' (this module; default in initEngine),
 * 'broadcast' (this module, bitwise equal to stock) or 'stock' (tfjs-core's tiled version, kept
 * for comparison). Call after the stock gradients are registered (registerGradients). Idempotent.
 */
export function setBatchNormGradient(which: 'factored' | 'broadcast' | 'stock'): void {
  if (which !== 'factored' && which !== 'broadcast' && which !== 'stock') {
    throw new Error(`setBatchNormGradient: unknown variant '${String(which)}'; valid: factored, broadcast, stock.`);
  }
  const current = tf.getGradient('FusedBatchNorm');
  if (stockConfig === undefined && current !== undefined && current !== fusedBatchNormGradConfig &&
      current !== factoredBatchNormGradConfig) stockConfig = current;
  if (which === 'broadcast' || which === 'factored') {
    const config = which === 'broadcast' ? fusedBatchNormGradConfig : factoredBatchNormGradConfig;
    if (current !== config) tf.registerGradient(config);
  } else {
    if (stockConfig === undefined) throw new Error('setBatchNormGradient: the stock FusedBatchNorm gradient is not registered; call registerGradients() first.');
    if (current !== stockConfig) tf.registerGradient(stockConfig);
  }
}
