/** Training a tfjs-layers model with ASAM in a custom loop (the README example, run by test/example.test.ts). */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { asam } from '@asam/core';

export function trainWithAsam(x: tf.Tensor2D, y: tf.Tensor2D, steps: number): number[] {
  const model = tfl.sequential({ layers: [
    tfl.layers.dense({ inputShape: [x.shape[1]], units: 32 }),
    tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.dense({ units: y.shape[1] }),
  ] });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // BatchNorm moving statistics come from the clean pass: guard them during the perturbed pass
  const opt = asam(tf.train.momentum(0.1, 0.9), { rho: 0.5, eta: 0.01, weightDecay: 5e-4 }, { guard: model.nonTrainableWeights });
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    opt.setLearningRate(0.1 * 0.5 * (1 + Math.cos((Math.PI * step) / steps))); // cosine schedule
    const loss = opt.minimize(lossFn, true, vars)!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  opt.dispose();
  model.dispose();
  return losses;
}
