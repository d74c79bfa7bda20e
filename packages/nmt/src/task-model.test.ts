/**
 * The dropout-mask policy of the perturbed pass (`optimizer.perturbedDropout`), honoured by the translation task: the
 * pass comes from @asam/core's step (ρ = 0, so the perturbed pass sees w + 0 = w and its loss equals the clean pass's
 * exactly when it draws the same masks).
 */
import { initEngine } from '@asam/engine';
import { sharpnessAwareGradients } from '@asam/core';
import type { PerturbedDropout } from '@asam/train';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPreset } from './presets.ts';
import { createTaskModel, dropoutSeed } from './task-model.ts';

beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

/** Clean-pass and perturbed-pass loss of one ρ = 0 SAM step of a tiny Transformer with dropout 0.3 under `policy`. */
function passLosses(policy: PerturbedDropout): { clean: number; perturbed: number } {
  const arch = { ...getPreset('transformer_tiny').arch, dropout: 0.3 };
  const model = createTaskModel({ arch, vocabSize: 20, padId: 0, seed: 2, labelSmoothing: 0.1, perturbedDropout: policy });
  const src = tf.tensor2d([[5, 6, 7, 8, 2], [9, 10, 11, 2, 0]], undefined, 'int32');
  const prevTokens = tf.tensor2d([[1, 12, 13, 14], [1, 15, 16, 0]], undefined, 'int32');
  const target = tf.tensor2d([[12, 13, 14, 2], [15, 16, 2, 0]], undefined, 'int32');
  try {
    const tensors0 = tf.memory().numTensors;
    const r = sharpnessAwareGradients((part, pass) => model.forward({ src, prevTokens, target }, { step: 3, pass, part: 0, parts: 1 }).loss,
      model.trainable, { method: 'sam', rho: 0 });
    const out = { clean: r.loss.dataSync()[0]!, perturbed: r.perturbedLoss!.dataSync()[0]! };
    tf.dispose([r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
    expect(tf.memory().numTensors).toBe(tensors0);
    return out;
  } finally {
    tf.dispose([src, prevTokens, target]);
    model.dispose();
  }
}

describe('optimizer.perturbedDropout in the translation task', () => {
  it("'reuse' draws the clean pass's masks in the perturbed pass, 'resample' fresh ones; the clean pass is the same under both", () => {
    const reuse = passLosses('reuse');
    const resample = passLosses('resample');
    expect(reuse.perturbed).toBe(reuse.clean);
    expect(resample.perturbed).not.toBe(resample.clean);
    expect(resample.clean).toBe(reuse.clean);
  }, 60_000);

  it('the clean stream keeps the seeds of the committed runs: ((seed + 1)·1000003 + step·7919 + part·104729) mod 2³¹ − 1', () => {
    expect(dropoutSeed(1, 5, 2)).toBe(2249059);
    expect(dropoutSeed(1, 5, 2, 0)).toBe(2249059);
    expect(dropoutSeed(1, 5, 2, 1)).not.toBe(2249059);
  });
});
