import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { labelSmoothedLoss, meanLabelSmoothedLoss } from './loss.ts';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

interface Case { epsilon: number; pad: number; logits: number[][]; target: number[]; loss_sum: number; nll_sum: number; ntokens: number }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/label-smoothed-loss.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('labelSmoothedLoss', () => {
  it('uniform logits give log V for any epsilon (hand-derived)', () => {
    // l = -log V everywhere: nll = log V, smooth = V log V,
    // loss = (1-e-e/(V-1)) log V + e/(V-1) V log V = log V.
    for (const eps of [0, 0.1, 0.5]) {
      const logits = tf.zeros([3, 6]) as tf.Tensor2D;
      const target = tf.tensor1d([2, 5, 0], 'int32');
      const r = labelSmoothedLoss(logits, target, { epsilon: eps, padId: 0 });
      expect(r.ntokens.dataSync()[0]).toBe(2);
      expect(r.loss.dataSync()[0]).toBeCloseTo(2 * Math.log(6), 5);
      expect(r.nll.dataSync()[0]).toBeCloseTo(2 * Math.log(6), 5);
      tf.dispose([logits, target, r.loss, r.nll, r.ntokens]);
    }
  });

  it('one confident row, hand-computed', () => {
    // logits [0, ln 3] -> p = [1/4, 3/4]; target 1; V = 2, eps = 0.1: eps_i = 0.1,
    // loss = (1 - 0.1 - 0.1) * -ln(3/4) + 0.1 * (-ln(1/4) - ln(3/4)) = 0.8*0.287682 + 0.1*(1.386294+0.287682)
    const logits = tf.tensor2d([[0, Math.log(3)]]);
    const target = tf.tensor1d([1], 'int32');
    const r = labelSmoothedLoss(logits, target, { epsilon: 0.1, padId: 5 });
    expect(r.loss.dataSync()[0]).toBeCloseTo(0.8 * 0.2876821 + 0.1 * (1.3862944 + 0.2876821), 5);
    tf.dispose([logits, target, r.loss, r.nll, r.ntokens]);
  });

  it('matches PyTorch fairseq formula (fixture), ignoring padded targets', () => {
    for (const c of fixture.cases) {
      const logits = tf.tensor2d(c.logits);
      const target = tf.tensor1d(c.target, 'int32');
      const r = labelSmoothedLoss(logits, target, { epsilon: c.epsilon, padId: c.pad });
      expect(r.ntokens.dataSync()[0]).toBe(c.ntokens);
      expect(Math.abs(r.loss.dataSync()[0]! - c.loss_sum) / c.loss_sum).toBeLessThan(1e-5);
      expect(Math.abs(r.nll.dataSync()[0]! - c.nll_sum) / c.nll_sum).toBeLessThan(1e-5);
      const mean = meanLabelSmoothedLoss(logits, target, { epsilon: c.epsilon, padId: c.pad });
      expect(mean.dataSync()[0]).toBeCloseTo(c.loss_sum / c.ntokens, 4);
      tf.dispose([logits, target, r.loss, r.nll, r.ntokens, mean]);
    }
  });

  it('padded positions get zero gradient', () => {
    const logits = tf.tensor2d([[1, 2, 3], [3, 1, 0]]);
    const target = tf.tensor1d([2, 0], 'int32'); // row 1 is padding (pad = 0)
    const g = tf.grad((z: tf.Tensor) => meanLabelSmoothedLoss(z as tf.Tensor2D, target, { epsilon: 0.1, padId: 0 }))(logits);
    const a = g.arraySync() as number[][];
    expect(a[1]!.map((x) => x + 0)).toEqual([0, 0, 0]);
    expect(Math.abs(a[0]![0]!)).toBeGreaterThan(0);
    tf.dispose([logits, target, g]);
  });

  it('rejects a bad epsilon', () => {
    const logits = tf.zeros([1, 3]) as tf.Tensor2D;
    const target = tf.tensor1d([1], 'int32');
    expect(() => labelSmoothedLoss(logits, target, { epsilon: 1, padId: 0 })).toThrow(/epsilon = 1.*\[0, 1\)/);
    tf.dispose([logits, target]);
  });
});
