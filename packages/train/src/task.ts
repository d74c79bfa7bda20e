/**
 * What a task supplies to the training runtime ({@link train}): its model and loss ({@link TaskModel}), its data
 * (`batches`) and its evaluation. Everything else — the run folder, checkpoints, resume, the learning-rate schedule,
 * micro-batching, data-parallel workers, divergence checks and progress — belongs to the runtime.
 *
 * A batch is a set of tensors that share their first dimension (the rows: images, sentence pairs) plus its weight in
 * the epoch's mean loss (images, target tokens). The runtime cuts a batch into row slices for micro-batches and for
 * workers; the task's `forward` returns the mean loss of whatever rows it is given, and `weightOf` says how much a
 * slice weighs, so a slice's loss enters the step as (its weight / the batch's weight) of the whole.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { SharpnessAwareOptimizer } from '@asam/core';

/** Tensors of one batch, all with the rows on their first dimension. */
export type BatchTensors = Record<string, tf.Tensor>;

/** One training batch. */
export interface Batch {
  readonly tensors: BatchTensors;
  /** Rows (the first dimension of every tensor). */
  readonly rows: number;
  /** Weight in the epoch's mean training loss and in throughput (images, target tokens). */
  readonly weight: number;
}

/** Which forward pass of a step the task is asked for. */
export interface PassContext {
  /** Global step, 0-based. */
  step: number;
  /** 'clean': at w; 'perturbed': at w + ε (SAM/ASAM steps only). */
  pass: 'clean' | 'perturbed';
  /** Which slice of the batch (micro-batch or worker shard), of how many; 0 of 1 for a whole batch. */
  part: number;
  parts: number;
}

/** What one forward pass returns. */
export interface ForwardResult {
  /** Mean loss of the rows given (the quantity the optimizer minimises). */
  loss: tf.Scalar;
  /**
   * Sums over the rows of training metrics, e.g. `{ acc: number of correct predictions }`; the runtime divides the
   * epoch's sums by the epoch's weight and reports them as `train_<name>`. Read from the clean pass only.
   */
  sums?: Record<string, tf.Scalar>;
}

/** A variable with the stable name it has in checkpoints. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

/**
 * The model side of a task: built on the main thread and, for data-parallel training, again in every worker thread
 * (from the same options), so it must not hold data.
 */
export interface TaskModel {
  /** Every variable a checkpoint stores (trainable weights and statistics), named independently of the tfjs instance. */
  readonly variables: readonly NamedVariable[];
  readonly trainable: tf.Variable[];
  /**
   * Non-trainable state a training pass writes (BatchNorm moving statistics): guarded during the perturbed pass so it
   * comes from the clean pass only, and averaged over workers. Empty when the model has none.
   */
  readonly statistics: tf.Variable[];
  /** Trainable parameters (a count for result.json). */
  readonly trainableParams: number;
  /** Mean loss (and metric sums) of `tensors` in training mode. Called inside the optimizer's gradient tape. */
  forward(tensors: BatchTensors, ctx: PassContext): ForwardResult;
  /** Weight of rows `tensors` (a slice of a batch): rows for images, non-padding target tokens for translation. */
  weightOf(tensors: BatchTensors): number;
  dispose(): void;
}

/** How a worker thread builds the same {@link TaskModel}: `module` exports `createTaskModel(options)`. */
export interface ReplicaSpec {
  module: URL;
  /** Structured-cloneable; the worker passes it to `createTaskModel`. */
  options: unknown;
}

/** One evaluation (end of epoch). */
export interface Evaluation {
  /** Metrics without the split prefix, e.g. `{ loss, acc }` or `{ loss, bleu, nll }`; the runtime writes `<split>_<name>`. */
  metrics: Record<string, number | null>;
  /** Writes what this evaluation leaves in the run folder: `last` after every epoch, `best` when it is the best so far. */
  save?(kind: 'last' | 'best'): Promise<void>;
}

/** What a task may report after a completed run (e.g. the test score of the best weights). */
export interface FinalTest {
  /** Metrics of the final test, written to result.json `test` and, as `test_<headline>`, its `final`. */
  metrics: Record<string, number>;
  /** The metric that is the run's final figure. */
  headline: string;
}

/** A task: its model and optimizer, its data and its evaluation. */
export interface TrainingTask {
  readonly model: TaskModel;
  /** The sharpness-aware optimizer (method 'none' = the base optimizer) over `model.trainable`. */
  readonly optimizer: SharpnessAwareOptimizer;
  /** Name of the evaluated split, the prefix of the evaluation columns: 'test', 'valid'. */
  readonly evalSplit: string;
  /** What the batch weight counts ('images', 'tokens'): throughput columns are `<unit>_per_sec`. */
  readonly unit: string;
  /** Evaluation metric (unprefixed) that picks the best epoch; higher is better. */
  readonly bestMetric: string;
  stepsPerEpoch(epoch: number): number;
  /** Batches of `epoch` from step `startStep` on; each depends only on (seed, epoch, step), so a resume sees the same ones. */
  batches(epoch: number, startStep: number): AsyncIterable<Batch>;
  evaluate(epoch: number): Promise<Evaluation>;
  /** After a completed run: a final test (e.g. with the best weights). */
  finalTest?(best: { epoch: number } | null): Promise<FinalTest | null>;
  /** Facts for result.json `task` (model, method, data sizes, …). */
  summary(): Record<string, unknown>;
  /** How workers rebuild the model; without it the task trains in one thread only. */
  readonly replica?: ReplicaSpec;
}
