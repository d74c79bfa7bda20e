/**
 * SAM and ASAM steps against an independent PyTorch implementation (scripts/reference.py,
 * fixture test/fixtures/reference.json): weights after every step, the loss at w and at w + eps.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { sharpnessAware, type SharpnessConfig } from '../src/index';
import { makeMlp, relErr, useCpu } from './helpers';

interface Case {
  id: string; method: 'sam' | 'asam'; rho: number; eta?: number; p?: 2 | 'inf'; normalization?: 'elementwise' | 'filterwise';
  base: 'sgd' | 'momentum' | 'adam'; lr: number; wd: number;
  steps: { loss: number; perturbedLoss: number; weights: Record<string, number[]> }[];
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  x: number[]; xShape: number[]; y: number[]; init: Record<string, number[]>; shapes: Record<string, number[]>; cases: Case[];
};

describe('one SAM / ASAM step matches the PyTorch reference', () => {
  beforeAll(useCpu);
  for (const c of ref.cases) {
    it(`${c.id}: ${c.steps.length} steps to 1e-5 relative`, () => {
      const net = makeMlp(ref.init, ref.shapes, ref.x, ref.xShape, ref.y);
      const base = c.base === 'sgd' ? tf.train.sgd(c.lr) : c.base === 'momentum' ? tf.train.momentum(c.lr, 0.9) : tf.train.adam(c.lr, 0.9, 0.999, 1e-7);
      const config: SharpnessConfig = { method: c.method, rho: c.rho, weightDecay: c.wd };
      if (c.method === 'asam') Object.assign(config, { eta: c.eta, p: c.p, normalization: c.normalization });
      const opt = sharpnessAware(base, config);
      const names = ['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias'];
      for (const step of c.steps) {
        const loss = opt.minimize(() => net.loss(), true, net.vars)!;
        expect(Math.abs(loss.dataSync()[0]! - step.loss) / step.loss).toBeLessThan(1e-5);
        loss.dispose();
        names.forEach((n, i) => {
          expect(relErr(net.vars[i]!.dataSync(), step.weights[n]!), `${c.id} ${n}`).toBeLessThan(1e-5);
        });
      }
      opt.dispose();
      net.dispose();
    });
  }
});
