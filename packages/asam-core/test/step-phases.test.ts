/**
 * The step as explicit phases (`SharpnessAwareStep`: ascend with the clean gradient, descend with the perturbed one):
 * the one place the update rule lives, driven by `minimize` through `sharpnessAwareGradients` and, by hand, by callers
 * that take gradients elsewhere (data-parallel workers, through `beginStep`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { sam, sharpnessAware, sharpnessAwareGradients, sharpnessAwareStep, type Part, type Pass, type SharpnessConfig } from '../src/index';
import { makeMlp, useCpu, type Mlp } from './helpers';

const ref = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8'));

beforeAll(useCpu);

const snapshot = (vars: tf.Variable[]): number[][] => vars.map((v) => Array.from(v.dataSync()));

/** Mean gradient (in `vars` order) of `mlp` over parts `first … first + k − 1` of `count` (the whole batch when count is 1). */
function gradients(mlp: Mlp, first: number, k: number, count: number): tf.Tensor[] {
  const parts: (Part | undefined)[] = count === 1 ? [undefined] : Array.from({ length: k }, (_, j) => ({ index: first + j, count }));
  let sum: tf.Tensor[] | null = null;
  for (const p of parts) {
    const r = tf.variableGrads(() => mlp.loss(p), mlp.vars);
    const g = mlp.vars.map((v) => r.grads[v.name]!);
    r.value.dispose();
    if (sum === null) sum = g;
    else {
      const prev: tf.Tensor[] = sum;
      sum = prev.map((s, j) => tf.add(s, g[j]!));
      tf.dispose([...prev, ...g]);
    }
  }
  if (parts.length === 1) return sum!;
  const mean = sum!.map((s) => tf.div(s, parts.length));
  tf.dispose(sum!);
  return mean;
}

const configs: [string, SharpnessConfig][] = [
  ['sam', { method: 'sam', rho: 0.05 }],
  ['asam elementwise', { method: 'asam', rho: 0.5, eta: 0.01 }],
  ['asam p=inf', { method: 'asam', rho: 0.05, eta: 0.01, p: 'inf' }],
  ['asam filterwise, all variables', { method: 'asam', rho: 0.3, eta: 0.02, normalization: 'filterwise', normalizeParams: 'all' }],
  ['asam, weight decay in the ascent, clipping', { method: 'asam', rho: 0.5, weightDecay: 5e-3, weightDecayInAscent: true, clipNorm: 0.5 }],
  ['sam, every 2, weight decay', { method: 'sam', rho: 0.2, every: 2, weightDecay: 1e-2 }],
  ['asam, mSharpness 2, micro-batches 2', { method: 'asam', rho: 0.5, mSharpness: 2, microBatches: 2 }],
  ['none, weight decay', { method: 'none', rho: 0, weightDecay: 1e-2 }],
];

describe('beginStep: the phases driven by hand take the steps of minimize', () => {
  it.each(configs)('%s: bit for bit over 4 steps, w + ε is what the closure sees in its perturbed pass, and nothing leaks', (_, config) => {
    const a = makeMlp(ref);
    const b = makeMlp(ref);
    const optA = sharpnessAware(tf.train.momentum(0.1, 0.9), config);
    const optB = sharpnessAware(tf.train.momentum(0.1, 0.9), config);
    const k = optA.config.microBatches;
    try {
      let tensors = 0;
      for (let i = 0; i < 4; i++) {
        // minimize, recording the weights its closure sees in each perturbed pass
        const seen: number[][][] = [];
        optA.minimize((part, pass) => {
          if (pass === 'perturbed' && (part === undefined || part.index % k === 0)) seen.push(snapshot(a.vars));
          return a.loss(part);
        }, false, a.vars);

        const step = optB.beginStep(b.vars);
        expect(step.perturbs).toBe(config.method !== 'none' && i % (config.every ?? 1) === 0);
        const m = step.parts;
        const count = step.perturbs ? m * k : k;
        const perturbedWeights: number[][][] = [];
        for (let p = 0; p < m; p++) {
          const clean = gradients(b, p * k, k, count);
          if (step.perturbs) {
            expect(step.pass).toBe('clean');
            step.ascend(clean);
            tf.dispose(clean);
            expect(step.pass).toBe('perturbed');
            perturbedWeights.push(snapshot(b.vars));
            const g = gradients(b, p * k, k, count);
            expect(step.descend(g)).toBeNull();
            tf.dispose(g);
          } else {
            expect(step.descend(clean)).toBeNull();
            tf.dispose(clean);
          }
        }
        expect(step.done).toBe(true);
        expect(optB.stepCount).toBe(i + 1);
        expect(perturbedWeights).toEqual(seen);
        expect(snapshot(b.vars)).toEqual(snapshot(a.vars));
        // the base optimizers make their momentum slots in the first step; after it nothing accumulates
        if (i === 0) tensors = tf.memory().numTensors;
        else expect(tf.memory().numTensors).toBe(tensors);
      }
    } finally {
      for (const x of [optA, optB]) x.dispose();
      a.dispose();
      b.dispose();
    }
  });
});

