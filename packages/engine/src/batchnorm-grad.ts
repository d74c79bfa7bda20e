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

let stockConfig: GradConfig | undefined;

/**
 * Chooses the FusedBatchNorm gradient: 'broadcast' (this module; default in initEngine) or
 * 'stock' (tfjs-core's tiled version, kept for comparison). Call after the stock gradients are
 * registered (registerGradients). Idempotent.
 */
export function setBatchNormGradient(which: 'broadcast' | 'stock'): void {
  if (which !== 'broadcast' && which !== 'stock') {
    throw new Error(`setBatchNormGradient: unknown variant '${String(which)}'; valid: broadcast, stock.`);
  }
  const current = tf.getGradient('FusedBatchNorm');
  if (stockConfig === undefined && current !== undefined && current !== fusedBatchNormGradConfig) stockConfig = current;
  if (which === 'broadcast') {
    if (current !== fusedBatchNormGradConfig) tf.registerGradient(fusedBatchNormGradConfig);
  } else {
    if (stockConfig === undefined) throw new Error('setBatchNormGradient: the stock FusedBatchNorm gradient is not registered; call registerGradients() first.');
    if (current !== stockConfig) tf.registerGradient(stockConfig);
  }
}
