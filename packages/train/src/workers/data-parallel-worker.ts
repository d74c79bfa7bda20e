/**
 * Worker side of data-parallel training (see data-parallel.ts): a handler module of the worker pool. Each worker
 * builds the task's model with `createTaskModel(options)` of the task's replica module and, per step, receives the
 * current weights and statistics with its shard, so it keeps no training state of its own between steps.
 *
 * - `clean`: the shard's mean loss, metric sums and gradient at w; the statistics after the pass.
 * - `perturbed`: with the averaged clean gradient ḡ of all shards, @asam/core's `perturbWeights` takes w to w + ε(ḡ);
 *   the shard's gradient at w + ε; then w and (with `bnStatistics: 'clean-pass'`) the statistics are restored exactly to
 *   their post-clean values; with `'both-passes'` the statistics after this pass are sent back.
 */
import { perturbWeights, type SharpnessConfig } from '@asam/core';
import * as tf from '@tensorflow/tfjs-core';
import type { BatchTensors, PassContext, TaskModel } from '../task.ts';
import { transferring } from './worker-pool.ts';

/** A tensor as host data. */
export interface HostTensor {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface WorkerOptions {
  replica: { module: string; options: unknown };
  sharpness: SharpnessConfig;
}

export interface CleanRequest {
  weights: Float32Array[];
  statistics: Float32Array[];
  tensors: Record<string, HostTensor>;
  ctx: PassContext;
  /** Keep the shard for a `perturbed` call that follows. */
  keep: boolean;
}

export interface ShardResult {
  loss: number;
  grads: Float32Array[];
  /** The statistics after the pass: always for `clean`, for `perturbed` with `bnStatistics: 'both-passes'`. */
  statistics?: Float32Array[];
}
export interface CleanResult extends ShardResult { sums: Record<string, number>; statistics: Float32Array[] }

export async function createHandlers(o: WorkerOptions) {
  const mod = (await import(o.replica.module)) as { createTaskModel?: (options: unknown) => TaskModel | Promise<TaskModel> };
  if (typeof mod.createTaskModel !== 'function') throw new Error(`data-parallel worker: ${o.replica.module} does not export createTaskModel(options)`);
  const model = await mod.createTaskModel(o.replica.options);
  let kept: { tensors: BatchTensors; ctx: PassContext } | null = null;

  const release = (): void => {
    if (kept !== null) tf.dispose(Object.values(kept.tensors));
    kept = null;
  };
  const assignAll = (vars: tf.Variable[], values: Float32Array[], what: string): void => {
    if (values.length !== vars.length) throw new Error(`data-parallel worker: got ${values.length} ${what} tensors, the model has ${vars.length}`);
    vars.forEach((v, i) => {
      const val = values[i]!;
      if (val.length !== v.size) throw new Error(`data-parallel worker: ${what} ${i} has ${val.length} values, '${v.name}' needs ${v.size}`);
      tf.tidy(() => v.assign(tf.tensor(val, v.shape)));
    });
  };
  const gradArrays = (grads: tf.NamedTensorMap): Float32Array[] => model.trainable.map((v) => {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`data-parallel worker: no gradient for '${v.name}'`);
    return Float32Array.from(g.dataSync());
  });
  const send = <T extends { grads: Float32Array[]; statistics?: Float32Array[] }>(r: T) =>
    transferring(r, [...r.grads, ...(r.statistics ?? [])].map((a) => a.buffer as ArrayBuffer));

  return {
    clean(req: CleanRequest) {
      release();
      assignAll(model.trainable, req.weights, 'weight');
      assignAll(model.statistics, req.statistics, 'statistic');
      const tensors: BatchTensors = {};
      for (const [k, h] of Object.entries(req.tensors)) tensors[k] = tf.tensor(h.data, h.shape, h.dtype);
      let sums: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = model.forward(tensors, req.ctx);
        sums = Object.fromEntries(Object.entries(r.sums ?? {}).map(([k, v]) => [k, tf.keep(v)]));
        return r.loss;
      }, model.trainable);
      const result: CleanResult = {
        loss: value.dataSync()[0] as number,
        sums: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.dataSync()[0] as number])),
        grads: gradArrays(grads),
        statistics: model.statistics.map((v) => Float32Array.from(v.dataSync())),
      };
      tf.dispose([value, ...Object.values(grads), ...Object.values(sums)]);
      if (req.keep) {
        // w and the post-clean statistics stay in the model until `perturbed`, which saves and restores them
        kept = { tensors, ctx: req.ctx };
      } else {
        tf.dispose(Object.values(tensors));
      }
      return send(result);
    },
    perturbed(req: { grad: Float32Array[] }) {
      if (kept === null) throw new Error('data-parallel worker: perturbed called without a kept shard (clean with keep: true first)');
      const k = kept;
      try {
        const g = req.grad.map((a, i) => tf.tensor(a, model.trainable[i]!.shape));
        let restore: () => void;
        try {
          restore = perturbWeights(g, model.trainable, o.sharpness, { guard: model.statistics });
        } finally {
          tf.dispose(g);
        }
        let vg: { value: tf.Scalar; grads: tf.NamedTensorMap };
        try {
          vg = tf.variableGrads(() => {
            const r = model.forward(k.tensors, { ...k.ctx, pass: 'perturbed' });
            return r.loss;
          }, model.trainable);
        } finally {
          restore();
        }
        const result: ShardResult = {
          loss: vg.value.dataSync()[0] as number,
          grads: gradArrays(vg.grads),
          ...(o.sharpness.bnStatistics === 'both-passes' ? { statistics: model.statistics.map((v) => Float32Array.from(v.dataSync())) } : {}),
        };
        tf.dispose([vg.value, ...Object.values(vg.grads)]);
        return send(result);
      } finally {
        release();
      }
    },
  };
}
