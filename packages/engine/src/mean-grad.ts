/**
 * Gradient of the Mean kernel without a ones tensor.
 *
 * tfjs-core's Mean gradient is dx = (reshape(dy) · ones(x.shape)) / M. The ones tensor is built in JS
 * and copied into the backend on every call, then multiplied with broadcasting: for the two means of
 * every BatchNorm layer's moments that is the largest single cost of a ResNet step outside the
 * kernels. When the mean is over the leading axes of a float32 tensor and the backend has the
 * project's `ChannelBroadcast` kernel (wasm, cpu), dx = ChannelBroadcast(dy / M) instead: one pass,
 * bitwise equal (dy·1 = dy). Any other case uses the stock gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { CHANNEL_BROADCAST } from './kernels.ts';

let stockConfig: GradConfig | undefined;

export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const axes = util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape).slice().sort((a, b) => a - b);
    const rank = x.rank;
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32' || tf.getKernel(CHANNEL_BROADCAST, tf.getBackend()) === undefined) {
      if (stockConfig === undefined) throw new Error('Mean gradient: the stock gradient is not registered; call registerGradients() first.');
      return stockConfig.gradFunc(dy, saved, attrs);
    }
    const c = x.shape[rank - 1] as number;
    const m = util.sizeFromShape(x.shape) / Math.max(c, 1);
    return {
      x: () => tf.tidy(() => tf.engine().runKernel(CHANNEL_BROADCAST, { x: tf.div(tf.reshape(dy as Tensor, [c]), m) }, { shape: x.shape } as never) as Tensor),
    };
  },
};

/**
 * Chooses the Mean gradient: 'broadcast' (this module; default in initEngine) or 'stock' (tfjs-core's).
 * Call after the stock gradients are registered (registerGradients). Idempotent.
 */
export function setMeanGradient(which: 'broadcast' | 'stock'): void {
  if (which !== 'broadcast' && which !== 'stock') {
    throw new Error(`setMeanGradient: unknown variant '${String(which)}'; valid: broadcast, stock.`);
  }
  const current = tf.getGradient('Mean');
  if (stockConfig === undefined && current !== undefined && current !== meanGradConfig) stockConfig = current;
  if (which === 'broadcast') {
    if (stockConfig === undefined) throw new Error('setMeanGradient: the stock Mean gradient is not registered; call registerGradients() first.');
    if (current !== meanGradConfig) tf.registerGradient(meanGradConfig);
  } else if (stockConfig !== undefined && current !== stockConfig) {
    tf.registerGradient(stockConfig);
  }
}
