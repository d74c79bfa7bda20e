/**
 * Worker side of data-parallel.ts. Replica contract — the module named by `replica` exports
 *
 *   createReplica(options): Replica | Promise<Replica>
 *   interface Replica {
 *     vars: tf.Variable[];                                   // trainable, identical initial values in every worker
 *     optimizer: tf.Optimizer;                               // applies the averaged gradient
 *     loss(batch: Record<string, tf.Tensor>): tf.Scalar;     // loss of one shard
 *     gradients?(batch): { loss: tf.Scalar; grads: tf.NamedTensorMap };  // optional: per-shard gradient of its own
 *     perturb?(meanGrads: tf.Tensor[]): void;  // optional, with restore: w ← w + ε(ḡ) from the averaged clean gradient
 *     restore?(): void;                        // back to w (and any guarded state) after the perturbed pass
 *   }
 *
 * With perturb/restore a step has two rounds (exact SAM/ASAM over the whole batch): the averaged
 * clean gradient ḡ goes back to every replica, which moves to w + ε(ḡ), takes the gradient of the
 * same shard there and restores w; the averaged perturbed gradient is applied.
 *
 * This module is the handler module of a worker pool (worker-pool.ts), which initialises the engine
 * (one tfjs instance per worker) before `init` creates the replica.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shard } from './data-parallel.ts';
import { transferring } from './worker-pool.ts';

interface Replica {
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  loss(batch: Record<string, tf.Tensor>): tf.Scalar;
  gradients?(batch: Record<string, tf.Tensor>): { loss: tf.Scalar; grads: tf.NamedTensorMap };
  perturb?(meanGrads: tf.Tensor[]): void;
  restore?(): void;
}

let replica: Replica | undefined;
/** The shard of the current two-round step, kept for the perturbed pass. */
let kept: Record<string, tf.Tensor> | undefined;

function gradArrays(r: Replica, grads: tf.NamedTensorMap): Float32Array[] {
  return r.vars.map((v) => {
    const g = grads[v.name];
    return g === undefined ? new Float32Array(v.size) : Float32Array.from(g.dataSync());
  });
}

function need(): Replica {
  if (replica === undefined) throw new Error('data-parallel worker: not initialised');
  return replica;
}

function toTensors(shard: Shard): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(shard)) out[k] = tf.tensor(t.values, t.shape, t.dtype);
  return out;
}

async function handle(type: string, payload: unknown, p: { replica: string; options: unknown }): Promise<{ result: unknown; transfer?: ArrayBuffer[] }> {
  switch (type) {
    case 'init': {
      const mod = (await import(p.replica)) as { createReplica?: (o: unknown) => Replica | Promise<Replica> };
      if (typeof mod.createReplica !== 'function') throw new Error(`replica module ${p.replica} does not export createReplica(options)`);
      replica = await mod.createReplica(p.options);
      const twoRound = typeof replica.perturb === 'function' && typeof replica.restore === 'function';
      if ((typeof replica.perturb === 'function') !== (typeof replica.restore === 'function')) {
        throw new Error(`replica module ${p.replica}: perturb and restore must be given together`);
      }
      return { result: { twoRound } };
    }
    case 'grad': {
      const r = need();
      const { shard, keep } = payload as { shard: Shard; keep: boolean };
      if (kept !== undefined) tf.dispose(Object.values(kept));
      kept = undefined;
      const batch = toTensors(shard);
      try {
        const { loss, grads } = r.gradients !== undefined ? r.gradients(batch) : (() => {
          const vg = tf.variableGrads(() => r.loss(batch), r.vars);
          return { loss: vg.value, grads: vg.grads };
        })();
        const arrays = gradArrays(r, grads);
        const value = loss.dataSync()[0] as number;
        tf.dispose([loss, ...Object.values(grads)]);
        return { result: { loss: value, grads: arrays }, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
      } finally {
        if (keep) kept = batch;
        else tf.dispose(Object.values(batch));
      }
    }
    case 'perturbedGrad': {
      const r = need();
      if (kept === undefined || r.perturb === undefined || r.restore === undefined) {
        throw new Error('data-parallel worker: perturbedGrad without a kept shard or without perturb/restore');
      }
      const batch = kept;
      kept = undefined;
      const mean = (payload as Float32Array[]).map((g, i) => tf.tensor(g, r.vars[i]!.shape));
      try {
        r.perturb(mean);
        let vg: { value: tf.Scalar; grads: tf.NamedTensorMap };
        try {
          vg = tf.variableGrads(() => r.loss(batch), r.vars);
        } finally {
          r.restore();
        }
        const arrays = gradArrays(r, vg.grads);
        const value = vg.value.dataSync()[0] as number;
        tf.dispose([vg.value, ...Object.values(vg.grads)]);
        return { result: { loss: value, grads: arrays }, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
      } finally {
        tf.dispose([...mean, ...Object.values(batch)]);
      }
    }
    case 'apply': {
      const r = need();
      const mean = payload as Float32Array[];
      const map: tf.NamedTensorMap = {};
      r.vars.forEach((v, i) => { map[v.name] = tf.tensor(mean[i]!, v.shape); });
      r.optimizer.applyGradients(map);
      tf.dispose(Object.values(map));
      return { result: null };
    }
    case 'weights': {
      const arrays = need().vars.map((v) => Float32Array.from(v.dataSync()));
      return { result: arrays, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
    }
    default:
      throw new Error(`data-parallel worker: unknown message type '${type}'`);
  }
}

/** Handlers for the worker pool: init, grad, perturbedGrad, apply, weights. */
export function createHandlers(p: { replica: string; options: unknown }) {
  const h = (type: string) => async (payload: unknown) => {
    const { result, transfer } = await handle(type, payload, p);
    return transfer ? transferring(result, transfer) : result;
  };
  return { init: h('init'), grad: h('grad'), perturbedGrad: h('perturbedGrad'), apply: h('apply'), weights: h('weights') };
}
