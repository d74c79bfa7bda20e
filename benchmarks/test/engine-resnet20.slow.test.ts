/**
 * The study's model on both kernel tiers against tfjs's stock cpu kernels: `resnet20` at CIFAR shapes (32x32x3,
 * 10 classes), one training step's loss and gradients (BatchNorm in training mode) and the evaluation logits
 * (moving statistics). The per-kernel and tiny-model checks run in the unit tier; this one takes minutes on the
 * stock cpu backend, so it is slow-tier.
 */
import { initEngine, loadNativeKernels } from '@asam/engine';
import { randomArray, relErr } from '@asam/engine/testing';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

const NATIVE = loadNativeKernels().status;
const BATCH = 8;

interface Pass { loss: number; grads: Float32Array[]; names: string[]; evalLogits: Float32Array }

async function resnet20Pass(backend: 'cpu' | 'wasm', native: boolean): Promise<Pass> {
  await initEngine({ backend, trainingKernels: backend === 'wasm', nativeKernels: native });
  const built = buildModel('resnet20', { numClasses: 10, inputShape: [32, 32, 3], seed: 3 });
  const x = tf.tensor4d(randomArray(BATCH * 32 * 32 * 3, 21), [BATCH, 32, 32, 3]);
  const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => (i * 7) % 10), 'int32');
  try {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = built.model.apply(x, { training: true }) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 10), logits) as tf.Scalar;
      }, built.trainable);
      const evalLogits = Float32Array.from((built.model.apply(x, { training: false }) as tf.Tensor).dataSync());
      return {
        loss: value.dataSync()[0]!, evalLogits, names: built.trainable.map((v) => v.name),
        grads: built.trainable.map((v) => Float32Array.from(grads[v.name]!.dataSync())),
      };
    });
  } finally {
    tf.dispose([x, labels]);
    built.dispose();
  }
}

const TIERS = [
  { tier: 'SIMD', native: false, skip: false },
  { tier: `native (${NATIVE.loaded ? `oneDNN ${NATIVE.onednn ?? ''}` : `skipped: ${NATIVE.reason ?? ''}`})`, native: true, skip: !NATIVE.loaded },
];

describe.each(TIERS)('resnet20 at CIFAR shapes: wasm with the $tier training kernels vs tfjs-cpu stock', ({ native, skip }) => {
  it.skipIf(skip)('loss, every gradient and the evaluation logits agree to float32 rounding', async () => {
    const ref = await resnet20Pass('cpu', false);
    const got = await resnet20Pass('wasm', native);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    // Measured at batch 16: at most 4e-6 for either tier (max |difference| / max |reference| per variable).
    ref.grads.forEach((g, i) => expect(relErr(got.grads[i]!, g), ref.names[i]).toBeLessThan(1e-4));
    expect(relErr(got.evalLogits, ref.evalLogits)).toBeLessThan(1e-5);
  }, 900_000);
});
