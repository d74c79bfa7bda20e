/**
 * ResNet-20 for the data-parallel figures of `bench:engine`, as a @asam/train `TaskModel`: built on the main thread
 * and, from the same options, in every worker thread of `createDataParallel` (this module is the replica module the
 * workers import). `buildModel('resnet20')` from @asam/vision with a fixed seed, so every copy starts from identical
 * weights; mean softmax cross-entropy over the images given; the BatchNorm moving statistics are the `statistics`
 * (taken from the clean pass and averaged over the workers by the runtime). A batch is `x` [n, 32, 32, 3] float32
 * and `y` [n] int32; a slice weighs its number of images. SAM/ASAM arithmetic is @asam/core's, run by the runtime.
 */
import type { TaskModel } from '@asam/train';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';

/** What builds the replica (structured-cloneable: worker threads receive it). */
export interface ResNetReplicaOptions {
  /** Seed of the He initialisation (default 1). */
  seed?: number;
}

const NUM_CLASSES = 10;

export function createTaskModel(options: ResNetReplicaOptions = {}): TaskModel {
  const built = buildModel('resnet20', { numClasses: NUM_CLASSES, seed: options.seed ?? 1 });
  const local = (name: string): string => (name.startsWith(`${built.prefix}.`) ? name.slice(built.prefix.length + 1) : name);
  return {
    variables: built.all.map((v) => ({ name: local(v.name), variable: v })),
    trainable: built.trainable,
    statistics: built.bnStats,
    trainableParams: built.trainableParams,
    forward(t) {
      const logits = built.model.apply(t['x'] as tf.Tensor4D, { training: true }) as tf.Tensor2D;
      return { loss: tf.losses.softmaxCrossEntropy(tf.oneHot(t['y'] as tf.Tensor1D, NUM_CLASSES), logits) as tf.Scalar };
    },
    weightOf: (t) => (t['y'] as tf.Tensor).shape[0]!,
    dispose: () => built.dispose(),
  };
}
