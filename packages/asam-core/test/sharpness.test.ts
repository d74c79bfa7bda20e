/** Sharpness and adaptive sharpness: hand-derived values and the scale invariance of the adaptive measure. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { adaptiveSharpness, sharpness } from '../src/index';
import { useCpu } from './helpers';

beforeAll(useCpu);

describe('hand-derived values', () => {
  // L(w) = 0.5 * h * w^2 at w = 1: the max over |eps| <= r of L(1 + eps) - L(1) is at eps = +r
  const h = 2;
  const setup = () => {
    const w = tf.variable(tf.tensor1d([1]), true, `q${Math.random()}/kernel`);
    return { w, f: () => tf.mul(0.5 * h, tf.sum(tf.square(w))) as tf.Scalar };
  };

  it('sharpness of a 1-D quadratic = 0.5 h ((1 + rho)^2 - 1)', () => {
    const { w, f } = setup();
    expect(sharpness(f, [w], { rho: 0.1 })).toBeCloseTo(0.5 * h * (1.1 ** 2 - 1), 5);
    expect(sharpness(f, [w], { rho: 0.1, p: 'inf' })).toBeCloseTo(0.5 * h * (1.1 ** 2 - 1), 5);
    expect(Array.from(w.dataSync())).toEqual([1]); // restored
    w.dispose();
  });

  it('adaptive sharpness of the same quadratic uses the radius rho (|w| + eta)', () => {
    const { w, f } = setup();
    const r = 0.1 * (1 + 0.01);
    expect(adaptiveSharpness(f, [w], { rho: 0.1, eta: 0.01 })).toBeCloseTo(0.5 * h * ((1 + r) ** 2 - 1), 5);
    w.dispose();
  });

  it('a 2-D quadratic with an off-axis maximiser is found by the projected ascent', () => {
    // L = 0.5 (4 x^2 + y^2) at (1, 1), rho = 0.5: max on the circle; checked against a dense grid search
    const w = tf.variable(tf.tensor1d([1, 1]), true, 'q2/kernel');
    const hh = tf.tensor1d([4, 1]);
    const f = () => tf.mul(0.5, tf.sum(tf.mul(hh, tf.square(w)))) as tf.Scalar;
    let best = 0;
    for (let k = 0; k < 100000; k++) {
      const t = (2 * Math.PI * k) / 100000;
      const x = 1 + 0.5 * Math.cos(t);
      const y = 1 + 0.5 * Math.sin(t);
      best = Math.max(best, 0.5 * (4 * x * x + y * y) - 2.5);
    }
    expect(sharpness(f, [w], { rho: 0.5, steps: 20 })).toBeCloseTo(best, 4);
    tf.dispose([w, hh]);
  });

  it('options are validated', () => {
    const { w, f } = setup();
    expect(() => sharpness(f, [w], { rho: -1 })).toThrow(/'rho': got -1/);
    expect(() => sharpness(f, [w], { rho: 1, steps: 0 })).toThrow(/'steps': got 0/);
    expect(() => adaptiveSharpness(f, [w], { rho: 1, eta: -0.1 })).toThrow(/'eta': got -0.1/);
    w.dispose();
  });
});

describe('scale invariance (Kwon et al. 2021, Theorem 1)', () => {
  // relu(x W1) W2 + b2: scaling W1 by a and W2 by 1/a leaves the function, hence the loss, unchanged
  function network(alpha: number) {
    const rng = (seed: number, n: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.8);
    const w1 = tf.variable(tf.mul(tf.tensor2d(rng(1, 6 * 8), [6, 8]), alpha), true, `inv${alpha}/dense1/kernel`);
    const w2 = tf.variable(tf.div(tf.tensor2d(rng(2, 8 * 3), [8, 3]), alpha), true, `inv${alpha}/dense2/kernel`);
    const b2 = tf.variable(tf.tensor1d([0.1, -0.2, 0.05]), true, `inv${alpha}/dense2/bias`);
    const x = tf.tensor2d(rng(3, 16 * 6), [16, 6]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2, 1, 1, 0, 2], 'int32'), 3);
    const f = () =>
      tf.tidy(() => {
        const logits = tf.add(tf.matMul(tf.relu(tf.matMul(x, w1)), w2), b2);
        return tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;
      });
    return { vars: [w1, w2, b2], f, dispose: () => tf.dispose([w1, w2, b2, x, y]) };
  }

  it('rescaling one ReLU layer by 3 and the next by 1/3 leaves loss and adaptive sharpness unchanged, not plain sharpness', () => {
    const a = network(1);
    const b = network(3);
    const la = a.f().dataSync()[0]!;
    const lb = b.f().dataSync()[0]!;
    expect(Math.abs(la - lb) / la).toBeLessThan(1e-5);
    const opts = { rho: 0.5, eta: 0, steps: 10 };
    const asA = adaptiveSharpness(a.f, a.vars, opts);
    const asB = adaptiveSharpness(b.f, b.vars, opts);
    expect(asA).toBeGreaterThan(1e-3);
    // tolerance: float32 rounding through 10 ascent steps
    expect(Math.abs(asA - asB) / asA).toBeLessThan(1e-3);
    const sA = sharpness(a.f, a.vars, { rho: 0.05, steps: 10 });
    const sB = sharpness(b.f, b.vars, { rho: 0.05, steps: 10 });
    expect(Math.abs(sA - sB) / sA).toBeGreaterThan(0.2);
    // with eta = 0.01 (the paper's default) invariance holds approximately
    const eA = adaptiveSharpness(a.f, a.vars, { rho: 0.5, eta: 0.01 });
    const eB = adaptiveSharpness(b.f, b.vars, { rho: 0.5, eta: 0.01 });
    expect(Math.abs(eA - eB) / eA).toBeLessThan(0.1);
    a.dispose();
    b.dispose();
  });

  it('leaves no tensors behind', () => {
    const a = network(2);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      adaptiveSharpness(a.f, a.vars, { rho: 0.5 });
      sharpness(a.f, a.vars, { rho: 0.05, p: 'inf' });
    }
    expect(tf.memory().numTensors).toBe(n0);
    a.dispose();
  });
});