describe('sharpnessAwareStep: the phases without an optimizer', () => {
  it('the last descend returns the descent gradient of sharpnessAwareGradients, bit for bit; w is restored exactly', () => {
    const mlp = makeMlp(ref);
    const config: SharpnessConfig = { method: 'asam', rho: 0.5, weightDecay: 5e-3, clipNorm: 1 };
    try {
      const before = snapshot(mlp.vars);
      const r = sharpnessAwareGradients((part) => mlp.loss(part), mlp.vars, config);
      const step = sharpnessAwareStep(mlp.vars, config);
      const clean = gradients(mlp, 0, 1, 1);
      step.ascend(clean);
      expect(snapshot(mlp.vars)).not.toEqual(before);
      const g = gradients(mlp, 0, 1, 1);
      const descent = step.descend(g)!;
      expect(snapshot(mlp.vars)).toEqual(before);
      expect(descent.map((t) => Array.from(t.dataSync()))).toEqual(mlp.vars.map((v) => Array.from(r.grads[v.name]!.dataSync())));
      tf.dispose([...clean, ...g, ...descent, r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
    } finally {
      mlp.dispose();
    }
  });

  it('shares weight the parts (data-parallel parts of unequal size): descend(g0, s0), descend(g1, s1) = s0·g0 + s1·g1', () => {
    const mlp = makeMlp(ref);
    try {
      const tensors = tf.memory().numTensors;
      const step = sharpnessAwareStep(mlp.vars, { method: 'sam', rho: 0.1, mSharpness: 2 });
      const got: tf.Tensor[][] = [];
      for (const [p, share] of [[0, 0.25], [1, 0.75]] as const) {
        const clean = gradients(mlp, p, 1, 2);
        step.ascend(clean);
        const g = gradients(mlp, p, 1, 2);
        got.push(g.map((t) => tf.mul(t, share)));
        const out = step.descend(g, { share });
        if (p === 0) expect(out).toBeNull();
        else {
          const want = got[0]!.map((t, j) => tf.add(t, got[1]![j]!));
          out!.forEach((t, j) => expect(Array.from(t.dataSync())).toEqual(Array.from(want[j]!.dataSync())));
          tf.dispose([...want, ...out!]);
        }
        tf.dispose([...clean, ...g]);
      }
      tf.dispose(got.flat());
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      mlp.dispose();
    }
  });

  it("restores the guarded state under 'clean-pass', keeps the perturbed pass's write under 'both-passes'", () => {
    const mlp = makeMlp(ref);
    const moving = tf.variable(tf.tensor1d([1, 2, 3]), false, 'step_phases_moving');
    try {
      const clean = gradients(mlp, 0, 1, 1);
      const run = (config: SharpnessConfig): number[] => {
        tf.tidy(() => moving.assign(tf.tensor1d([1, 2, 3])));
        const step = sharpnessAwareStep(mlp.vars, config, { guard: [moving] });
        step.ascend(clean);
        tf.tidy(() => moving.assign(tf.tensor1d([7, 8, 9]))); // the perturbed pass updates the statistic
        tf.dispose(step.descend(clean)!);
        return Array.from(moving.dataSync());
      };
      const tensors = tf.memory().numTensors;
      expect(run({ method: 'sam', rho: 0.1 })).toEqual([1, 2, 3]);
      expect(run({ method: 'sam', rho: 0.1, bnStatistics: 'both-passes' })).toEqual([7, 8, 9]);
      expect(tf.memory().numTensors).toBe(tensors);
      tf.dispose(clean);
    } finally {
      moving.dispose();
      mlp.dispose();
    }
  });

  it('refuses phases out of order, wrong gradients and a second open step; abort() restores w and frees everything', () => {
    const mlp = makeMlp(ref);
    const opt = sam(tf.train.sgd(0.1), { rho: 0.1 });
    try {
      const g = gradients(mlp, 0, 1, 1);
      const before = snapshot(mlp.vars);
      const tensors = tf.memory().numTensors;
      const plain = sharpnessAwareStep(mlp.vars, { method: 'none', rho: 0 });
      expect(() => plain.ascend(g)).toThrow(/takes no perturbed pass \(method 'none'\); call descend with the clean gradient/);
      const every = sharpnessAwareStep(mlp.vars, { method: 'sam', rho: 0.1 }, { perturb: false });
      expect(() => every.ascend(g)).toThrow(/a plain step of every/);
      const step = opt.beginStep(mlp.vars);
      expect(() => step.descend(g)).toThrow(/call ascend with the clean gradient first/);
      expect(() => step.ascend(g.slice(1))).toThrow(/got 3 gradients for 4 variables/);
      const scalars = g.map(() => tf.scalar(0));
      expect(() => step.ascend(scalars)).toThrow(/gradient 0 has shape \[\], variable .* has \[/);
      tf.dispose(scalars);
      step.ascend(g);
      expect(() => step.ascend(g)).toThrow(/already ascended/);
      expect(() => opt.beginStep(mlp.vars)).toThrow(/a step begun with beginStep\(\) is still open/);
      expect(() => opt.minimize(() => mlp.loss(), false, mlp.vars)).toThrow(/still open/);
      expect(() => opt.computeGradients(() => mlp.loss(), mlp.vars)).toThrow(/SharpnessAwareOptimizer\.computeGradients: a step begun with beginStep\(\) is still open/);
      expect(snapshot(mlp.vars)).not.toEqual(before);
      step.abort();
      expect(step.done).toBe(true);
      expect(snapshot(mlp.vars)).toEqual(before);
      expect(() => step.descend(g)).toThrow(/this step is finished/);
      expect(opt.stepCount).toBe(0);
      // an aborted step no longer blocks the optimizer
      opt.minimize(() => mlp.loss(), false, mlp.vars);
      expect(opt.stepCount).toBe(1);
      expect(tf.memory().numTensors).toBe(tensors); // plain SGD keeps no state per step
      tf.dispose(g);
    } finally {
      opt.dispose();
      mlp.dispose();
    }
  });
});

describe('the loss closure is told its pass', () => {
  it('minimize calls it with (part, pass): each part clean then perturbed, in order', () => {
    const mlp = makeMlp(ref);
    const opt = sam(tf.train.sgd(0.1), { rho: 0.1, mSharpness: 2, microBatches: 2 });
    try {
      const seen: string[] = [];
      opt.minimize((part: Part | undefined, pass: Pass) => {
        seen.push(`${pass[0]}${part!.index}/${part!.count}`);
        return mlp.loss(part);
      }, false, mlp.vars);
      expect(seen).toEqual(['c0/4', 'c1/4', 'p0/4', 'p1/4', 'c2/4', 'c3/4', 'p2/4', 'p3/4']);
      const plain: string[] = [];
      sharpnessAware(tf.train.sgd(0.1), { method: 'none', rho: 0 }).minimize((part, pass) => {
        plain.push(`${pass}:${part === undefined ? 'whole' : part.index}`);
        return mlp.loss(part);
      }, false, mlp.vars);
      expect(plain).toEqual(['clean:whole']);
    } finally {
      opt.dispose();
      mlp.dispose();
    }
  });
});
