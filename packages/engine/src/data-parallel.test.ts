import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createDataParallel, splitBatch } from './data-parallel.ts';
import type { Shard } from './data-parallel.ts';
import { initEngine } from './engine.ts';
import { createReplica } from './test-replica.ts';
import { randomArray, relErr } from './test-utils.ts';

const replica = new URL('./test-replica.ts', import.meta.url);

function batch(seed: number): Shard {
  return {
    x: { values: randomArray(8 * 6 * 6 * 3, seed), shape: [8, 6, 6, 3], dtype: 'float32' },
    y: { values: Int32Array.from({ length: 8 }, (_, i) => (i * 3 + seed) % 4), shape: [8], dtype: 'int32' },
  };
}

describe('data-parallel trainer (worker_threads, wasm)', () => {
  it('2 workers: replicas stay bitwise in sync and match one process on the full batch', async () => {
    const dp = await createDataParallel({ replica, replicaOptions: { lr: 0.5 }, workers: 2 });
    try {
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) losses.push((await dp.step(splitBatch(batch(s === 2 ? 0 : s), 2))).loss);
      await dp.checkSync();
      const parallel = await dp.getWeights(1);

      // Reference: the same replica in this thread, full batches (mean of equal-shard means = full mean).
      await initEngine({ backend: 'wasm' });
      const r = createReplica({ lr: 0.5 });
      const refLosses: number[] = [];
      for (let s = 0; s < 3; s++) {
        const b = batch(s === 2 ? 0 : s);
        const loss = r.optimizer.minimize(() => tf.tidy(() => r.loss({
          x: tf.tensor(b['x']!.values, b['x']!.shape), y: tf.tensor(b['y']!.values, b['y']!.shape, 'int32') })), true, r.vars)!;
        refLosses.push(loss.dataSync()[0]!);
        loss.dispose();
      }
      r.vars.forEach((v, i) => expect(relErr(parallel[i]!, v.dataSync())).toBeLessThan(1e-5));
      losses.forEach((l, i) => expect(l).toBeCloseTo(refLosses[i]!, 5));
      expect(losses[2]!).toBeLessThan(losses[0]!); // step 3 revisits batch 0 after two updates
      tf.dispose(r.vars);
    } finally {
      await dp.close();
    }
  }, 60_000);

  it('two-round SAM over 2 workers equals SAM on the whole batch in one process (epsilon from the averaged gradient)', async () => {
    const dp = await createDataParallel({ replica, replicaOptions: { lr: 0.5, samRho: 0.3 }, workers: 2 });
    try {
      expect(dp.twoRound).toBe(true);
      const out: { loss: number; perturbedLoss?: number }[] = [];
      for (let s = 0; s < 3; s++) out.push(await dp.step(splitBatch(batch(s), 2)));
      await dp.checkSync();
      const parallel = await dp.getWeights(0);

      await initEngine({ backend: 'wasm' });
      const r = createReplica({ lr: 0.5, samRho: 0.3 });
      for (let s = 0; s < 3; s++) {
        const b = batch(s);
        const xb = { x: tf.tensor(b['x']!.values, b['x']!.shape), y: tf.tensor(b['y']!.values, b['y']!.shape, 'int32') };
        const clean = tf.variableGrads(() => r.loss(xb), r.vars);
        const g = r.vars.map((v) => clean.grads[v.name]!);
        r.perturb!(g);
        const pert = tf.variableGrads(() => r.loss(xb), r.vars);
        r.restore!();
        expect(out[s]!.loss).toBeCloseTo(clean.value.dataSync()[0]!, 5);
        expect(out[s]!.perturbedLoss!).toBeCloseTo(pert.value.dataSync()[0]!, 5);
        expect(out[s]!.perturbedLoss!).toBeGreaterThan(out[s]!.loss); // the ascent step raises the loss
        r.optimizer.applyGradients(pert.grads);
        tf.dispose([clean.value, pert.value, ...Object.values(clean.grads), ...Object.values(pert.grads), ...Object.values(xb)]);
      }
      r.vars.forEach((v, i) => expect(relErr(parallel[i]!, v.dataSync())).toBeLessThan(1e-5));
      tf.dispose(r.vars);
    } finally {
      await dp.close();
    }
  }, 60_000);

  it('rejects a wrong shard count and indivisible batches with the fix in the message', async () => {
    expect(() => splitBatch(batch(0), 3)).toThrow(/8 rows, not divisible into 3/);
    await expect(createDataParallel({ replica, workers: 0 })).rejects.toThrow(/workers must be an integer >= 1/);
    const dp = await createDataParallel({ replica, replicaOptions: { lr: 0.1 }, workers: 1 });
    try {
      await expect(dp.step(splitBatch(batch(0), 2))).rejects.toThrow(/got 2 shards for 1 workers/);
    } finally {
      await dp.close();
    }
  }, 60_000);
});
