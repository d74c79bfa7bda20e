import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setBatchNormGradient } from './batchnorm-grad.ts';
import { initEngine } from './engine.ts';
import { randomArray, relErr } from './test-utils.ts';

/** Gradients of Σ w ⊙ batchNorm(x; moments(x), γ, β) w.r.t. x, γ, β. */
function bnGrads(shape: number[]): Float32Array[] {
  const c = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b);
  return tf.tidy(() => {
    const x = tf.tensor(randomArray(size, 1), shape);
    const w = tf.tensor(randomArray(size, 2), shape);
    const g = tf.tensor1d(randomArray(c, 3));
    const b = tf.tensor1d(randomArray(c, 4));
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [...Array(shape.length - 1).keys()]);
      return tf.sum(tf.mul(w, tf.batchNorm(xx, mean, variance, bb, gg, 1e-3)));
    };
    return tf.grads(f)([x, g, b]).map((t) => Float32Array.from(t.dataSync()));
  });
}

/** The same function written with elementary ops (no FusedBatchNorm kernel). */
function elementaryGrads(shape: number[]): Float32Array[] {
  const c = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b);
  return tf.tidy(() => {
    const x = tf.tensor(randomArray(size, 1), shape);
    const w = tf.tensor(randomArray(size, 2), shape);
    const g = tf.tensor1d(randomArray(c, 3));
    const b = tf.tensor1d(randomArray(c, 4));
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [...Array(shape.length - 1).keys()]);
      const y = tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-3))), gg), bb);
      return tf.sum(tf.mul(w, y));
    };
    return tf.grads(f)([x, g, b]).map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('tile-free FusedBatchNorm gradient', () => {
  it('is bitwise identical to the stock tfjs-core gradient (rank 4, cpu and wasm)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initEngine({ backend });
      setBatchNormGradient('stock');
      const stock = bnGrads([3, 4, 5, 6]);
      setBatchNormGradient('broadcast');
      const ours = bnGrads([3, 4, 5, 6]);
      ours.forEach((o, i) => expect(Array.from(o)).toEqual(Array.from(stock[i]!)));
    }
    setBatchNormGradient('factored');
  });
  it('matches autodiff through elementary ops, also for rank 2', async () => {
    await initEngine({ backend: 'cpu' });
    for (const variant of ['broadcast', 'factored'] as const) {
      setBatchNormGradient(variant);
      for (const shape of [[3, 4, 5, 6], [7, 5]]) {
        const ours = bnGrads(shape);
        const ref = elementaryGrads(shape);
        ours.forEach((o, i) => expect(relErr(o, ref[i]!)).toBeLessThan(1e-4));
      }
    }
    setBatchNormGradient('factored');
  });
  it('factored gradient equals the stock gradient to float32 rounding (cpu and wasm, model BN shapes)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initEngine({ backend });
      for (const shape of [[3, 4, 5, 6], [2, 8, 8, 16], [2, 4, 4, 64], [9, 7]]) {
        setBatchNormGradient('stock');
        const stock = bnGrads(shape);
        setBatchNormGradient('factored');
        const ours = bnGrads(shape);
        ours.forEach((o, i) => expect(relErr(o, stock[i]!)).toBeLessThan(1e-4));
      }
    }
  });
  it('rejects an unknown variant', () => {
    expect(() => setBatchNormGradient('tiled' as 'stock')).toThrow(/valid: factored, broadcast, stock/);
  });
});
