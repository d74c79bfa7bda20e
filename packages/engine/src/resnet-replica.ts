/** ResNet-20 replica for data-parallel runs (bench:engine): seeded init, momentum SGD. */
import * as tf from '@tensorflow/tfjs-core';
import { buildCifarResNet, classificationLoss } from './models.ts';

/** Builds ResNet-20 (identical weights in every worker: seeded initialisers) and its loss. */
export function createReplica(options: { lr?: number } = {}) {
  const model = buildCifarResNet({ depth: 20, seed: 1 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = (batch: Record<string, tf.Tensor>) =>
    classificationLoss(model.apply(batch['x'] as tf.Tensor, { training: true }) as tf.Tensor, batch['y'] as tf.Tensor1D, 10);
  return { vars, optimizer: tf.train.momentum(options.lr ?? 0.05, 0.9), loss };
}
