/** perturbWeights: the ascent half of a step for a clean gradient averaged elsewhere (data-parallel workers). */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { perturbWeights, sharpnessAwareGradients, type SharpnessConfig } from '../src/index';
import { makeMlp, useCpu } from './helpers';

const ref = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8'));

beforeAll(useCpu);

const snapshot = (vars: tf.Variable[]): Float32Array[] => vars.map((v) => Float32Array.from(v.dataSync()));

describe('perturbWeights', () => {
  const configs: [string, SharpnessConfig][] = [
    ['sam', { method: 'sam', rho: 0.05 }],
    ['asam elementwise', { method: 'asam', rho: 0.5, eta: 0.01 }],
    ['asam p=inf', { method: 'asam', rho: 0.05, eta: 0.01, p: 'inf' }],
    ['asam filterwise, all variables', { method: 'asam', rho: 0.3, eta: 0.02, normalization: 'filterwise', normalizeParams: 'all' }],
    ['asam, weight decay in the ascent', { method: 'asam', rho: 0.5, eta: 0.01, weightDecay: 5e-3, weightDecayInAscent: true }],
  ];

  it.each(configs)('%s: w + ε equals the weights of sharpnessAwareGradients\' perturbed pass bit for bit, and restore() gives w back exactly', (_, config) => {
    const mlp = makeMlp(ref);
    try {
      const before = snapshot(mlp.vars);
      // the existing algorithm: record the weights its perturbed pass (the second evaluation) sees
      let calls = 0;
      let seen: Float32Array[] = [];
      const r = sharpnessAwareGradients((part) => {
        if (++calls === 2) seen = snapshot(mlp.vars);
        return mlp.loss(part);
      }, mlp.vars, config);
      tf.dispose([r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
      expect(calls).toBe(2);
      expect(snapshot(mlp.vars)).toEqual(before);

      const clean = tf.variableGrads(() => mlp.loss(), mlp.vars);
      const g = mlp.vars.map((v) => clean.grads[v.name]!);
      const restore = perturbWeights(g, mlp.vars, config);
      const perturbed = snapshot(mlp.vars);
      restore();
      tf.dispose([clean.value, ...g]);

      expect(perturbed).toEqual(seen);
      expect(perturbed).not.toEqual(before);
      expect(snapshot(mlp.vars)).toEqual(before);
    } finally {
      mlp.dispose();
    }
  });

  it('restores the guarded state, frees what it saved, and refuses misuse', () => {
    const mlp = makeMlp(ref);
    const moving = tf.variable(tf.tensor1d([1, 2, 3]), false, 'perturb_weights_moving');
    try {
      const clean = tf.variableGrads(() => mlp.loss(), mlp.vars);
      const g = mlp.vars.map((v) => clean.grads[v.name]!);
      const before = snapshot(mlp.vars);
      const tensors = tf.memory().numTensors;
      const restore = perturbWeights(g, mlp.vars, { method: 'sam', rho: 0.1 }, { guard: [moving] });
      tf.tidy(() => moving.assign(tf.tensor1d([7, 8, 9]))); // a perturbed training pass updates the moving statistics
      restore();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(Array.from(moving.dataSync())).toEqual([1, 2, 3]);
      expect(snapshot(mlp.vars)).toEqual(before);
      expect(() => restore()).toThrow(/already called/);
      expect(() => perturbWeights(g, mlp.vars, { method: 'none', rho: 0 })).toThrow(/method 'none' takes no perturbed pass/);
      expect(() => perturbWeights(g.slice(1), mlp.vars, { method: 'sam', rho: 0.1 })).toThrow(/got 3 gradients for 4 variables/);
      expect(tf.memory().numTensors).toBe(tensors);
      tf.dispose([clean.value, ...g]);
    } finally {
      moving.dispose();
      mlp.dispose();
    }
  });
});
