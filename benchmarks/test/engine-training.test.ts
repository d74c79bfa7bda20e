/**
 * @asam/engine on the project's own models: whole-model gradients on wasm with the engine's training kernels against
 * tfjs-cpu with the stock kernels, and tensor / backend-buffer hygiene over repeated training steps. The models are
 * the registry ones the trainers run (@asam/vision `buildModel`, @asam/nmt `Transformer`) at their tiny test sizes;
 * the per-kernel checks stay in packages/engine.
 */
import { initEngine, loadNativeKernels } from '@asam/engine';
import { randomArray, relErr } from '@asam/engine/testing';
import { collate, getPreset, meanLabelSmoothedLoss, Transformer, type TransformerArch } from '@asam/nmt';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { randomPairs } from '../src/engine-bench/workloads.ts';

type Backend = 'cpu' | 'wasm';
/** The two tiers of the wasm training kernels: WebAssembly SIMD everywhere, native oneDNN where the addon is built. */
const NATIVE = loadNativeKernels().status;
const TIERS = [
  { tier: 'SIMD', native: false, skip: false },
  { tier: `native (${NATIVE.loaded ? `oneDNN ${NATIVE.onednn ?? ''}` : `skipped: ${NATIVE.reason ?? ''}`})`, native: true, skip: !NATIVE.loaded },
];
const maxAbs = (a: Float32Array): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
interface Grads { loss: number; grads: Float32Array[]; names: string[] }

/** Mean softmax cross-entropy of a registry classifier in training mode (vision's trainer loss, no smoothing). */
function classifierLoss(built: ReturnType<typeof buildModel>, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar {
  const logits = built.model.apply(x, { training: true }) as tf.Tensor2D;
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, built.model.outputs[0]!.shape[1]!), logits) as tf.Scalar;
}

/**
 * `resnet10_tiny` (ImageNet layout at base width 8, on 32x32 inputs): 7x7 stride-2 stem, 3x3 stride-2 max-pool,
 * 3x3 convs at strides 1 and 2 (explicit zero padding + 'valid' where tfjs' 'same' would differ from PyTorch),
 * 1x1 stride-2 projections, BatchNorm in training mode, ReLU, global average pool, dense.
 */
const CONV = { id: 'resnet10_tiny', batch: 4, shape: [32, 32, 3] as [number, number, number], classes: 5 };

async function convNetGrads(backend: Backend, kernels: boolean, native = false): Promise<Grads> {
  await initEngine({ backend, trainingKernels: kernels, nativeKernels: native });
  const built = buildModel(CONV.id, { numClasses: CONV.classes, inputShape: CONV.shape, seed: 3 });
  try {
    return tf.tidy(() => {
      const x = tf.tensor4d(randomArray(CONV.batch * 32 * 32 * 3, 21), [CONV.batch, ...CONV.shape]);
      const labels = tf.tensor1d([0, 3, 1, 4], 'int32');
      const { value, grads } = tf.variableGrads(() => classifierLoss(built, x, labels), built.trainable);
      return { loss: value.dataSync()[0]!, grads: built.trainable.map((v) => Float32Array.from(grads[v.name]!.dataSync())), names: built.trainable.map((v) => v.name) };
    });
  } finally {
    built.dispose();
  }
}

/** @asam/nmt's `transformer_tiny` (2+2 post-norm layers, d 32, 4 heads, FFN 64, tied output) over a 40-token vocabulary. */
const VOCAB = 40;
const IDS = { pad: 0, bos: 1 };
const tinyArch = (dropout: number): TransformerArch => ({ ...getPreset('transformer_tiny').arch, dropout });
const tokens = (seed: number) => {
  const pairs = randomPairs(3, 6, VOCAB, seed);
  return collate(pairs, pairs.map((_, i) => i), IDS);
};

async function transformerGrads(backend: Backend, kernels: boolean, native = false): Promise<Grads> {
  await initEngine({ backend, trainingKernels: kernels, nativeKernels: native });
  const m = new Transformer({ arch: tinyArch(0), srcVocabSize: VOCAB, tgtVocabSize: VOCAB, padId: IDS.pad, seed: 5, name: 'engine_test' });
  const b = tokens(1);
  try {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => meanLabelSmoothedLoss(m.forward(b.src, b.prevTokens, true), b.target, { epsilon: 0.1, padId: IDS.pad }), m.variables);
      return { loss: value.dataSync()[0]!, grads: m.variables.map((v) => Float32Array.from(grads[v.name]!.dataSync())), names: m.localNames() };
    });
  } finally {
    tf.dispose([b.src, b.prevTokens, b.target]);
    m.dispose();
  }
}

