/**
 * Data-parallel steps for the image trainer (`workers > 1`): the batch is cut into contiguous
 * near-equal shards, one per worker_thread (each its own wasm engine, i.e. its own core; see
 * parallel-worker.ts). The main thread keeps the only copy of the training state — weights,
 * BatchNorm statistics, optimizer — and sends weights and statistics with every shard.
 *
 * One step, with shard sizes n_k (Σ n_k = n) and size weights a_k = n_k / n:
 *   1. every worker: g_k = ∇L_k(w) (mean loss of its shard); ḡ = Σ a_k g_k = ∇L(w) of the whole batch;
 *   2. SAM/ASAM steps: every worker computes the same ε(ḡ) with @asam/core's `perturbWeights` (the ε of
 *      `sharpnessAwareGradients` for the clean gradient ḡ) and g'_k = ∇L_k(w + ε); ḡ' = Σ a_k g'_k;
 *   3. the main thread applies ḡ' (or ḡ) with clipping, weight decay and the base optimizer
 *      (`SharpnessAwareOptimizer.applyDescent`).
 * This is the whole-batch step of the single-process trainer with `microBatch` = the shard size
 * (BatchNorm normalises over each shard); the moving statistics become the size-weighted mean of the
 * workers' updated statistics.
 */
import type { SharpnessAwareOptimizer } from '@asam/core';
import { createWorkerPool, type WorkerPool } from '@asam/engine';
import * as tf from '@tensorflow/tfjs-core';
import type { BuiltModel } from '../models/registry.ts';
import type { CleanRequest, CleanResult, ParallelWorkerOptions, ShardResult } from './parallel-worker.ts';

export interface ParallelStepResult { loss: number; correct: number }

export interface ParallelTrainer {
  readonly workers: number;
  /** One step on a batch (x [n, H, W, C] float32, y [n] int32); applies the update to `built` through `opt`. */
  step(x: tf.Tensor4D, y: tf.Tensor1D, dropoutSeeds: () => number): Promise<ParallelStepResult>;
  close(): Promise<void>;
}

/** Contiguous near-equal shard bounds: shard k is [⌊k·n/K⌋, ⌊(k+1)·n/K⌋). */
export function shardBounds(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, k) => [Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)]);
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

export async function createParallelTrainer(built: BuiltModel, opt: SharpnessAwareOptimizer, workers: number,
  options: ParallelWorkerOptions, backend: 'wasm' | 'cpu'): Promise<ParallelTrainer> {
  const pool: WorkerPool = await createWorkerPool({
    module: new URL('./parallel-worker.ts', import.meta.url), options, workers, backend,
  });
  return {
    workers,
    async step(x, y, dropoutSeeds) {
      const n = x.shape[0];
      if (n < workers) throw new Error(`data-parallel step: a batch of ${n} images cannot be split over ${workers} workers; use batchSize >= workers`);
      const [h, w, c] = [x.shape[1], x.shape[2], x.shape[3]];
      const xs = (await x.data()) as Float32Array;
      const ys = (await y.data()) as Int32Array;
      const weights = await Promise.all(built.trainable.map(async (v) => (await v.data()) as Float32Array));
      const bn = await Promise.all(built.bnStats.map(async (v) => (await v.data()) as Float32Array));
      const bounds = shardBounds(n, workers);
      const share = bounds.map(([lo, hi]) => (hi - lo) / n);
      const perturb = opt.nextStepPerturbs;
      const seeds = bounds.map(() => dropoutSeeds());
      const clean = await pool.all<CleanResult>('clean', (k): CleanRequest => {
        const [lo, hi] = bounds[k]!;
        return {
          weights, bn, x: xs.slice(lo * h * w * c, hi * h * w * c), xShape: [hi - lo, h, w, c], y: ys.slice(lo, hi),
          dropoutSeed: seeds[k]!, keep: perturb,
        };
      });
      const loss = clean.reduce((s, r, k) => s + share[k]! * r.loss, 0);
      const correct = clean.reduce((s, r) => s + r.correct, 0);
      let descent = weightedMean(clean.map((r) => r.grads), share);
      if (perturb) {
        const pert = await pool.all<ShardResult>('perturbed', () => ({ grad: descent }));
        descent = weightedMean(pert.map((r) => r.grads), share);
      }
      const stats = weightedMean(clean.map((r) => r.bn), share);
      tf.tidy(() => built.bnStats.forEach((v, i) => v.assign(tf.tensor(stats[i]!, v.shape))));
      const g = descent.map((a, i) => tf.tensor(a, built.trainable[i]!.shape));
      try {
        opt.applyDescent(built.trainable, g);
      } finally {
        tf.dispose(g);
      }
      return { loss, correct };
    },
    close: () => pool.close(),
  };
}
