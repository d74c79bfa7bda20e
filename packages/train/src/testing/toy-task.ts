/**
 * A small task for tests of the runtime and of code built on it: softmax regression (x [n, d] → k classes) with an
 * optional per-feature "statistics" variable (a running mean of the inputs, written by every training pass, the way
 * BatchNorm writes its moving statistics), on data that depends only on a seed. It is also its own replica module
 * (`createTaskModel`), so data-parallel workers can build it.
 */
import { sharpnessAware, type SharpnessConfig } from '@asam/core';
import * as tf from '@tensorflow/tfjs-core';
import { refuseRuntimeFields } from '../runtime-config.ts';
import { constantSchedule } from '../schedules.ts';
import { ConfigError } from '../schema.ts';
import type { MetricVocabulary, TaskRun, TaskSpec } from '../task-spec.ts';
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

/** The toy task's config section (config.json `config` of a toy run). */
export interface ToyTaskConfig {
  features: number;
  classes: number;
  seed: number;
  rows: number;
  batchSize: number;
  validRows: number;
  statistics: boolean;
  method: 'none' | 'sam' | 'asam';
  rho: number;
  lr: number;
}

const TOY_DEFAULTS: ToyTaskConfig = { features: 6, classes: 3, seed: 0, rows: 40, batchSize: 8, validRows: 32, statistics: true, method: 'asam', rho: 0.5, lr: 0.5 };

/** What the toy task's numbers mean (result.json `metrics` of a toy run). */
export const TOY_METRICS: MetricVocabulary = {
  evalSplit: 'valid', best: 'valid_acc', headline: 'valid_acc', train: 'train_acc', plateau: { column: 'train_acc', tolerance: 1 },
  examples: 'validation rows', unit: 'rows',
  metrics: [
    { column: 'train_loss', label: 'train loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'train_acc', label: 'train accuracy (%)', goal: 'max', scale: 100, digits: 1, unit: 'points' },
    { column: 'valid_loss', label: 'valid loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'valid_acc', label: 'valid accuracy (%)', goal: 'max', scale: 100, digits: 1, unit: 'points' },
  ],
};

/**
 * The toy task as a registered task (a {@link TaskSpec}): how a new task plugs into `runTask` — a config section
 * with its defaults, a metric vocabulary, and `createTask`. Its id is `toy` unless `id` says otherwise.
 */
export function toyTaskSpec(id = 'toy'): TaskSpec<ToyTaskConfig> {
  return {
    id, title: 'softmax regression on seeded toy data (tests)', metrics: TOY_METRICS, artifacts: [], scheduleSpansRun: false,
    parseConfig(raw, source) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('', raw, 'an object', source);
      refuseRuntimeFields(raw as Record<string, unknown>, source);
      for (const [k, v] of Object.entries(raw)) {
        if (!(k in TOY_DEFAULTS)) throw new ConfigError(k, v, `one of the toy task's fields (${Object.keys(TOY_DEFAULTS).join(', ')})`, source);
        if (typeof v !== typeof TOY_DEFAULTS[k as keyof ToyTaskConfig]) throw new ConfigError(k, v, `a ${typeof TOY_DEFAULTS[k as keyof ToyTaskConfig]}`, source);
      }
      return { ...TOY_DEFAULTS, ...(raw as Partial<ToyTaskConfig>) };
    },
    runtimeDefaults: () => ({ epochs: 3 }),
    async createTask(c): Promise<TaskRun> {
      const task = toyTask({ ...c, sharpness: { method: c.method, rho: c.rho } });
      return {
        task, schedule: constantSchedule(c.lr),
        dispose: () => { task.optimizer.dispose(); task.model.dispose(); },
      };
    },
  };
}
