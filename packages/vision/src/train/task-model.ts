/**
 * Image classification as a model for @asam/train: a registry model, softmax cross-entropy with label smoothing
 * (mean over the images given), and the number of correct predictions as the training metric `acc`. Batches hold
 * `x` [n, H, W, C] float32 and `y` [n] int32; a slice weighs its number of images.
 *
 * Dropout masks are a function of (seed, step, part) and, under `perturbedDropout: 'resample'`, the pass
 * (@asam/train's `dropoutStream`), so a resumed run, a run with micro-batches and a data-parallel run with the same
 * slices draw the same masks; under 'reuse' (the default) both passes of a SAM/ASAM step draw the same masks. This module is also the replica module the runtime's
 * worker threads load (`createTaskModel`).
 */
import { Rng } from '@asam/data';
import { dropoutStream, type PassContext, type PerturbedDropout, type TaskModel } from '@asam/train';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel, type BuiltModel } from '../models/registry.ts';

/** What builds the model (structured-cloneable: worker threads receive it). */
export interface ClassifierModelOptions {
  model: string;
  numClasses: number;
  inputShape: [number, number, number];
  seed: number;
  dropout: number;
  labelSmoothing: number;
  /** Dropout masks of the perturbed pass: 'reuse' the clean pass's or 'resample' (the config's `optimizer.perturbedDropout`). */
  perturbedDropout: PerturbedDropout;
}

/** A classifier model for the runtime, with the built registry model for evaluation. */
export interface ClassifierTaskModel extends TaskModel {
  readonly built: BuiltModel;
}

function stripPrefix(name: string, prefix: string): string {
  return name.startsWith(`${prefix}.`) ? name.slice(prefix.length + 1) : name;
}

/** Builds the model of {@link ClassifierModelOptions}; weights depend on `seed` only. */
export function createTaskModel(o: ClassifierModelOptions): ClassifierTaskModel {
  const built = buildModel(o.model, { numClasses: o.numClasses, inputShape: o.inputShape, seed: o.seed, dropout: o.dropout });
  const seedDropout = (ctx: PassContext): void => {
    const rng = Rng.derive(o.seed, 0x0d70, ctx.step, ctx.part, dropoutStream(ctx, o.perturbedDropout));
    built.setDropoutSeeds({ nextSeed: () => rng.nextU32() });
  };
  return {
    built,
    variables: built.all.map((v) => ({ name: stripPrefix(v.name, built.prefix), variable: v })),
    trainable: built.trainable,
    statistics: built.bnStats,
    trainableParams: built.trainableParams,
    forward(t, ctx) {
      seedDropout(ctx);
      const x = t['x'] as tf.Tensor4D;
      const y = t['y'] as tf.Tensor1D;
      const logits = built.model.apply(x, { training: true }) as tf.Tensor2D;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')) as tf.Scalar;
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, o.numClasses), logits, undefined, o.labelSmoothing) as tf.Scalar;
      return { loss, sums: { acc: correct } };
    },
    weightOf: (t) => (t['y'] as tf.Tensor).shape[0]!,
    dispose: () => built.dispose(),
  };
}
