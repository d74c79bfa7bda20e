/**
 * The conformance suite every sharpness-aware optimizer passes, for SAM and ASAM over SGD,
 * momentum and Adam bases.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { sharpnessAware, type SharpnessConfig } from '../src/index';
import { makeMlp, useCpu, values } from './helpers';

const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const newMlp = () => makeMlp(ref.init, ref.shapes, ref.x, ref.xShape, ref.y);

const bases: Record<string, () => tf.Optimizer> = {
  sgd: () => tf.train.sgd(0.1),
  momentum: () => tf.train.momentum(0.05, 0.9),
  adam: () => tf.train.adam(0.05),
};
const methods: Record<string, (rho: number) => SharpnessConfig> = {
  sam: (rho) => ({ method: 'sam', rho }),
  asam: (rho) => ({ method: 'asam', rho, eta: 0.01 }),
  asam_filterwise: (rho) => ({ method: 'asam', rho, eta: 0.01, normalization: 'filterwise' }),
  asam_inf: (rho) => ({ method: 'asam', rho, eta: 0.01, p: 'inf' }),
};

/** An ill-conditioned quadratic 0.5 * sum(h_i (w_i - c_i)^2), minimum 0 at c. */
function quadratic() {
  const w = tf.variable(tf.tensor1d([2, -1.5, 0.7, 3]), true);
  const h = tf.tensor1d([1, 4, 0.5, 2]);
  const c = tf.tensor1d([1, 0.5, -0.3, 1.2]);
  const f = () => tf.mul(0.5, tf.sum(tf.mul(h, tf.square(tf.sub(w, c))))) as tf.Scalar;
  return { w, f, dispose: () => tf.dispose([w, h, c]) };
}

describe.each(Object.keys(methods))('%s conformance', (methodName) => {
  beforeAll(useCpu);
  const make = methods[methodName]!;

  describe.each(Object.keys(bases))('over %s', (baseName) => {
    it('converges on a quadratic', () => {
      const q = quadratic();
      const opt = sharpnessAware(bases[baseName]!(), make(0.01));
      const start = q.f().dataSync()[0]!;
      for (let i = 0; i < 300; i++) opt.minimize(q.f, false, [q.w]);
      const end = q.f().dataSync()[0]!;
      expect(end).toBeLessThan(1e-3 * start);
      opt.dispose();
      q.dispose();
    });

    it('rho = 0 reproduces the base optimizer bit for bit', () => {
      const a = newMlp();
      const b = newMlp();
      const plain = bases[baseName]!();
      const wrapped = sharpnessAware(bases[baseName]!(), make(0));
      for (let i = 0; i < 5; i++) {
        plain.minimize(() => a.loss(), false, a.vars);
        wrapped.minimize(() => b.loss(), false, b.vars);
      }
      const va = values(a.vars);
      const vb = values(b.vars);
      va.forEach((x, i) => expect(Array.from(vb[i]!)).toEqual(Array.from(x)));
      plain.dispose();
      wrapped.dispose();
      a.dispose();
      b.dispose();
    });

    it('restores w exactly before the base optimizer applies the gradient', () => {
      const net = newMlp();
      const base = bases[baseName]!();
      const seen: Float32Array[][] = [];
      const apply = base.applyGradients.bind(base);
      base.applyGradients = (g) => {
        seen.push(values(net.vars));
        apply(g);
      };
      const opt = sharpnessAware(base, make(0.5));
      const before = values(net.vars);
      opt.minimize(() => net.loss(), false, net.vars);
      expect(seen.length).toBe(1);
      seen[0]!.forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(before[i]!)));
      opt.dispose();
      net.dispose();
    });

    it('leaks no tensors over 100 steps', () => {
      const net = newMlp();
      const opt = sharpnessAware(bases[baseName]!(), make(0.1));
      for (let i = 0; i < 3; i++) opt.minimize(() => net.loss(), false, net.vars); // optimizer state allocated
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) {
        const l = opt.minimize(() => net.loss(), true, net.vars)!;
        l.dispose();
      }
      expect(tf.memory().numTensors).toBe(n0);
      opt.dispose();
      net.dispose();
    });

    it('state round-trips through getWeights/setWeights', async () => {
      const a = newMlp();
      const optA = sharpnessAware(bases[baseName]!(), make(0.1));
      for (let i = 0; i < 3; i++) optA.minimize(() => a.loss(), false, a.vars);
      const saved = await optA.getWeights();
      // a second run resumed from the saved weights and optimizer state
      const b = newMlp();
      b.vars.forEach((v, i) => v.assign(a.vars[i]!));
      const optB = sharpnessAware(bases[baseName]!(), make(0.1));
      await optB.setWeights(saved);
      expect(optB.stepCount).toBe(3);
      for (let i = 0; i < 3; i++) {
        optA.minimize(() => a.loss(), false, a.vars);
        optB.minimize(() => b.loss(), false, b.vars);
      }
      const va = values(a.vars);
      values(b.vars).forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(va[i]!)));
      expect(optB.getConfig()).toMatchObject({ method: make(0.1).method, rho: 0.1, base: bases[baseName]!().getClassName() });
      tf.dispose(saved.map((w) => w.tensor));
      optA.dispose();
      optB.dispose();
      a.dispose();
      b.dispose();
    });
  });
});
