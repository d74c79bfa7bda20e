/**
 * Whole-model gradients on wasm (composed kernels) against tfjs-cpu (stock kernels), and
 * tensor / backend-memory hygiene over repeated training steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from './engine.ts';
import { buildCifarResNet, classificationLoss, compactTransformer, randomTokens, smallConvNet } from './models.ts';
import { randomArray, relErr } from './test-utils.ts';

type Backend = 'cpu' | 'wasm';

/** Gradients of the small conv net, read back to arrays, on one backend. */
async function convNetGrads(backend: Backend, kernels: boolean): Promise<{ loss: number; grads: Float32Array[] }> {
  await initEngine({ backend, trainingKernels: kernels });
  const net = smallConvNet(3);
  const xv = randomArray(4 * 16 * 16 * 3, 21);
  const out = tf.tidy(() => {
    const x = tf.tensor4d(xv, [4, 16, 16, 3]);
    const labels = tf.tensor1d([0, 3, 1, 4], 'int32');
    const { value, grads } = tf.variableGrads(() => classificationLoss(net.forward(x), labels, 5), net.vars);
    return { loss: value.dataSync()[0]!, grads: net.vars.map((v) => Float32Array.from(grads[v.name]!.dataSync())) };
  });
  tf.dispose(net.vars);
  return out;
}

const TCFG = { vocab: 40, dModel: 16, heads: 2, ffn: 24, layers: 1, dropout: 0.1 };

async function transformerGrads(backend: Backend, kernels: boolean): Promise<{ loss: number; grads: Float32Array[] }> {
  await initEngine({ backend, trainingKernels: kernels });
  const m = compactTransformer(TCFG, 5);
  const out = tf.tidy(() => {
    const src = randomTokens(3, 6, TCFG.vocab, 1);
    const tgt = randomTokens(3, 6, TCFG.vocab, 2);
    const { value, grads } = tf.variableGrads(() => m.loss(src, tgt, tgt, false), m.vars);
    return { loss: value.dataSync()[0]!, grads: m.vars.map((v) => Float32Array.from(grads[v.name]!.dataSync())) };
  });
  tf.dispose(m.vars);
  return out;
}

describe('full-model gradients: wasm with composed kernels vs tfjs-cpu stock', () => {
  it('small conv net (7x7/3x3/1x1 convs, strides 1/2, same/valid, max-pool, BN, GAP, dense)', async () => {
    const ref = await convNetGrads('cpu', false);
    const cpu = await convNetGrads('cpu', true);
    const wasm = await convNetGrads('wasm', true);
    expect(Math.abs(wasm.loss - ref.loss)).toBeLessThan(1e-4 * Math.abs(ref.loss));
    let worstWasm = 0;
    ref.grads.forEach((g, i) => {
      expect(relErr(cpu.grads[i]!, g)).toBeLessThan(1e-4);
      worstWasm = Math.max(worstWasm, relErr(wasm.grads[i]!, g));
    });
    // A shallow net: float32 reduction order differences stay far below the deep-net 5e-2 bound.
    expect(worstWasm).toBeLessThan(2e-3);
  });

  it('compact Transformer (gather, masks, softmax, layer norm, tied output, label smoothing)', async () => {
    const ref = await transformerGrads('cpu', false);
    const wasm = await transformerGrads('wasm', true);
    expect(Math.abs(wasm.loss - ref.loss)).toBeLessThan(1e-4 * Math.abs(ref.loss));
    ref.grads.forEach((g, i) => expect(relErr(wasm.grads[i]!, g)).toBeLessThan(2e-3));
  });
});

describe('training steps on wasm hit no missing kernel and leak nothing', () => {
  it('ResNet-8 (tfjs-layers) momentum-SGD steps: tensors and backend buffers flat', async () => {
    await initEngine({ backend: 'wasm' });
    const model = buildCifarResNet({ depth: 8, inputShape: [8, 8, 3] });
    const opt = tf.train.momentum(0.05, 0.9);
    const x = tf.tensor4d(randomArray(4 * 8 * 8 * 3, 3), [4, 8, 8, 3]);
    const labels = tf.tensor1d([1, 2, 3, 4], 'int32');
    const be = tf.backend() as unknown as { numDataIds(): number };
    const losses: number[] = [];
    const step = () => {
      const loss = opt.minimize(() => classificationLoss(model.apply(x, { training: true }) as tf.Tensor, labels, 10), true)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    };
    step();
    step();
    const tensors = tf.memory().numTensors;
    const buffers = be.numDataIds();
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(be.numDataIds()).toBe(buffers);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!); // memorises 4 images
    tf.dispose([x, labels]);
    model.dispose();
    opt.dispose();
  });

  it('compact Transformer Adam steps with dropout: tensors and backend buffers flat', async () => {
    await initEngine({ backend: 'wasm' });
    const m = compactTransformer(TCFG, 9);
    const opt = tf.train.adam(3e-3);
    const src = randomTokens(3, 6, TCFG.vocab, 3);
    const tgt = randomTokens(3, 6, TCFG.vocab, 4);
    const be = tf.backend() as unknown as { numDataIds(): number };
    const step = () => tf.dispose(opt.minimize(() => m.loss(src, tgt, tgt, true), true, m.vars)!);
    step();
    step();
    const tensors = tf.memory().numTensors;
    const buffers = be.numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(be.numDataIds()).toBe(buffers);
    tf.dispose([src, tgt, ...m.vars]);
    opt.dispose();
  });
});