describe.each(TIERS)('full-model gradients: wasm with the $tier training kernels vs tfjs-cpu stock', ({ native, skip }) => {
  it.skipIf(skip)(`${CONV.id} (@asam/vision)`, async () => {
    const ref = await convNetGrads('cpu', false);
    const cpu = await convNetGrads('cpu', true);
    const wasm = await convNetGrads('wasm', true, native);
    expect(Math.abs(wasm.loss - ref.loss)).toBeLessThan(1e-4 * Math.abs(ref.loss));
    let worstWasm = 0;
    ref.grads.forEach((g, i) => {
      expect(relErr(cpu.grads[i]!, g), ref.names[i]).toBeLessThan(1e-4);
      worstWasm = Math.max(worstWasm, relErr(wasm.grads[i]!, g));
    });
    // A shallow net: float32 reduction order differences (3e-5 measured) stay far below the deep-net 5e-2 bound.
    expect(worstWasm).toBeLessThan(2e-3);
  });

  it.skipIf(skip)('transformer_tiny (@asam/nmt: gather, masks, softmax, layer norm, tied output, label smoothing)', async () => {
    const ref = await transformerGrads('cpu', false);
    const wasm = await transformerGrads('wasm', true, native);
    expect(Math.abs(wasm.loss - ref.loss)).toBeLessThan(1e-4 * Math.abs(ref.loss));
    // The key-projection bias adds q·b_k to every score of a query row, which softmax ignores: its gradient is zero
    // up to rounding (~1e-9 here), so a relative error means nothing there; both backends must give ~0 instead.
    const zeroGrad = /\/k_proj\/bias$/;
    const scale = Math.max(...ref.grads.map(maxAbs));
    expect(ref.names.filter((n) => zeroGrad.test(n))).toHaveLength(6); // self-attention of 2 encoder + 2 decoder layers, cross-attention of 2
    ref.grads.forEach((g, i) => {
      if (zeroGrad.test(ref.names[i]!)) {
        expect(maxAbs(g)).toBeLessThan(1e-6 * scale);
        expect(maxAbs(wasm.grads[i]!)).toBeLessThan(1e-6 * scale);
      } else {
        expect(relErr(wasm.grads[i]!, g), ref.names[i]).toBeLessThan(2e-3);
      }
    });
  });
});

describe.each(TIERS)('training steps on wasm ($tier kernels) hit no missing kernel and leak nothing', ({ native, skip }) => {
  it.skipIf(skip)('resnet8_tiny (@asam/vision) momentum-SGD steps: tensors and backend buffers flat', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: native });
    const built = buildModel('resnet8_tiny', { numClasses: 10, inputShape: [8, 8, 3], seed: 1 });
    const opt = tf.train.momentum(0.05, 0.9);
    const x = tf.tensor4d(randomArray(4 * 8 * 8 * 3, 3), [4, 8, 8, 3]);
    const labels = tf.tensor1d([1, 2, 3, 4], 'int32');
    const be = tf.backend() as unknown as { numDataIds(): number };
    const losses: number[] = [];
    const step = () => {
      const loss = opt.minimize(() => classifierLoss(built, x, labels), true, built.trainable)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    };
    try {
      step();
      step();
      const tensors = tf.memory().numTensors;
      const buffers = be.numDataIds();
      for (let i = 0; i < 4; i++) step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(be.numDataIds()).toBe(buffers);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!); // memorises 4 images
    } finally {
      tf.dispose([x, labels]);
      built.dispose();
      opt.dispose();
    }
  });

  it.skipIf(skip)('transformer_tiny (@asam/nmt) Adam steps with dropout: tensors and backend buffers flat', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: native });
    const m = new Transformer({ arch: tinyArch(0.1), srcVocabSize: VOCAB, tgtVocabSize: VOCAB, padId: IDS.pad, seed: 9, name: 'engine_test' });
    const opt = tf.train.adam(3e-3);
    const b = tokens(3);
    const be = tf.backend() as unknown as { numDataIds(): number };
    const step = () => tf.dispose(opt.minimize(
      () => meanLabelSmoothedLoss(m.forward(b.src, b.prevTokens, true), b.target, { epsilon: 0.1, padId: IDS.pad }), true, m.variables)!);
    try {
      step();
      step();
      const tensors = tf.memory().numTensors;
      const buffers = be.numDataIds();
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(be.numDataIds()).toBe(buffers);
    } finally {
      tf.dispose([b.src, b.prevTokens, b.target]);
      m.dispose();
      opt.dispose();
    }
  });
});
