/**
 * ResNet-20 replica for the data-parallel figures of `bench:engine` (loaded by @asam/engine's
 * worker_threads trainer): `buildModel('resnet20')` from @asam/vision with a fixed seed, so every
 * worker starts from identical weights; softmax cross-entropy; momentum SGD applies the averaged gradient.
 * With `method: 'sam' | 'asam'` it also perturbs and restores for two-round steps: ε from the averaged
 * clean gradient by @asam/core's `perturbation` (exact SAM/ASAM over the global batch), BatchNorm
 * moving statistics restored after the perturbed pass as the trainers do.
 */
import { perturbation, ruleFromConfig, type SharpnessConfig } from '@asam/core';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';

export function createReplica(options: { lr?: number; sharpness?: SharpnessConfig } = {}) {
  const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
  const loss = (batch: Record<string, tf.Tensor>): tf.Scalar => {
    const logits = built.model.apply(batch['x'] as tf.Tensor4D, { training: true }) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(batch['y'] as tf.Tensor1D, 10), logits) as tf.Scalar;
  };
  const base = { vars: built.trainable, optimizer: tf.train.momentum(options.lr ?? 0.05, 0.9), loss };
  const rule = options.sharpness ? ruleFromConfig(options.sharpness) : null;
  if (rule === null) return base;
  let saved: tf.Tensor[] = [];
  let guarded: tf.Tensor[] = [];
  return {
    ...base,
    perturb(meanGrads: tf.Tensor[]): void {
      saved = built.trainable.map((v) => tf.clone(v));
      guarded = built.bnStats.map((s) => tf.clone(s));
      const eps = perturbation(meanGrads, built.trainable, rule);
      built.trainable.forEach((v, i) => tf.tidy(() => v.assign(tf.add(v, eps[i]!))));
      tf.dispose(eps);
    },
    restore(): void {
      built.trainable.forEach((v, i) => v.assign(saved[i]!));
      built.bnStats.forEach((s, i) => s.assign(guarded[i]!));
      tf.dispose([...saved, ...guarded]);
      saved = [];
      guarded = [];
    },
  };
}
