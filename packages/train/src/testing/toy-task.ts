/**
 * A small task for tests of the runtime and of code built on it: softmax regression (x [n, d] → k classes) with an
 * optional per-feature "statistics" variable (a running mean of the inputs, written by every training pass, the way
 * BatchNorm writes its moving statistics), on data that depends only on a seed. It is also its own replica module
 * (`createTaskModel`), so data-parallel workers can build it.
 */
import { sharpnessAware, type SharpnessConfig } from '@asam/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Evaluation, TaskModel, TrainingTask } from '../task.ts';

export interface ToyModelOptions {
  features: number;
  classes: number;
  seed: number;
  /** Keep a running mean of the inputs as model statistics (momentum 0.9). */
  statistics?: boolean;
}

/** Deterministic pseudo-random numbers in [-1, 1) (a linear congruential generator: test data only). */
function values(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761 + 12345) >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

let instances = 0;

/** The toy model: W [d, k], b [k], optional statistics [d]. */
export function createTaskModel(o: ToyModelOptions): TaskModel {
  const scope = `toy_${instances++}`; // tfjs variable names are unique per process; checkpoints use the names below
  const w = tf.tidy(() => tf.variable(tf.mul(tf.tensor2d(values(o.features * o.classes, o.seed), [o.features, o.classes]), 0.1), true, `${scope}/kernel`));
  const b = tf.tidy(() => tf.variable(tf.zeros([o.classes]), true, `${scope}/bias`));
  const stats = o.statistics ? [tf.tidy(() => tf.variable(tf.zeros([o.features]), false, `${scope}/moving_mean`))] : [];
  return {
    variables: [{ name: 'kernel', variable: w }, { name: 'bias', variable: b }, ...stats.map((v) => ({ name: 'moving_mean', variable: v }))],
    trainable: [w, b],
    statistics: stats,
    trainableParams: w.size + b.size,
    forward(t) {
      const x = t['x'] as tf.Tensor2D;
      const y = t['y'] as tf.Tensor1D;
      if (stats[0]) stats[0].assign(tf.add(tf.mul(stats[0], 0.9), tf.mul(tf.mean(x, 0), 0.1)));
      const logits = tf.add(tf.matMul(x, w), b) as tf.Tensor2D;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')) as tf.Scalar;
      return { loss: tf.losses.softmaxCrossEntropy(tf.oneHot(y, o.classes), logits) as tf.Scalar, sums: { acc: correct } };
    },
    weightOf: (t) => t['y']!.shape[0]!,
    dispose: () => tf.dispose([w, b, ...stats]),
  };
}

export interface ToyTaskOptions extends ToyModelOptions {
  /** Training rows and rows per batch. */
  rows: number;
  batchSize: number;
  /** Validation rows. */
  validRows?: number;
  sharpness?: SharpnessConfig;
  lr?: number;
}

/** Labels are the argmax of a fixed random projection of x, so the task is learnable. */
function dataset(rows: number, o: ToyModelOptions, seed: number): { x: Float32Array; y: Int32Array } {
  const x = values(rows * o.features, seed);
  const proj = values(o.features * o.classes, 999);
  const y = Int32Array.from({ length: rows }, (_, i) => {
    let best = 0;
    let bestV = -Infinity;
    for (let k = 0; k < o.classes; k++) {
      let v = 0;
      for (let j = 0; j < o.features; j++) v += x[i * o.features + j]! * proj[j * o.classes + k]!;
      if (v > bestV) { bestV = v; best = k; }
    }
    return best;
  });
  return { x, y };
}

/** A toy training task: batches in a seeded order per epoch, validation loss and accuracy. */
export function toyTask(o: ToyTaskOptions): TrainingTask {
  const model = createTaskModel(o);
  const optimizer = sharpnessAware(tf.train.momentum(o.lr ?? 0.5, 0.9), o.sharpness ?? { method: 'none', rho: 0 }, { guard: model.statistics });
  const train = dataset(o.rows, o, o.seed + 1);
  const valid = dataset(o.validRows ?? 64, o, o.seed + 2);
  const steps = Math.ceil(o.rows / o.batchSize);
  const order = (epoch: number): number[] => {
    const idx = Array.from({ length: o.rows }, (_, i) => i);
    const r = values(o.rows, o.seed * 7919 + epoch);
    return idx.sort((a, b) => r[a]! - r[b]! || a - b);
  };
  const rowsOf = (ids: number[]): Batch => ({
    tensors: {
      x: tf.tensor2d(Float32Array.from(ids.flatMap((i) => Array.from(train.x.subarray(i * o.features, (i + 1) * o.features)))), [ids.length, o.features]),
      y: tf.tensor1d(Int32Array.from(ids.map((i) => train.y[i]!)), 'int32'),
    },
    rows: ids.length,
    weight: ids.length,
  });
  return {
    model, optimizer, evalSplit: 'valid', unit: 'rows', bestMetric: 'acc',
    replica: { module: new URL(import.meta.url), options: { features: o.features, classes: o.classes, seed: o.seed, statistics: o.statistics } },
    stepsPerEpoch: () => steps,
    async *batches(epoch, startStep) {
      const ids = order(epoch);
      for (let s = startStep; s < steps; s++) yield rowsOf(ids.slice(s * o.batchSize, (s + 1) * o.batchSize));
    },
    async evaluate(): Promise<Evaluation> {
      const [loss, acc] = tf.tidy(() => {
        const x = tf.tensor2d(valid.x, [valid.y.length, o.features]);
        const y = tf.tensor1d(valid.y, 'int32');
        const [w, b] = model.trainable as [tf.Variable, tf.Variable];
        const logits = tf.add(tf.matMul(x, w), b) as tf.Tensor2D;
        return [tf.losses.softmaxCrossEntropy(tf.oneHot(y, o.classes), logits).dataSync()[0]!, tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')).dataSync()[0]!];
      });
      return { metrics: { loss, acc } };
    },
    summary: () => ({ kind: 'toy', rows: o.rows }),
  };
}
