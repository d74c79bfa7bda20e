import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from './engine.ts';
import { CHANNEL_BROADCAST } from './kernels.ts';
import { setMeanGradient } from './mean-grad.ts';
import { randomArray } from './testing.ts';

/** Gradient of Σ w ⊙ broadcast(mean(x, axes)) w.r.t. x, and of the BatchNorm moments (Σ w·mean + Σ v·variance). */
function grads(shape: number[], axes: number[], keepDims: boolean): Float32Array[] {
  const size = shape.reduce((a, b) => a * b);
  return tf.tidy(() => {
    const x = tf.tensor(randomArray(size, 1), shape);
    const f = (xx: tf.Tensor) => {
      const m = tf.mean(xx, axes, keepDims);
      return tf.sum(tf.mul(m, tf.tensor(randomArray(m.size, 2), m.shape)));
    };
    const g = (xx: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, axes);
      return tf.add(tf.sum(tf.mul(mean, tf.tensor(randomArray(mean.size, 3), mean.shape))),
        tf.sum(tf.mul(variance, tf.tensor(randomArray(variance.size, 4), variance.shape))));
    };
    return [tf.grad(f)(x), tf.grad(g)(x)].map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('Mean gradient without the ones tensor', () => {
  const cases: [number[], number[], boolean][] = [
    [[2, 8, 8, 16], [0, 1, 2], false], [[3, 5, 5, 13], [0, 1, 2], true], [[7, 6], [0], false], [[2, 3, 4, 5], [1, 2], false],
    [[2, 3, 4, 5], [0, 1, 2, 3], false], [[4, 6], [1], true],
  ];
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [shape, axes, keepDims] of cases) {
      it(`${backend} [${shape}] axes [${axes}] keepDims ${keepDims}: bitwise equal to the stock gradient (mean and moments)`, async () => {
        await initEngine({ backend });
        setMeanGradient('stock');
        const stock = grads(shape, axes, keepDims);
        setMeanGradient('broadcast');
        const ours = grads(shape, axes, keepDims);
        expect(ours.map((a) => Array.from(a))).toEqual(stock.map((a) => Array.from(a)));
      });
    }
  }
  it('ChannelBroadcast repeats a [C] vector over the leading axes and refuses a vector of the wrong size', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initEngine({ backend });
      const out = tf.tidy(() => Array.from((tf.engine().runKernel(CHANNEL_BROADCAST, { x: tf.tensor1d([1, 2, 3]) }, { shape: [2, 2, 3] } as never) as tf.Tensor).dataSync()));
      expect(out).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
      expect(() => tf.tidy(() => tf.engine().runKernel(CHANNEL_BROADCAST, { x: tf.tensor1d([1, 2]) }, { shape: [2, 3] } as never)))
        .toThrow(/expects a float32 vector of 3 values for shape \[2,3\], got float32 \[2\]/);
    }
  });
  it('the leading-axes case runs ChannelBroadcast and no longer builds a ones tensor; other axes keep the stock path', async () => {
    await initEngine({ backend: 'wasm' });
    const kernelsOf = async (axes: number[]) => (await tf.profile(() => tf.tidy(() => {
      tf.grad((x: tf.Tensor) => tf.sum(tf.mean(x, axes)))(tf.ones([4, 3, 5]));
    }))).kernels.map((k) => k.name);
    expect(await kernelsOf([0, 1])).toContain(CHANNEL_BROADCAST);
    expect(await kernelsOf([1, 2])).not.toContain(CHANNEL_BROADCAST);
  });
  it('an unknown variant is refused', () => {
    expect(() => setMeanGradient('fast' as never)).toThrow(/unknown variant 'fast'; valid: broadcast, stock/);
  });
});
