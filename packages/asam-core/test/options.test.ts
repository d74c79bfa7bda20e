/** Options of the sharpness-aware step: validation, guard, m-sharpness, every-k, weight decay, clipping. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import {
  ConfigError, SharpnessAwareOptimizer, asam, defaultNormalizeFilter, resolveSharpnessConfig, sam, sharpnessAware, sharpnessAwareGradients,
  type SharpnessConfig,
} from '../src/index';
import { makeMlp, relErr, useCpu, values } from './helpers';

const ref = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8'));
const newMlp = () => makeMlp(ref);

beforeAll(useCpu);

describe('validation', () => {
  const bad: [Partial<SharpnessConfig> & Record<string, unknown>, RegExp][] = [
    [{ method: 'sam', rho: -0.1 }, /'rho': got -0\.1; expected a finite number >= 0/],
    [{ method: 'asam', rho: 0.5, eta: -1 }, /'eta': got -1; expected a finite number >= 0/],
    [{ method: 'asam', rho: 0.5, p: 1 as never }, /'p': got 1; expected 2 or 'inf'/],
    [{ method: 'asam', rho: 0.5, normalization: 'layerwise' as never }, /'normalization': got "layerwise"; expected 'elementwise' or 'filterwise'/],
    [{ method: 'adam' as never, rho: 0.5 }, /'method': got "adam"; expected one of none, sam, asam/],
    [{ method: 'sam', rho: Number.NaN }, /'rho'/],
    [{ method: 'sam', rho: 0.1, mSharpness: 0 }, /'mSharpness': got 0; expected an integer >= 1/],
    [{ method: 'sam', rho: 0.1, every: 1.5 }, /'every': got 1.5/],
    [{ method: 'sam', rho: 0.1, microBatches: 0 }, /'microBatches': got 0; expected an integer >= 1/],
    [{ method: 'none', rho: 0, microBatches: 2.5 }, /'microBatches': got 2.5/],
    [{ method: 'sam', rho: 0.1, clipNorm: 0 }, /'clipNorm': got 0/],
    [{ method: 'sam', rho: 0.1, rh0: 3 }, /'rh0'.*no such option; valid options are method, rho/],
    [{ method: 'asam', rho: 0.5, normalizeParams: 'kernels' as never }, /'normalizeParams': got "kernels"; expected one of except-bias-and-beta, all, custom/],
    [{ method: 'sam', rho: 0.1, bnStatistics: 'perturbed' as never }, /'bnStatistics': got "perturbed"; expected one of clean-pass, both-passes/],
  ];
  it.each(bad)('%j is refused with a message naming option, value and range', (cfg, msg) => {
    expect(() => resolveSharpnessConfig(cfg as SharpnessConfig)).toThrow(ConfigError);
    expect(() => resolveSharpnessConfig(cfg as SharpnessConfig)).toThrow(msg);
  });

  it('an empty or invalid variable list is refused', () => {
    expect(() => sharpnessAwareGradients(() => tf.scalar(0), [], { method: 'sam', rho: 0.1 })).toThrow(/empty list/);
    const frozen = tf.variable(tf.scalar(1), false, 'frozen');
    expect(() => sharpnessAwareGradients(() => tf.mul(frozen, 1) as tf.Scalar, [frozen], { method: 'sam', rho: 0.1 })).toThrow(/'frozen' is not trainable/);
    frozen.dispose();
  });

  it('applyGradients alone explains that the closure is needed', () => {
    const opt = sam(tf.train.sgd(0.1), { rho: 0.05 });
    expect(() => opt.applyGradients({})).toThrow(/need the loss closure\. Call minimize/);
  });

  it('the default ASAM filter excludes biases and BN beta only', () => {
    const names = { 'conv2d_1/kernel': true, 'dense/bias': false, 'batch_normalization_3/gamma': true, 'batch_normalization_3/beta': false, 'embedding/embeddings': true, 'dense/bias_1': false, 'enc/layer0/ln1/beta': false, 'my_bias_term/kernel': true };
    for (const [n, want] of Object.entries(names)) {
      const v = tf.variable(tf.scalar(0), true, `f${Math.random()}/${n}`);
      expect(defaultNormalizeFilter(v), n).toBe(want);
      v.dispose();
    }
  });
});

describe('guarded state (BatchNorm moving statistics)', () => {
  it('after a SAM step the guarded variable holds its value from the clean pass', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'g/kernel');
    const moving = tf.variable(tf.scalar(0), false, 'g/moving_mean');
    // the closure updates a moving average of sum(w), as BatchNorm does in training mode
    const f = () => {
      moving.assign(tf.add(tf.mul(moving, 0.9), tf.mul(tf.sum(w), 0.1)));
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    const opt = sam(tf.train.sgd(0.1), { rho: 0.5 }, { guard: [moving] });
    opt.minimize(f, false, [w]);
    expect(moving.dataSync()[0]).toBeCloseTo(0.3, 6); // one clean-pass update: 0.1 * (1 + 2)
    // without a guard, state the clean pass writes is found and restored all the same
    const moving2 = tf.variable(tf.scalar(0), false, 'g2/moving_mean');
    const w2 = tf.variable(tf.tensor1d([1, 2]), true, 'g2/kernel');
    let calls = 0;
    const f2 = () => {
      calls++;
      moving2.assign(tf.add(tf.mul(moving2, 0.9), tf.mul(tf.sum(w2), 0.1)));
      return tf.sum(tf.square(w2)) as tf.Scalar;
    };
    sam(tf.train.sgd(0.1), { rho: 0.5 }).minimize(f2, false, [w2]);
    expect(calls).toBe(2); // the perturbed pass did write it (at w + eps), and it was restored
    expect(moving2.dataSync()[0]).toBeCloseTo(0.3, 6);
    // read()/write() objects (tfjs-layers LayerVariable) are guarded too
    const box = { v: tf.variable(tf.scalar(5), false, 'g3/moving'), read() { return this.v; }, write(t: tf.Tensor) { this.v.assign(t as tf.Scalar); } };
    const w3 = tf.variable(tf.tensor1d([1, 2]), true, 'g3/kernel');
    const f3 = () => {
      box.v.assign(tf.add(box.v, 1));
      return tf.sum(tf.square(w3)) as tf.Scalar;
    };
    sam(tf.train.sgd(0.1), { rho: 0.5 }, { guard: [box] }).minimize(f3, false, [w3]);
    expect(box.v.dataSync()[0]).toBe(6);
    // state created and written by the clean pass (a layer built by its first call) keeps its clean-pass value too
    let lazy: tf.Variable | null = null;
    const f4 = () => {
      lazy ??= tf.variable(tf.scalar(0), false, 'g4/moving_mean');
      lazy.assign(tf.add(tf.mul(lazy, 0.9), tf.mul(tf.sum(w3), 0.1)));
      return tf.sum(tf.square(w3)) as tf.Scalar;
    };
    const w3Before = tf.sum(w3).dataSync()[0]!;
    sam(tf.train.sgd(0.1), { rho: 0.5 }).minimize(f4, false, [w3]);
    expect(lazy!.dataSync()[0]).toBeCloseTo(0.1 * w3Before, 6);
    tf.dispose(lazy!);
    tf.dispose([w, moving, moving2, w2, box.v, w3]);
  });

  it('state written only by the perturbed pass is refused unless guarded; a closure that keeps tensors is refused', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'u/kernel');
    const late = tf.variable(tf.scalar(0), false, 'u/late');
    let calls = 0;
    const f = () => {
      if (calls++ % 2 === 1) late.assign(tf.add(late, 1)); // writes in the perturbed pass only
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    const w0 = Array.from(w.dataSync());
    expect(() => sam(tf.train.sgd(0.1), { rho: 0.5 }).minimize(f, false, [w])).toThrow(/'u\/late' that the clean pass did not write.*guard/);
    expect(Array.from(w.dataSync())).toEqual(w0);
    late.assign(tf.scalar(0));
    sam(tf.train.sgd(0.1), { rho: 0.5 }, { guard: [late] }).minimize(f, false, [w]);
    expect(late.dataSync()[0]).toBe(0);

    const opt = sam(tf.train.sgd(0.1), { rho: 0.5 });
    const before = tf.memory().numTensors;
    let kept: tf.Tensor | null = null;
    const keepingOnce = () => {
      const t = tf.keep(tf.mul(w, 2));
      if (kept == null) kept = t; // the clean pass's tensor stays the caller's
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    expect(() => opt.minimize(keepingOnce, false, [w])).toThrow(/kept 1 tensor\(s\) with tf.keep\(\).*\{ model \}/);
    expect(tf.memory().numTensors).toBe(before + 1); // the clean pass's kept tensor; the perturbed pass's was freed
    tf.dispose(kept!);
    opt.dispose();
    tf.dispose([w, late]);
  });

  it('weights are restored even when the perturbed pass throws', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'thr/kernel');
    let calls = 0;
    const f = () => {
      if (++calls === 2) throw new Error('boom');
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    expect(() => sharpnessAwareGradients(f, [w], { method: 'sam', rho: 0.5 })).toThrow('boom');
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
    w.dispose();
  });
});

describe('micro-batches (gradient accumulation)', () => {
  const configs: SharpnessConfig[] = [
    { method: 'none', rho: 0 },
    { method: 'sam', rho: 0.2 },
    { method: 'asam', rho: 1.0, eta: 0.01 },
    { method: 'asam', rho: 1.0, mSharpness: 2 },
  ];
  for (const cfg of configs) {
    it(`${JSON.stringify(cfg)}: 2 and 4 micro-batches give the whole-batch step (loss, perturbed loss, gradients)`, () => {
      const net = newMlp();
      const whole = sharpnessAwareGradients(net.loss, net.vars, cfg);
      for (const k of [2, 4]) {
        const acc = sharpnessAwareGradients(net.loss, net.vars, { ...cfg, microBatches: k });
        expect(acc.loss.dataSync()[0]).toBeCloseTo(whole.loss.dataSync()[0]!, 6);
        if (cfg.method !== 'none') expect(acc.perturbedLoss!.dataSync()[0]).toBeCloseTo(whole.perturbedLoss!.dataSync()[0]!, 6);
        else expect(acc.perturbedLoss).toBeNull();
        for (const v of net.vars) {
          expect(relErr(acc.grads[v.name]!.dataSync(), whole.grads[v.name]!.dataSync()), `${v.name}, k = ${k}`).toBeLessThan(1e-5);
        }
        tf.dispose([acc.loss, ...(acc.perturbedLoss ? [acc.perturbedLoss] : []), ...Object.values(acc.grads)]);
      }
      tf.dispose([whole.loss, ...(whole.perturbedLoss ? [whole.perturbedLoss] : []), ...Object.values(whole.grads)]);
      net.dispose();
    });
  }

  it('the closure sees each part once per pass (m = 2, k = 2: parts 0-1 for the first epsilon, 2-3 for the second)', () => {
    const net = newMlp();
    const seen: string[] = [];
    const r = sharpnessAwareGradients((p, pass) => { seen.push(`${pass} ${p!.index}/${p!.count}`); return net.loss(p); }, net.vars,
      { method: 'sam', rho: 0.1, mSharpness: 2, microBatches: 2 });
    // clean 0,1 then perturbed 0,1 (first epsilon), clean 2,3 then perturbed 2,3 (second epsilon)
    expect(seen).toEqual(['clean 0/4', 'clean 1/4', 'perturbed 0/4', 'perturbed 1/4', 'clean 2/4', 'clean 3/4', 'perturbed 2/4', 'perturbed 3/4']);
    tf.dispose([r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
    net.dispose();
  });

  it('the wrapper takes the same steps with micro-batches, setMicroBatches validates, and nothing leaks', () => {
    const a = newMlp();
    const b = newMlp();
    const optA = sharpnessAware(tf.train.momentum(0.1, 0.9), { method: 'asam', rho: 0.5 });
    const optB = sharpnessAware(tf.train.momentum(0.1, 0.9), { method: 'asam', rho: 0.5, microBatches: 4 });
    optA.minimize(() => a.loss(), false, a.vars);
    optB.minimize((p) => b.loss(p), false, b.vars);
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      optA.minimize(() => a.loss(), false, a.vars);
      optB.minimize((p) => b.loss(p), false, b.vars);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    values(a.vars).forEach((va, j) => expect(relErr(values(b.vars)[j]!, va)).toBeLessThan(1e-5));
    optB.setMicroBatches(2);
    expect(optB.config.microBatches).toBe(2);
    expect(() => optB.setMicroBatches(0)).toThrow(/'microBatches': got 0/);
    expect(optB.config.microBatches).toBe(2);
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
  });

  it('a closure that throws in the middle of the micro-batches leaves weights as they were and leaks nothing', () => {
    const net = newMlp();
    const before = values(net.vars);
    const tensors = tf.memory().numTensors;
    let calls = 0;
    const f = (p?: { index: number; count: number }) => {
      if (++calls === 3) throw new Error('boom');
      return net.loss(p);
    };
    expect(() => sharpnessAwareGradients(f, net.vars, { method: 'sam', rho: 0.3, microBatches: 2 })).toThrow('boom');
    expect(tf.memory().numTensors).toBe(tensors);
    values(net.vars).forEach((v, j) => expect(Array.from(v)).toEqual(Array.from(before[j]!)));
    net.dispose();
  });
});

describe('m-sharpness and every-k', () => {
  it('m = 2 averages the per-half sharpness-aware gradients', () => {
    const net = newMlp();
    const cfg: SharpnessConfig = { method: 'asam', rho: 0.5 };
    const both = sharpnessAwareGradients(net.loss, net.vars, { ...cfg, mSharpness: 2 });
    const h0 = sharpnessAwareGradients(() => net.loss({ index: 0, count: 2 }), net.vars, cfg);
    const h1 = sharpnessAwareGradients(() => net.loss({ index: 1, count: 2 }), net.vars, cfg);
    for (const v of net.vars) {
      const want = tf.div(tf.add(h0.grads[v.name]!, h1.grads[v.name]!), 2);
      const got = both.grads[v.name]!.dataSync();
      want.dataSync().forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
      want.dispose();
    }
    // and it differs from the whole-batch SAM gradient
    const whole = sharpnessAwareGradients(net.loss, net.vars, cfg);
    const k = net.vars[0]!.name;
    expect(Array.from(whole.grads[k]!.dataSync())).not.toEqual(Array.from(both.grads[k]!.dataSync()));
    for (const r of [both, h0, h1, whole]) tf.dispose([r.loss, r.perturbedLoss!, ...Object.values(r.grads)]);
    net.dispose();
  });

  it('every = 2 alternates sharpness-aware and plain steps', () => {
    const a = newMlp();
    const b = newMlp();
    const optA = sharpnessAware(tf.train.momentum(0.1, 0.9), { method: 'sam', rho: 0.2, every: 2 });
    const baseB = tf.train.momentum(0.1, 0.9);
    for (let i = 0; i < 4; i++) {
      optA.minimize(() => a.loss(), false, a.vars);
      const r = sharpnessAwareGradients(() => b.loss(), b.vars, { method: i % 2 === 0 ? 'sam' : 'none', rho: 0.2 });
      baseB.applyGradients(b.vars.map((v) => ({ name: v.name, tensor: r.grads[v.name]! })));
      tf.dispose([r.loss, ...Object.values(r.grads)]);
      r.perturbedLoss?.dispose();
    }
    const va = values(a.vars);
    values(b.vars).forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(va[i]!)));
    a.dispose();
    b.dispose();
  });
});

describe('weight decay and clipping', () => {
  // linear loss L(w) = c . w: gradient c everywhere, so eps is visible in L(w + eps)
  const c = [3, 4];
  const setup = () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, `lin${Math.random()}/kernel`);
    const ct = tf.tensor1d(c);
    return { w, f: () => tf.sum(tf.mul(ct, w)) as tf.Scalar, dispose: () => tf.dispose([w, ct]) };
  };

  it('weight decay enters the descent gradient at the restored w (and the ascent only on request)', () => {
    const s = setup();
    const wd = 0.5;
    const r = sharpnessAwareGradients(s.f, [s.w], { method: 'sam', rho: 1, weightDecay: wd });
    // descent: c + wd * w = [3.5, 3]
    expect(Array.from(r.grads[s.w.name]!.dataSync())).toEqual([3.5, 3]);
    // ascent without decay: eps = c / |c| = [0.6, 0.8]; L(w + eps) = -5 + 5 = 0
    expect(r.perturbedLoss!.dataSync()[0]).toBeCloseTo(0, 6);
    const r2 = sharpnessAwareGradients(s.f, [s.w], { method: 'sam', rho: 1, weightDecay: wd, weightDecayInAscent: true });
    // ascent gradient [3.5, 3], eps = [3.5, 3] / sqrt(21.25); L(w + eps) = -5 + (10.5 + 12) / sqrt(21.25)
    expect(r2.perturbedLoss!.dataSync()[0]).toBeCloseTo(-5 + 22.5 / Math.sqrt(21.25), 5);
    for (const x of [r, r2]) tf.dispose([x.loss, x.perturbedLoss!, ...Object.values(x.grads)]);
    s.dispose();
  });

  it('clipNorm scales the descent gradient to the given global norm before weight decay', () => {
    const s = setup();
    const r = sharpnessAwareGradients(s.f, [s.w], { method: 'none', rho: 0, clipNorm: 1, weightDecay: 0.1 });
    const g = r.grads[s.w.name]!.dataSync();
    expect(g[0]).toBeCloseTo(0.6 + 0.1, 5);
    expect(g[1]).toBeCloseTo(0.8 - 0.2, 5);
    tf.dispose([r.loss, ...Object.values(r.grads)]);
    s.dispose();
  });

  it('asam() and sam() factories set the method and learning rate delegates to the base', () => {
    const o = asam(tf.train.sgd(0.1), { rho: 0.5, eta: 0.02, normalization: 'filterwise' });
    expect(o.config).toMatchObject({ method: 'asam', rho: 0.5, eta: 0.02, normalization: 'filterwise', p: 2 });
    expect(o.learningRate).toBe(0.1);
    o.setLearningRate(0.05);
    expect(o.learningRate).toBe(0.05);
    expect((o.base as unknown as { learningRate: number }).learningRate).toBe(0.05);
    expect(() => o.setLearningRate(-1)).toThrow(/Invalid learning rate: got -1/);
  });
});

describe('named, serializable options: normalizeParams and bnStatistics', () => {
  const step = (make: () => SharpnessAwareOptimizer) => {
    const net = newMlp();
    const opt = make();
    for (let i = 0; i < 2; i++) opt.minimize(() => net.loss(), false, net.vars);
    const out = values(net.vars);
    opt.dispose();
    net.dispose();
    return out;
  };
  const same = (a: Float32Array[], b: Float32Array[]) => a.forEach((x, i) => expect(Array.from(b[i]!)).toEqual(Array.from(x)));

  it("normalizeParams names the filter: the default is defaultNormalizeFilter, 'all' normalizes biases too", () => {
    const byDefault = step(() => asam(tf.train.sgd(0.1), { rho: 0.5 }));
    same(byDefault, step(() => asam(tf.train.sgd(0.1), { rho: 0.5, normalizeParams: 'except-bias-and-beta' })));
    same(byDefault, step(() => asam(tf.train.sgd(0.1), { rho: 0.5 }, { normalizeFilter: defaultNormalizeFilter })));
    const all = step(() => asam(tf.train.sgd(0.1), { rho: 0.5, normalizeParams: 'all' }));
    same(all, step(() => asam(tf.train.sgd(0.1), { rho: 0.5 }, { normalizeFilter: () => true })));
    // the biases' T changes from 1 to |b| + eta, so the step differs
    expect(Array.from(all[1]!)).not.toEqual(Array.from(byDefault[1]!));
    expect(asam(tf.train.sgd(0.1), { rho: 0.5 }).config.normalizeParams).toBe('except-bias-and-beta');
  });

  it('a filter function is recorded as custom, conflicts are refused, and a rebuilt optimizer needs the function again', () => {
    const onlyKernels = (v: tf.Variable) => v.name.endsWith('kernel');
    const opt = asam(tf.train.sgd(0.1), { rho: 0.5 }, { normalizeFilter: onlyKernels });
    expect(opt.getConfig()).toMatchObject({ normalizeParams: 'custom', bnStatistics: 'clean-pass' });
    expect(() => asam(tf.train.sgd(0.1), { rho: 0.5, normalizeParams: 'all' }, { normalizeFilter: onlyKernels })).toThrow(/'normalizeParams': got "all"; expected 'custom' or left out/);
    const rebuilt = SharpnessAwareOptimizer.fromConfig(SharpnessAwareOptimizer, JSON.parse(JSON.stringify(opt.getConfig()))) as SharpnessAwareOptimizer;
    const net = newMlp();
    const w0 = values(net.vars);
    expect(() => rebuilt.minimize(() => net.loss(), false, net.vars)).toThrow(/'normalizeParams': got "custom".*setNormalizeFilter/);
    same(w0, values(net.vars));
    rebuilt.setNormalizeFilter(onlyKernels);
    expect(() => asam(tf.train.sgd(0.1), { rho: 0.5 }).setNormalizeFilter(onlyKernels)).toThrow(/'normalizeParams'/);
    net.dispose();
    same(step(() => opt), step(() => rebuilt));
  });

  it('named options round-trip through getConfig/fromConfig', () => {
    const opt = asam(tf.train.momentum(0.1, 0.9), { rho: 0.5, normalizeParams: 'all', bnStatistics: 'both-passes' });
    const cfg = JSON.parse(JSON.stringify(opt.getConfig()));
    expect(cfg).toMatchObject({ normalizeParams: 'all', bnStatistics: 'both-passes' });
    const rebuilt = SharpnessAwareOptimizer.fromConfig(SharpnessAwareOptimizer, cfg) as SharpnessAwareOptimizer;
    expect(rebuilt.getConfig()).toEqual(opt.getConfig());
    same(step(() => asam(tf.train.momentum(0.1, 0.9), { rho: 0.5, normalizeParams: 'all', bnStatistics: 'both-passes' })), step(() => rebuilt));
    opt.dispose();
  });

  it("bnStatistics: 'both-passes' keeps the perturbed pass's update of state a forward pass writes, guarded (named) or found", () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'bp/kernel');
    const moving = tf.variable(tf.scalar(0), false, 'bp/moving_mean');
    const f = () => {
      moving.assign(tf.add(tf.mul(moving, 0.9), tf.mul(tf.sum(w), 0.1)));
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    // clean: 0.1 * 3 = 0.3; perturbed at w + eps, eps = 0.5 g / |g|, g = 2w = (2, 4): sum(eps) = 0.5 * 6 / sqrt(20)
    const sumEps = (0.5 * 6) / Math.sqrt(20);
    sam(tf.train.sgd(0.1), { rho: 0.5, bnStatistics: 'both-passes' }).minimize(f, false, [w]);
    expect(moving.dataSync()[0]).toBeCloseTo(0.9 * 0.3 + 0.1 * (3 + sumEps), 6);
    const w2 = tf.variable(tf.tensor1d([1, 2]), true, 'bp2/kernel');
    const guarded = tf.variable(tf.scalar(0), false, 'bp2/moving_mean');
    const f2 = () => {
      guarded.assign(tf.add(tf.mul(guarded, 0.9), tf.mul(tf.sum(w2), 0.1)));
      return tf.sum(tf.square(w2)) as tf.Scalar;
    };
    sam(tf.train.sgd(0.1), { rho: 0.5, bnStatistics: 'both-passes' }, { guard: [guarded] }).minimize(f2, false, [w2]);
    // the guard option names the same state; the policy applies to it (before, the guard silently restored it)
    expect(guarded.dataSync()[0]).toBeCloseTo(0.9 * 0.3 + 0.1 * (3 + sumEps), 6);
    // state only the perturbed pass writes is accepted under this policy
    const late = tf.variable(tf.scalar(0), false, 'bp/late');
    let calls = 0;
    const f3 = () => {
      if (calls++ % 2 === 1) late.assign(tf.add(late, 1));
      return tf.sum(tf.square(w)) as tf.Scalar;
    };
    sam(tf.train.sgd(0.1), { rho: 0.5, bnStatistics: 'both-passes' }).minimize(f3, false, [w]);
    expect(late.dataSync()[0]).toBe(1);
    tf.dispose([w, moving, w2, guarded, late]);
  });
});
