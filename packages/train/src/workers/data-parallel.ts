/**
 * Data-parallel steps (`workers > 1`): the batch is cut into contiguous near-equal row shards, one per worker thread
 * (each its own wasm engine, i.e. its own core; see data-parallel-worker.ts). The main thread keeps the only copy of
 * the training state — weights, statistics, optimizer — and sends weights and statistics with every shard.
 *
 * A step is driven through @asam/core's phases (`optimizer.beginStep`): the workers only take gradients at the weights
 * they are sent, the main thread averages them and hands them to the step. With shard weights W_k (Σ W_k = W, e.g.
 * images or target tokens) and shares a_k = W_k / W:
 *   1. every worker: g_k = ∇L_k(w) (mean loss of its shard); ḡ = Σ a_k g_k = ∇L(w) of the whole batch;
 *   2. SAM/ASAM steps: `step.ascend(ḡ)` takes the main thread's weights to w + ε(ḡ); every worker takes
 *      g'_k = ∇L_k(w + ε) at those weights; `step.descend(ḡ')` with ḡ' = Σ a_k g'_k restores w exactly and applies
 *      ḡ' with clipping, weight decay and the base optimizer; plain steps: `step.descend(ḡ)`.
 * This is the single-thread step with micro-batches equal to the shards; statistics (BatchNorm) become the
 * share-weighted mean of the workers' updated statistics — after the clean pass, or with `bnStatistics:
 * 'both-passes'` after both passes (each worker's perturbed pass starting from the mean after the clean pass, which
 * gives the same mean, the update being linear in the statistics).
 *
 * With m-sharpness (`mSharpness: m`, SAM/ASAM steps) the batch is cut into m·K slices, slice i·K + k going to worker k
 * for part i, as the single-thread step with m parts of K micro-batches cuts it; parts run one after the other, each
 * with its own ascend from its own clean gradient ḡ_i = Σ_k (W_ik / W_i) g_ik, and descend(ḡ'_i, share W_i / W).
 * Statistics carry from one part to the next, as they do through the single-thread step's parts.
 */
import type { SharpnessAwareOptimizer } from '@asam/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, ReplicaSpec, TaskModel } from '../task.ts';
import type { HostTensor, PassRequest, PassResult, WorkerOptions } from './data-parallel-worker.ts';
import { createWorkerPool, type WorkerPool } from './worker-pool.ts';
import { siblingModule } from '../module-url.ts';

/** Contiguous near-equal row ranges: part k of `parts` is [⌊k·n/K⌋, ⌊(k+1)·n/K⌋). */
export function sliceBounds(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, k) => [Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)]);
}

/** Rows [lo, hi) of every tensor of a batch (new tensors). */
export function sliceTensors(tensors: Record<string, tf.Tensor>, lo: number, hi: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = tf.slice(t, [lo, ...t.shape.slice(1).map(() => 0)], [hi - lo, ...t.shape.slice(1).map(() => -1)]);
  return out;
}

/** Σ a_k v_k over the workers, per tensor. */
function weightedMean(parts: Float32Array[][], weights: number[]): Float32Array[] {
  const first = parts[0]!;
  return first.map((_, i) => {
    const out = new Float32Array(first[i]!.length);
    parts.forEach((p, k) => {
      const a = weights[k]!;
      const v = p[i]!;
      for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + a * (v[j] as number);
    });
    return out;
  });
}

/** The result of one data-parallel step: the clean pass's mean loss and metric sums. */
export interface ParallelStep {
  loss: number;
  sums: Record<string, number>;
}

export interface DataParallel {
  readonly workers: number;
  /** One step on `batch` at global step `step`; applies the update to `model` through `optimizer`. */
  step(batch: Batch, step: number): Promise<ParallelStep>;
  close(): Promise<void>;
}

