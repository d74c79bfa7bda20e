import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { BATCH_NORM_TRAINING as ENGINE_KERNEL, initEngine } from '@asam/engine';
import { randomArray, relErr } from '@asam/engine/testing';
import { BATCH_NORM_TRAINING, batchNormalization } from './batch-norm.ts';
import { BN_EPSILON, BN_MOMENTUM } from './layers.ts';
import { buildModel } from './registry.ts';

const wasm = (): Promise<unknown> => initEngine({ backend: 'wasm', nativeKernels: false });

/** Runs `fn` with the fused kernel unregistered on wasm (the layer then takes tfjs-layers' composed path). */
function withoutFusedKernel<T>(fn: () => T): T {
  const config = tf.getKernel(BATCH_NORM_TRAINING, 'wasm')!;
  tf.unregisterKernel(BATCH_NORM_TRAINING, 'wasm');
  try {
    return fn();
  } finally {
    tf.registerKernel(config);
  }
}

/** Names of the kernels `fn` runs. */
async function kernelsOf(fn: () => tf.TensorContainer): Promise<string[]> {
  const p = await tf.profile(() => { tf.dispose(fn()); });
  return p.kernels.map((k) => k.name);
}

/**
 * A BN + ReLU block in training mode: seeded input and weights (moving statistics too), loss Σ w ⊙ relu(BN(x)).
 * Returns y, the moving statistics after the call, dx, dγ, dβ.
 */
function bnBlock(layer: tfl.layers.Layer, shape: number[]): Float32Array[] {
  const c = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b);
  return tf.tidy(() => {
    const x = tf.tensor(randomArray(size, 1), shape);
    const w = tf.tensor(randomArray(size, 2), shape);
    if (!layer.built) layer.build(shape);
    layer.setWeights([tf.add(tf.tensor1d(randomArray(c, 3)), 1.5), tf.tensor1d(randomArray(c, 4)),
      tf.tensor1d(randomArray(c, 5)), tf.add(tf.tensor1d(randomArray(c, 6)), 2)]);
    const [gamma, beta] = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val) as [tf.Variable, tf.Variable];
    const out: Float32Array[] = [];
    const read = (t: tf.Tensor): number => out.push(Float32Array.from(t.dataSync()));
    const f = (xx: tf.Tensor, keepY = false): tf.Scalar => {
      const y = layer.apply(xx, { training: true }) as tf.Tensor;
      if (keepY) read(y);
      return tf.sum(tf.mul(w, tf.relu(y)));
    };
    const { grads } = tf.variableGrads(() => f(x, true), [gamma, beta]);
    layer.getWeights().slice(2).forEach(read);
    const dx = tf.grad((xx: tf.Tensor) => f(xx))(x); // a second training call: the moving statistics move once more
    layer.getWeights().slice(2).forEach(read);
    [dx, grads[gamma.name]!, grads[beta.name]!].forEach(read);
    return out;
  });
}
const NAMES = ['y', 'moving_mean', 'moving_variance', 'moving_mean (2nd call)', 'moving_variance (2nd call)', 'dx', 'dgamma', 'dbeta'];
const args = { momentum: BN_MOMENTUM, epsilon: BN_EPSILON };

