/**
 * Worker side of data-parallel training (see data-parallel.ts): a handler module of the worker pool. Each worker
 * builds the task's model with `createTaskModel(options)` of the task's replica module and, per pass, receives the
 * weights and statistics to evaluate its shard at, so it keeps no training state of its own between steps and does no
 * sharpness-aware arithmetic: ε, w + ε and the exact restore happen on the main thread, in @asam/core's step.
 *
 * - `pass`: sets the given weights and statistics, runs the task's forward pass on the shard (the request's, or the one
 *   kept from the step's clean pass) with the given pass context, and returns its mean loss, metric sums, gradient and
 *   the statistics after the pass.
 */
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
}

export interface PassRequest {
  /** Trainable weights to evaluate at (w for the clean pass, w + ε for the perturbed one), in `model.trainable` order. */
  weights: Float32Array[];
  statistics: Float32Array[];
  /** The shard; left out for the perturbed pass, which takes the shard kept from the clean pass. */
  tensors?: Record<string, HostTensor>;
  ctx: PassContext;
  /** Keep the shard for the perturbed pass that follows. */
  keep: boolean;
}

export interface PassResult {
  loss: number;
  sums: Record<string, number>;
  grads: Float32Array[];
  /** The statistics after the pass. */
  statistics: Float32Array[];
}

export async function createHandlers(o: WorkerOptions) {
  const mod = (await import(o.replica.module)) as { createTaskModel?: (options: unknown) => TaskModel | Promise<TaskModel> };
  if (typeof mod.createTaskModel !== 'function') throw new Error(`data-parallel worker: ${o.replica.module} does not export createTaskModel(options)`);
  const model = await mod.createTaskModel(o.replica.options);
  let kept: BatchTensors | null = null;

  const release = (): void => {
    if (kept !== null) tf.dispose(Object.values(kept));
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

  return {
    pass(req: PassRequest) {
      let tensors: BatchTensors;
      if (req.tensors !== undefined) {
        release();
        tensors = {};
        for (const [k, h] of Object.entries(req.tensors)) tensors[k] = tf.tensor(h.data, h.shape, h.dtype);
      } else {
        if (kept === null) throw new Error('data-parallel worker: a pass without a shard needs one kept from the clean pass (keep: true)');
        tensors = kept;
      }
      kept = null;
      try {
        assignAll(model.trainable, req.weights, 'weight');
        assignAll(model.statistics, req.statistics, 'statistic');
        let sums: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.variableGrads(() => {
          const r = model.forward(tensors, req.ctx);
          sums = Object.fromEntries(Object.entries(r.sums ?? {}).map(([k, v]) => [k, tf.keep(v)]));
          return r.loss;
        }, model.trainable);
        const result: PassResult = {
          loss: value.dataSync()[0] as number,
          sums: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.dataSync()[0] as number])),
          grads: gradArrays(grads),
          statistics: model.statistics.map((v) => Float32Array.from(v.dataSync())),
        };
        tf.dispose([value, ...Object.values(grads), ...Object.values(sums)]);
        return transferring(result, [...result.grads, ...result.statistics].map((a) => a.buffer as ArrayBuffer));
      } finally {
        if (req.keep) kept = tensors;
        else tf.dispose(Object.values(tensors));
      }
    },
  };
}
