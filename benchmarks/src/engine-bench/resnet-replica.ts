/**
 * ResNet-20 replica for the data-parallel figure of `bench:engine` (loaded by @asam/engine's
 * worker_threads trainer): `buildModel('resnet20')` from @asam/vision with a fixed seed, so every
 * worker starts from identical weights; softmax cross-entropy; momentum SGD applies the averaged gradient.
 */
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';

/** Builds the replica: trainable variables, optimizer and the loss of one shard `{ x, y }`. */
export function createReplica(options: { lr?: number } = {}) {
  const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
  const loss = (batch: Record<string, tf.Tensor>): tf.Scalar => {
    const logits = built.model.apply(batch['x'] as tf.Tensor4D, { training: true }) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(batch['y'] as tf.Tensor1D, 10), logits) as tf.Scalar;
  };
  return { vars: built.trainable, optimizer: tf.train.momentum(options.lr ?? 0.05, 0.9), loss };
}