describe('fused BatchNormalization layer', () => {
  it('uses the engine\'s kernel name', () => {
    expect(BATCH_NORM_TRAINING).toBe(ENGINE_KERNEL);
  });

  it('keeps tfjs-layers\' class name, config and weights (names, order, initial values)', async () => {
    await wasm();
    const ours = batchNormalization({ ...args, name: 'bn_ours' });
    const stock = tfl.layers.batchNormalization({ ...args, name: 'bn_stock' });
    tf.dispose([ours.apply(tf.ones([2, 3])) as tf.Tensor, stock.apply(tf.ones([2, 3])) as tf.Tensor]); // builds in the layer's name scope
    expect(ours.getClassName()).toBe('BatchNormalization');
    expect({ ...ours.getConfig(), name: '' }).toEqual({ ...stock.getConfig(), name: '' });
    expect(ours.weights.map((v) => v.name.replace('bn_ours', ''))).toEqual(stock.weights.map((v) => v.name.replace('bn_stock', '')));
    expect(ours.weights.map((v) => v.name)).toEqual(['bn_ours/gamma', 'bn_ours/beta', 'bn_ours/moving_mean', 'bn_ours/moving_variance']);
    expect(ours.trainableWeights.map((v) => v.name)).toEqual(['bn_ours/gamma', 'bn_ours/beta']);
    expect(ours.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(stock.getWeights().map((t) => Array.from(t.dataSync())));
  });

  for (const shape of [[3, 5, 7, 13], [4, 6, 6, 16], [9, 7], [2, 3, 3, 1]]) {
    it(`BN + ReLU in training mode equals tfjs-layers' composed path on wasm, [${shape}]: y, moving statistics, dx, dγ, dβ`, async () => {
      await wasm();
      const layer = batchNormalization(args);
      const kernels = await kernelsOf(() => layer.apply(tf.ones(shape), { training: true }) as tf.Tensor);
      expect(kernels).toContain(BATCH_NORM_TRAINING);
      expect(kernels).not.toContain('FusedBatchNorm');
      const fused = bnBlock(layer, shape);
      const composed = withoutFusedKernel(() => bnBlock(batchNormalization(args), shape));
      const stock = bnBlock(tfl.layers.batchNormalization(args), shape);
      fused.forEach((v, i) => {
        expect(Array.from(composed[i]!), `${NAMES[i]}: the fallback is tfjs-layers' call`).toEqual(Array.from(stock[i]!));
        expect(relErr(v, stock[i]!), NAMES[i]).toBeLessThan(1e-5);
      });
    });
  }

  it('is tfjs-layers\' call, bit for bit, where the kernel is missing (cpu) and in inference', async () => {
    await initEngine({ backend: 'cpu' });
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'cpu')).toBeUndefined();
    const shape = [3, 4, 4, 5];
    const ours = bnBlock(batchNormalization(args), shape);
    const stock = bnBlock(tfl.layers.batchNormalization(args), shape);
    ours.forEach((v, i) => expect(Array.from(v), NAMES[i]).toEqual(Array.from(stock[i]!)));
    await wasm();
    const a = batchNormalization(args);
    const b = tfl.layers.batchNormalization(args);
    const x = tf.tensor(randomArray(2 * 3 * 3 * 4, 9), [2, 3, 3, 4]);
    expect(await kernelsOf(() => a.apply(x, { training: false }) as tf.Tensor)).not.toContain(BATCH_NORM_TRAINING);
    expect(Array.from((a.apply(x) as tf.Tensor).dataSync())).toEqual(Array.from((b.apply(x) as tf.Tensor).dataSync()));
    x.dispose();
  });

  it('a ResNet-20 step (batch 4): loss, every gradient and the moving statistics equal the composed path; no leaks', async () => {
    await wasm();
    const m = buildModel('resnet20', { seed: 3 });
    try {
      const n = 4;
      const x = tf.tensor(randomArray(n * 32 * 32 * 3, 11), [n, 32, 32, 3]);
      const labels = tf.oneHot(tf.tensor1d([1, 7, 3, 0], 'int32'), 10);
      const initial = m.bnStats.map((v) => v.clone());
      const step = (): Float32Array[] => tf.tidy(() => {
        m.bnStats.forEach((v, i) => v.assign(initial[i]!));
        const { value, grads } = tf.variableGrads(() =>
          tf.losses.softmaxCrossEntropy(labels, m.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, m.trainable);
        return [value, ...m.trainable.map((v) => grads[v.name]!), ...m.bnStats].map((t) => Float32Array.from(t.dataSync()));
      });
      const kernels = await kernelsOf(() => m.model.apply(x, { training: true }) as tf.Tensor);
      expect(kernels.filter((k) => k === BATCH_NORM_TRAINING).length).toBe(19);
      expect(kernels).not.toContain('FusedBatchNorm');
      const fused = step();
      const composed = withoutFusedKernel(step);
      const names = ['loss', ...m.trainable.map((v) => v.name), ...m.bnStats.map((v) => v.name)];
      let worst = 0;
      fused.forEach((v, i) => {
        const e = relErr(v, composed[i]!);
        worst = Math.max(worst, e);
        // the cross-backend tolerance of benchmarks/test/engine-training.test.ts (whole-model gradients)
        expect(e, names[i]).toBeLessThan(2e-3);
      });
      console.log(`ResNet-20 fused vs composed BatchNorm: worst relative error over ${names.length} tensors ${worst.toExponential(2)}`);
      step();
      const tensors = tf.memory().numTensors;
      const buffers = tf.backend().numDataIds();
      step();
      step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(buffers);
      tf.dispose([x, labels, ...initial]);
    } finally {
      m.dispose();
    }
  }, 120_000);
});
