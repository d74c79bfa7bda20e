/**
 * The dropout-mask policy of the perturbed pass (`optimizer.perturbedDropout`), honoured by the image-classification
 * task: the pass comes from @asam/core's step (ρ = 0, so the perturbed pass sees w + 0 = w and its loss equals the clean
 * pass's exactly when it draws the same masks).
 */
import { initEngine } from '@asam/engine';
import { sharpnessAwareGradients } from '@asam/core';
import type { PerturbedDropout } from '@asam/train';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTaskModel } from './task-model.ts';

beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

/** Clean-pass and perturbed-pass loss of one ρ = 0 SAM step of a WRN with dropout 0.5 under `policy`. */
function passLosses(policy: PerturbedDropout, dropout = 0.5): { clean: number; perturbed: number } {
  const model = createTaskModel({ model: 'wrn10_1_tiny', numClasses: 10, inputShape: [8, 8, 3], seed: 4, dropout, labelSmoothing: 0.1, perturbedDropout: policy });
  const x = tf.randomUniform([4, 8, 8, 3], -1, 1, 'float32', 11);
  const y = tf.tensor1d([0, 3, 5, 9], 'int32');
  try {
    const tensors0 = tf.memory().numTensors;
    const r = sharpnessAwareGradients((part, pass) => {
      const f = model.forward({ x, y }, { step: 7, pass, part: 0, parts: 1 });
      tf.dispose(Object.values(f.sums ?? {}));
      return f.loss;
    }, model.trainable, { method: 'sam', rho: 0 });
    const out = { clean: r.loss.dataSync()[0]!, perturbed: r.perturbedLoss!.dataSync()[0]! };
    tf.dispose([r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
    expect(tf.memory().numTensors).toBe(tensors0);
    return out;
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

describe("optimizer.perturbedDropout in the image-classification task", () => {
  it("'reuse' draws the clean pass's masks in the perturbed pass, 'resample' fresh ones; the clean pass is the same under both", () => {
    const reuse = passLosses('reuse');
    const resample = passLosses('resample');
    expect(reuse.perturbed).toBe(reuse.clean);
    expect(resample.perturbed).not.toBe(resample.clean);
    expect(resample.clean).toBe(reuse.clean);
    // without dropout the policy changes nothing (the committed ResNet-20 runs)
    const none = passLosses('resample', 0);
    expect(none.perturbed).toBe(none.clean);
  }, 60_000);
});
