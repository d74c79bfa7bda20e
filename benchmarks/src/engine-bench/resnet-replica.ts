/**
 * ResNet-20 replica for the data-parallel figures of `bench:engine` (loaded by @asam/engine's
 * worker_threads trainer): `buildModel('resnet20')` from @asam/vision with a fixed seed, so every
 * worker starts from identical weights; softmax cross-entropy; momentum SGD applies the averaged gradient.
 * With `method: 'sam' | 'asam'` it also perturbs and restores for two-round steps with @asam/core's
 * `perturbWeights`: ε from the averaged clean gradient (exact SAM/ASAM over the global batch), w and the
 * BatchNorm moving statistics restored exactly after the perturbed pass, as the trainers do.
 */
import { perturbWeights, resolveSharpnessConfig, type SharpnessConfig } from '@asam/core';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';

export function createReplica(options: { lr?: number; sharpness?: SharpnessConfig } = {}) {
  const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
  const loss = (batch: Record<string, tf.Tensor>): tf.Scalar => {
    const logits = built.model.apply(batch['x'] as tf.Tensor4D, { training: true }) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(batch['y'] as tf.Tensor1D, 10), logits) as tf.Scalar;
  };
  const base = { vars: built.trainable, optimizer: tf.train.momentum(options.lr ?? 0.05, 0.9), loss };
  const sharpness = options.sharpness;
  if (sharpness === undefined || resolveSharpnessConfig(sharpness).method === 'none') return base;
  let restoreWeights: (() => void) | null = null;
  return {
    ...base,
    perturb(meanGrads: tf.Tensor[]): void {
      if (restoreWeights !== null) throw new Error('resnet replica: perturb called twice without restore');
      restoreWeights = perturbWeights(meanGrads, built.trainable, sharpness, { guard: built.bnStats });
    },
    restore(): void {
      if (restoreWeights === null) throw new Error('resnet replica: restore called without perturb');
      const restore = restoreWeights;
      restoreWeights = null;
      restore();
    },
  };
}
