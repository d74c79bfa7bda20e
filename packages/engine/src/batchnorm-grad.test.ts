import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setBatchNormGradient } from './batchnorm-grad.ts';
import { BATCH_NORM_GRAD_SUMS } from './kernels.ts';
import { initEngine } from './engine.ts';
import { randomArray, relErr } from './testing.ts';

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
      for (const shape of [[3, 4, 5, 6], [2, 8, 8, 16], [2, 4, 4, 64], [9, 7], [3, 5, 5, 13], [200, 3]]) {
        setBatchNormGradient('stock');
        const stock = bnGrads(shape);
        setBatchNormGradient('factored');
        const ours = bnGrads(shape);
        ours.forEach((o, i) => expect(relErr(o, stock[i]!)).toBeLessThan(1e-4));
      }
    }
  });
  it('on wasm the factored gradient takes both sums in one BatchNormGradSums pass (equal to sum ops to 1e-5)', async () => {
    await initEngine({ backend: 'wasm' });
    setBatchNormGradient('factored');
    const kernels = (await tf.profile(() => { bnGrads([2, 8, 8, 16]); })).kernels.map((k) => k.name);
    expect(kernels).toContain(BATCH_NORM_GRAD_SUMS);
    // the kernel against the same sums written with ops, incl. more rows than one 64-row block and odd C
    for (const shape of [[2, 9, 9, 13], [300, 8]]) {
      const n = shape.reduce((a, b) => a * b);
      const c = shape.at(-1)!;
      const [got, want] = tf.tidy(() => {
        const x = tf.tensor(randomArray(n, 5), shape);
        const dy = tf.tensor(randomArray(n, 6), shape);
        const mean = tf.tensor1d(randomArray(c, 7));
        const axes = [...Array(shape.length - 1).keys()];
        const k = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x, mean, dy }) as tf.Tensor;
        const ref = tf.stack([tf.sum(dy, axes), tf.sum(tf.mul(tf.sub(x, mean), dy), axes)]);
        return [k.dataSync(), ref.dataSync()].map((a) => Float32Array.from(a));
      });
      expect(relErr(got!, want!)).toBeLessThan(1e-5);
    }
    expect(() => tf.tidy(() => tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x: tf.zeros([2, 3]), mean: tf.zeros([2]), dy: tf.zeros([2, 3]) })))
      .toThrow(/expects float32 x and dy of one shape \[\.\.\., C\] and a mean of C values/);
  });
  it('where the SIMD module cannot instantiate, the factored gradient takes the sums with ops (same values, kernel not called)', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: false });
    setBatchNormGradient('factored');
    const withSimd = bnGrads([2, 8, 8, 16]);
    // the backend as one whose WebAssembly.Memory is not reachable: the SIMD module has nothing to instantiate on
    const wasm = (tf.backend() as unknown as { wasm: { asm: Record<string, unknown> } }).wasm;
    const asm = wasm.asm;
    wasm.asm = { ...asm, memory: undefined };
    try {
      const kernels = (await tf.profile(() => { bnGrads([2, 8, 8, 16]); })).kernels.map((k) => k.name);
      expect(kernels).not.toContain(BATCH_NORM_GRAD_SUMS);
      const withOps = bnGrads([2, 8, 8, 16]);
      withOps.forEach((o, i) => expect(relErr(o, withSimd[i]!)).toBeLessThan(1e-5));
    } finally {
      wasm.asm = asm;
    }
  });
  it('rejects an unknown variant', () => {
    expect(() => setBatchNormGradient('tiled' as 'stock')).toThrow(/valid: factored, broadcast, stock/);
  });
});
