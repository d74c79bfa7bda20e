/**
 * Data-parallel steps (`workers > 1`): the batch is cut into contiguous near-equal row shards, one per worker thread
 * (each its own wasm engine, i.e. its own core; see data-parallel-worker.ts). The main thread keeps the only copy of
 * the training state — weights, statistics, optimizer — and sends weights and statistics with every shard.
 *
 * One step, with shard weights W_k (Σ W_k = W, e.g. images or target tokens) and shares a_k = W_k / W:
 *   1. every worker: g_k = ∇L_k(w) (mean loss of its shard); ḡ = Σ a_k g_k = ∇L(w) of the whole batch;
 *   2. SAM/ASAM steps: every worker computes the same ε(ḡ) with @asam/core's `perturbWeights` and g'_k = ∇L_k(w + ε);
 *      ḡ' = Σ a_k g'_k;
 *   3. the main thread applies ḡ' (or ḡ) with clipping, weight decay and the base optimizer
 *      (`SharpnessAwareOptimizer.applyDescent`).
 * This is the single-thread step with micro-batches equal to the shards; statistics (BatchNorm) become the
 * share-weighted mean of the workers' updated statistics — after the clean pass, or with `bnStatistics:
 * 'both-passes'` after both passes.
 *
 * With m-sharpness (`mSharpness: m`, SAM/ASAM steps) the batch is cut into m·K slices, slice i·K + k going to worker k
 * for part i, as the single-thread step with m parts of K micro-batches cuts it; parts run one after the other, each
 * with its own ε(ḡ_i) from its own clean gradient ḡ_i = Σ_k (W_ik / W_i) g_ik, and ḡ' = Σ_ik (W_ik / W) g'_ik.
 * Statistics carry from one part to the next, as they do through the single-thread step's parts.
 */
import type { SharpnessAwareOptimizer } from '@asam/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, ReplicaSpec, TaskModel } from '../task.ts';
import type { CleanRequest, CleanResult, HostTensor, ShardResult } from './data-parallel-worker.ts';
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

/** Starts `workers` threads, each building `replica` (the same model as `model`), for steps through `optimizer`. */
export async function createDataParallel(model: TaskModel, optimizer: SharpnessAwareOptimizer, replica: ReplicaSpec,
  workers: number, backend: 'wasm' | 'cpu'): Promise<DataParallel> {
  const o = optimizer.config;
  if (o.normalizeParams === 'custom') {
    throw new Error("data-parallel training cannot send a custom ASAM parameter filter (normalizeParams 'custom') to its workers; use 'except-bias-and-beta' or 'all', or workers 1");
  }
  const pool: WorkerPool = await createWorkerPool({
    module: siblingModule('./data-parallel-worker', import.meta.url),
    options: {
      replica: { module: replica.module.href, options: replica.options },
      sharpness: { method: o.method, rho: o.rho, eta: o.eta, p: o.p, normalization: o.normalization, weightDecay: o.weightDecay,
        weightDecayInAscent: o.weightDecayInAscent, normalizeParams: o.normalizeParams, bnStatistics: o.bnStatistics },
    },
    workers, backend,
  });
  return {
    workers,
    async step(batch, step) {
      const n = batch.rows;
      const perturb = optimizer.nextStepPerturbs;
      // m-sharpness parts (SAM/ASAM steps), each cut over the workers
      const parts = perturb ? optimizer.config.mSharpness : 1;
      if (n < parts * workers) {
        throw new Error(parts === 1
          ? `data-parallel step: a batch of ${n} rows cannot be split over ${workers} workers; use a batch size >= workers`
          : `data-parallel step: a batch of ${n} rows cannot be split into mSharpness ${parts} parts over ${workers} workers; use a batch size >= ${parts * workers}`);
      }
      const weights = await Promise.all(model.trainable.map(async (v) => (await v.data()) as Float32Array));
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
      let loss = 0;
      const sums: Record<string, number> = {};
      const descentParts: Float32Array[][] = [];
      const descentShares: number[] = [];
      for (let i = 0; i < parts; i++) {
        const part = shards.slice(i * workers, (i + 1) * workers);
        const partWeight = part.reduce((s, x) => s + x.weight, 0);
        const share = part.map((x) => x.weight / partWeight);
        const stats = await Promise.all(model.statistics.map(async (v) => (await v.data()) as Float32Array));
        const clean = await pool.all<CleanResult>('clean', (k): CleanRequest => ({
          weights, statistics: stats, tensors: part[k]!.host, ctx: { step, pass: 'clean', part: i * workers + k, parts: parts * workers }, keep: perturb,
        }));
        loss = clean.reduce((s, r, k) => s + (part[k]!.weight / total) * r.loss, loss);
        for (const r of clean) for (const [name, v] of Object.entries(r.sums)) sums[name] = (sums[name] ?? 0) + v;
        const cleanGrad = weightedMean(clean.map((r) => r.grads), share);
        let written = clean.map((r) => r.statistics);
        if (perturb) {
          const pert = await pool.all<ShardResult>('perturbed', () => ({ grad: cleanGrad }));
          descentParts.push(...pert.map((r) => r.grads));
          if (bothPasses) written = pert.map((r) => r.statistics!);
        } else {
          descentParts.push(...clean.map((r) => r.grads));
        }
        descentShares.push(...part.map((x) => x.weight / total));
        if (model.statistics.length > 0) {
          const mean = weightedMean(written, share);
          tf.tidy(() => model.statistics.forEach((v, j) => v.assign(tf.tensor(mean[j]!, v.shape))));
        }
      }
      const descent = weightedMean(descentParts, descentShares);
      const g = descent.map((a, i) => tf.tensor(a, model.trainable[i]!.shape));
      try {
        optimizer.applyDescent(model.trainable, g);
      } finally {
        tf.dispose(g);
      }
      return { loss, sums };
    },
    close: () => pool.close(),
  };
}