/** Host copies of variables' values. */
async function hostValues(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

/** Tensors of host arrays in the shapes of `like` (the caller disposes them). */
function tensorsLike(arrays: Float32Array[], like: tf.Variable[]): tf.Tensor[] {
  return arrays.map((a, i) => tf.tensor(a, like[i]!.shape));
}

/** Starts `workers` threads, each building `replica` (the same model as `model`), for steps through `optimizer`. */
export async function createDataParallel(model: TaskModel, optimizer: SharpnessAwareOptimizer, replica: ReplicaSpec,
  workers: number, backend: 'wasm' | 'cpu'): Promise<DataParallel> {
  const options: WorkerOptions = { replica: { module: replica.module.href, options: replica.options } };
  const pool: WorkerPool = await createWorkerPool({ module: siblingModule('./data-parallel-worker', import.meta.url), options, workers, backend });
  return {
    workers,
    async step(batch, step) {
      const n = batch.rows;
      const phases = optimizer.beginStep(model.trainable);
      try {
        // m-sharpness parts (SAM/ASAM steps), each cut over the workers
        const parts = phases.parts;
        const perturb = phases.perturbs;
        if (n < parts * workers) {
          throw new Error(parts === 1
            ? `data-parallel step: a batch of ${n} rows cannot be split over ${workers} workers; use a batch size >= workers`
            : `data-parallel step: a batch of ${n} rows cannot be split into mSharpness ${parts} parts over ${workers} workers; use a batch size >= ${parts * workers}`);
        }
        const bounds = sliceBounds(n, parts * workers);
        const shards = await Promise.all(bounds.map(async ([lo, hi]) => {
          const t = sliceTensors(batch.tensors, lo, hi);
          try {
            const host: Record<string, HostTensor> = {};
            for (const [k, v] of Object.entries(t)) host[k] = { data: (await v.data()) as Float32Array | Int32Array, shape: v.shape.slice(), dtype: v.dtype as HostTensor['dtype'] };
            return { host, weight: model.weightOf(t) };
          } finally {
            tf.dispose(Object.values(t));
          }
        }));
        const total = shards.reduce((s, x) => s + x.weight, 0);
        const bothPasses = optimizer.config.bnStatistics === 'both-passes';
        const setStatistics = (results: PassResult[], share: number[]): void => {
          if (model.statistics.length === 0) return;
          const mean = weightedMean(results.map((r) => r.statistics), share);
          tf.tidy(() => model.statistics.forEach((v, j) => v.assign(tf.tensor(mean[j]!, v.shape))));
        };
        /**
         * The pass the step expects next (`phases.pass`: 'clean' before ascend, 'perturbed' after) over the part's shards,
         * at the main thread's current weights (w, or w + ε after ascend) and statistics; the share-weighted mean gradient.
         */
        const pass = async (part: typeof shards, i: number, share: number[]): Promise<{ results: PassResult[]; grad: tf.Tensor[] }> => {
          const which = phases.pass;
          const weights = await hostValues(model.trainable);
          const statistics = await hostValues(model.statistics);
          const results = await pool.all<PassResult>('pass', (k): PassRequest => ({
            weights, statistics, ctx: { step, pass: which, part: i * workers + k, parts: parts * workers },
            ...(which === 'clean' ? { tensors: part[k]!.host } : {}), keep: which === 'clean' && perturb,
          }));
          return { results, grad: tensorsLike(weightedMean(results.map((r) => r.grads), share), model.trainable) };
        };
        let loss = 0;
        const sums: Record<string, number> = {};
        for (let i = 0; i < parts; i++) {
          const part = shards.slice(i * workers, (i + 1) * workers);
          const partWeight = part.reduce((s, x) => s + x.weight, 0);
          const share = part.map((x) => x.weight / partWeight);
          const clean = await pass(part, i, share);
          loss = clean.results.reduce((s, r, k) => s + (part[k]!.weight / total) * r.loss, loss);
          for (const r of clean.results) for (const [name, v] of Object.entries(r.sums)) sums[name] = (sums[name] ?? 0) + v;
          setStatistics(clean.results, share);
          if (!perturb) {
            try {
              phases.descend(clean.grad);
            } finally {
              tf.dispose(clean.grad);
            }
            break;
          }
          try {
            phases.ascend(clean.grad);
          } finally {
            tf.dispose(clean.grad);
          }
          const perturbed = await pass(part, i, share);
          try {
            phases.descend(perturbed.grad, parts === 1 ? {} : { share: partWeight / total });
          } finally {
            tf.dispose(perturbed.grad);
          }
          if (bothPasses) setStatistics(perturbed.results, share);
        }
        return { loss, sums };
      } finally {
        // a step that failed part-way leaves w as it was (restored) and frees what the step held
        if (!phases.done) phases.abort();
      }
    },
    close: () => pool.close(),
  };
}
