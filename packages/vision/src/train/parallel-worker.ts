/**
 * Worker side of the data-parallel trainer (`workers > 1`; see parallel.ts): a handler module for
 * @asam/engine's worker pool. Each worker builds the same model from the registry and, per step,
 * receives the current weights and BatchNorm statistics from the main thread with its shard, so it
 * keeps no training state of its own between steps.
 *
 * - `clean`: gradient (and loss, correct count) of the shard's mean loss at w; BatchNorm statistics
 *   after the pass (training mode updates them).
 * - `perturbed`: with the averaged clean gradient ḡ of all shards: @asam/core's `perturbWeights` takes
 *   w to w + ε(ḡ) (SAM or ASAM, optional weight decay in the ascent), the shard's gradient at w + ε,
 *   then w and the BatchNorm statistics restored exactly to their post-clean values.
 */
import { perturbWeights, resolveSharpnessConfig, type SharpnessConfig } from '@asam/core';
import { transferring } from '@asam/engine';
import { Rng } from '@asam/data';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel } from '../models/registry.ts';

export interface ParallelWorkerOptions {
  model: string;
  numClasses: number;
  inputShape: [number, number, number];
  seed: number;
  dropout: number;
  labelSmoothing: number;
  sharpness: SharpnessConfig;
}

export interface CleanRequest {
  weights: Float32Array[];
  bn: Float32Array[];
  x: Float32Array;
  xShape: number[];
  y: Int32Array;
  dropoutSeed: number;
  /** Keep the shard for a `perturbed` call that follows. */
  keep: boolean;
}

export interface ShardResult { loss: number; grads: Float32Array[] }
export interface CleanResult extends ShardResult { correct: number; bn: Float32Array[] }

export function createHandlers(o: ParallelWorkerOptions) {
  const built = buildModel(o.model, { numClasses: o.numClasses, inputShape: o.inputShape, seed: o.seed, dropout: o.dropout });
  const cfg = o.sharpness;
  const perturbs = resolveSharpnessConfig(cfg).method !== 'none';
  let kept: { x: tf.Tensor4D; y: tf.Tensor1D; dropoutSeed: number } | null = null;

  const release = (): void => {
    if (kept !== null) tf.dispose([kept.x, kept.y]);
    kept = null;
  };
  const assignAll = (vars: tf.Variable[], values: Float32Array[], what: string): void => {
    if (values.length !== vars.length) throw new Error(`parallel worker: got ${values.length} ${what} tensors, the model has ${vars.length}`);
    vars.forEach((v, i) => {
      const val = values[i]!;
      if (val.length !== v.size) throw new Error(`parallel worker: ${what} ${i} has ${val.length} values, '${v.name}' needs ${v.size}`);
      tf.tidy(() => v.assign(tf.tensor(val, v.shape)));
    });
  };
  const seedDropout = (seed: number): void => {
    const rng = new Rng(seed >>> 0);
    built.setDropoutSeeds({ nextSeed: () => rng.nextU32() });
  };
  const lossOf = (x: tf.Tensor4D, y: tf.Tensor1D, onCorrect?: (c: tf.Tensor) => void): tf.Scalar => {
    const logits = built.model.apply(x, { training: true }) as tf.Tensor2D;
    if (onCorrect) onCorrect(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, o.numClasses), logits, undefined, o.labelSmoothing) as tf.Scalar;
  };
  const gradArrays = (grads: tf.NamedTensorMap): Float32Array[] => built.trainable.map((v) => {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`parallel worker: no gradient for '${v.name}'`);
    return Float32Array.from(g.dataSync());
  });
  const send = <T extends { grads: Float32Array[]; bn?: Float32Array[] }>(r: T) =>
    transferring(r, [...r.grads, ...(r.bn ?? [])].map((a) => a.buffer as ArrayBuffer));

  return {
    clean(req: CleanRequest) {
      release();
      assignAll(built.trainable, req.weights, 'weight');
      assignAll(built.bnStats, req.bn, 'BatchNorm statistic');
      const x = tf.tensor4d(req.x, req.xShape as [number, number, number, number]);
      const y = tf.tensor1d(req.y, 'int32');
      seedDropout(req.dropoutSeed);
      let correct: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => lossOf(x, y, (c) => { correct = tf.keep(c); }), built.trainable);
      const result: CleanResult = {
        loss: value.dataSync()[0] as number,
        correct: (correct as tf.Tensor | null)?.dataSync()[0] ?? 0,
        grads: gradArrays(grads),
        bn: built.bnStats.map((v) => Float32Array.from(v.dataSync())),
      };
      tf.dispose([value, ...Object.values(grads), ...(correct ? [correct as tf.Tensor] : [])]);
      if (req.keep) {
        // w and the post-clean BatchNorm statistics stay in the model until `perturbed`, which saves and restores them
        kept = { x, y, dropoutSeed: req.dropoutSeed };
      } else {
        tf.dispose([x, y]);
      }
      return send(result);
    },
    perturbed(req: { grad: Float32Array[] }) {
      if (kept === null) throw new Error('parallel worker: perturbed called without a kept shard (clean with keep: true first)');
      if (!perturbs) throw new Error(`parallel worker: method '${cfg.method}' takes no perturbed pass`);
      const k = kept;
      try {
        const g = req.grad.map((a, i) => tf.tensor(a, built.trainable[i]!.shape));
        let restore: () => void;
        try {
          restore = perturbWeights(g, built.trainable, cfg, { guard: built.bnStats });
        } finally {
          tf.dispose(g);
        }
        seedDropout(k.dropoutSeed ^ 0x5a5a5a5a);
        let vg: { value: tf.Scalar; grads: tf.NamedTensorMap };
        try {
          vg = tf.variableGrads(() => lossOf(k.x, k.y), built.trainable);
        } finally {
          restore();
        }
        const result: ShardResult = { loss: vg.value.dataSync()[0] as number, grads: gradArrays(vg.grads) };
        tf.dispose([vg.value, ...Object.values(vg.grads)]);
        return send(result);
      } finally {
        release();
      }
    },
  };
}
