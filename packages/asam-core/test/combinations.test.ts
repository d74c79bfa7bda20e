/**
 * Combinations of options that once passed silently with the wrong result: each is now either supported (and checked
 * here against what it should do) or refused with a one-line error naming the supported way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, readdirSync } from 'node:fs';
import { sam, sharpnessAware, type SharpnessConfig } from '../src/index';
import { SUPPORTED_TFJS_CORE, checkTfjsCoreVersion } from '../src/tfjs-internals';
import { makeMlp, useCpu } from './helpers';

const ref = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8'));

beforeAll(useCpu);

describe('guard and bnStatistics are one policy', () => {
  /** A model with one weight vector and one moving statistic that every training forward pass updates (m ← 0.9 m + 0.1 Σw). */
  function model(prefix: string) {
    const w = tf.variable(tf.tensor1d([1, 2]), true, `${prefix}/kernel`);
    const moving = tf.variable(tf.scalar(0), false, `${prefix}/moving_mean`);
    const f = () => {
      moving.assign(tf.add(tf.mul(moving, 0.9), tf.mul(tf.sum(w), 0.1)));
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    return { w, moving, f, dispose: () => tf.dispose([w, moving]) };
  }
  // clean pass: m = 0.1·3; perturbed pass at w + ε, ε = 0.5 g/|g| with g = 2w = (2, 4)
  const clean = 0.3;
  const both = 0.9 * 0.3 + 0.1 * (3 + (0.5 * 6) / Math.sqrt(20));

  it.each([
    ['clean-pass', 'found', clean],
    ['clean-pass', 'guarded', clean],
    ['both-passes', 'found', both],
    // the combination vision uses (guard: model.statistics with bnStatistics 'both-passes'): the guard used to win
    ['both-passes', 'guarded', both],
  ] as const)("bnStatistics '%s', statistic %s: a statistic written in each forward pass ends at the policy's value", (policy, guarded, want) => {
    const m = model(`policy_${policy}_${guarded}`);
    try {
      const opt = sam(tf.train.sgd(0.1), { rho: 0.5, bnStatistics: policy }, guarded === 'guarded' ? { guard: [m.moving] } : {});
      opt.minimize(m.f, false, [m.w]);
      opt.dispose();
      expect(m.moving.dataSync()[0]).toBeCloseTo(want, 6);
    } finally {
      m.dispose();
    }
  });
});

describe('computeGradients + applyGradients keep the tf.Optimizer contract', () => {
  const configs: [string, SharpnessConfig][] = [
    ['sam, every 2', { method: 'sam', rho: 0.05, every: 2 }],
    ['asam, every 3, weight decay and clipping', { method: 'asam', rho: 0.5, every: 3, weightDecay: 5e-3, clipNorm: 0.5 }],
  ];

  it.each(configs)('%s: computeGradients then applyGradients takes the same steps as minimize, bit for bit, and counts them', (_, config) => {
    const a = makeMlp(ref);
    const b = makeMlp(ref);
    const optA = sharpnessAware(tf.train.momentum(0.1, 0.9), config);
    const optB = sharpnessAware(tf.train.momentum(0.1, 0.9), config);
    try {
      let tensors = 0;
      for (let i = 0; i < 4; i++) {
        optA.minimize(() => a.loss(), false, a.vars);
        const { value, grads } = optB.computeGradients(() => b.loss(), b.vars);
        optB.applyGradients(grads);
        tf.dispose([value, ...Object.values(grads)]);
        expect(optB.stepCount).toBe(i + 1);
        expect(optB.nextStepPerturbs).toBe(optA.nextStepPerturbs);
        expect(b.vars.map((v) => Array.from(v.dataSync()))).toEqual(a.vars.map((v) => Array.from(v.dataSync())));
        // the base optimizers make their momentum slots in the first step; after it nothing accumulates
        if (i === 0) tensors = tf.memory().numTensors;
        else expect(tf.memory().numTensors).toBe(tensors);
      }
    } finally {
      optA.dispose();
      optB.dispose();
      a.dispose();
      b.dispose();
    }
  });

  it('applyGradients without a preceding computeGradients, or twice for one, is refused with the calls to make instead', () => {
    const mlp = makeMlp(ref);
    const opt = sam(tf.train.sgd(0.1), { rho: 0.05 });
    try {
      const zero = Object.fromEntries(mlp.vars.map((v) => [v.name, tf.zerosLike(v)]));
      expect(() => opt.applyGradients(zero)).toThrow(/applyGradients\(\) cannot take a sharpness-aware step from gradients alone.*Call minimize.*computeGradients\(f, vars\) and then applyGradients.*beginStep\(vars\), then ascend\(clean gradient\) and descend/);
      const { value, grads } = opt.computeGradients(() => mlp.loss(), mlp.vars);
      opt.applyGradients(grads);
      expect(() => opt.applyGradients(grads)).toThrow(/from gradients alone/);
      opt.minimize(() => mlp.loss(), false, mlp.vars);
      expect(() => opt.applyGradients(zero)).toThrow(/from gradients alone/);
      expect(opt.stepCount).toBe(2);
      tf.dispose([value, ...Object.values(grads), ...Object.values(zero)]);
    } finally {
      opt.dispose();
      mlp.dispose();
    }
  });
});

describe('tfjs internals sit behind one adapter with a version check', () => {
  const range = `>=${SUPPORTED_TFJS_CORE.min} <${SUPPORTED_TFJS_CORE.below}`;

  it('the loaded tfjs-core is in the supported range, and versions outside it are refused in one line naming the range', () => {
    expect(() => checkTfjsCoreVersion(tf.version_core)).not.toThrow();
    expect(() => checkTfjsCoreVersion('4.22.0')).not.toThrow();
    for (const v of ['3.21.0', '4.9.1', '5.0.0', 'unknown', undefined]) {
      expect(() => checkTfjsCoreVersion(v)).toThrow(`@asam/core supports @tensorflow/tfjs-core ${range}; this process loaded ${JSON.stringify(v)}`);
    }
    try {
      checkTfjsCoreVersion('3.0.0');
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('no other source module reads tfjs internals', () => {
    const dir = new URL('../src/', import.meta.url);
    const internal = /\bengine\(\)|\.dataId\b|\.activeScope\b|\.kept\b|\.accBeta|\.registeredVariables\b|\.makeTrainFunction\s*=|\.metricsTensors\b/;
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'tfjs-internals.ts')
      .filter((f) => {
        const code = readFileSync(new URL(f, dir), 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l));
        return code.some((l) => internal.test(l));
      });
    expect(offenders).toEqual([]);
  });
});
