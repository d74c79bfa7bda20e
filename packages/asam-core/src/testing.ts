/**
 * `@asam/core/testing`: the conformance suite every sharpness-aware optimizer passes, as a vitest
 * `describe` block that any variant (a new perturbation rule, a new wrapper) calls with a factory:
 *
 *   describeOptimizerConformance('asam', (base, s) => asam(base, { rho: s.rho, weightDecay: s.weightDecay }), {
 *     reference: (c) => c.method === 'asam' && c.p === 2 && c.normalization === 'elementwise',
 *   });
 *
 * For every base optimizer of `BASE_OPTIMIZERS` (or the subset named in `bases`) it asserts:
 * - it converges on an ill-conditioned quadratic (loss below 1e-3 of its start in 300 steps, ρ = 0.01);
 * - ρ = 0 reproduces the base optimizer alone bit for bit (5 steps of a small MLP);
 * - the weights the base optimizer sees are exactly the weights before the step (the perturbed pass is undone);
 * - `tf.memory().numTensors` is flat over 100 steps;
 * - state round-trips: `getWeights()` → an optimizer rebuilt from the JSON of `getConfig()` through its class's
 *   `fromConfig()` → `setWeights()` reports the same weights and config and takes the same next steps bit for bit;
 * and, for every case of the reference fixture that `reference` accepts, that its steps equal the fixture's
 * weights and losses to 1e-5 relative. The default fixture is `fixtures/reference.json`, made by
 * `scripts/reference.py` from an independent float64 PyTorch implementation.
 *
 * Vitest is this module's only dependency besides tfjs-core and Node's `fs`: import it from tests only.
 * It picks no backend: pass `setup` (run in `beforeAll`) to choose one.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

/** One case of the reference fixture: a rule, a base optimizer and the expected state after each step. */
export interface ReferenceCase {
  id: string;
  method: 'sam' | 'asam';
  rho: number;
  eta?: number;
  p?: 2 | 'inf';
  normalization?: 'elementwise' | 'filterwise';
  /** A key of `BASE_OPTIMIZERS`. */
  base: string;
  lr: number;
  /** Coupled weight decay of the step. */
  wd: number;
  steps: { loss: number; perturbedLoss: number; weights: Record<string, number[]> }[];
}

/** Reference numbers: a two-layer MLP (its data and initial weights) and the cases computed on it. */
export interface ReferenceFixture {
  x: number[];
  xShape: number[];
  y: number[];
  init: Record<string, number[]>;
  shapes: Record<string, number[]>;
  cases: ReferenceCase[];
}

/** The committed PyTorch reference (`scripts/reference.py` → `fixtures/reference.json`). */
export function referenceFixture(): ReferenceFixture {
  return JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as ReferenceFixture;
}

/** A base optimizer the suite runs a variant over: a factory and the learning rate its tests use. */
export interface BaseOptimizer {
  make(lr: number): tf.Optimizer;
  /** Learning rate for the quadratic and the MLP tests; chosen so that 300 steps reach 1e-3 of the start loss. */
  lr: number;
}

/**
 * The tfjs-core optimizers that serve as bases: all of `tf.train` except Adamax, whose `getWeights()` is not
 * implemented in tfjs-core 4.x (so its state cannot be checkpointed). Adam and momentum use the
 * hyper-parameters of the reference fixture (β = 0.9/0.999, ε = 1e-7; momentum 0.9).
 */
export const BASE_OPTIMIZERS: Readonly<Record<string, BaseOptimizer>> = Object.freeze({
  sgd: { make: (lr) => tf.train.sgd(lr), lr: 0.1 },
  momentum: { make: (lr) => tf.train.momentum(lr, 0.9), lr: 0.05 },
  adam: { make: (lr) => tf.train.adam(lr, 0.9, 0.999, 1e-7), lr: 0.05 },
  rmsprop: { make: (lr) => tf.train.rmsprop(lr), lr: 0.01 },
  adagrad: { make: (lr) => tf.train.adagrad(lr), lr: 0.3 },
  adadelta: { make: (lr) => tf.train.adadelta(lr), lr: 0.1 },
});

/** The settings the suite varies; everything else (η, p, normalization, ...) is fixed by the variant's factory. */
export interface ConformanceSettings {
  rho: number;
  /** Coupled weight decay (only the reference cases set it; 0 elsewhere). */
  weightDecay: number;
}

/** Builds the optimizer under test around `base`. */
export type MakeOptimizer = (base: tf.Optimizer, settings: ConformanceSettings) => tf.Optimizer;

export interface ConformanceOptions {
  /** Names of `BASE_OPTIMIZERS` to run over (default: all). */
  bases?: string[];
  /** Which cases of the fixture this variant computes (given the case's ρ and weight decay). Default: none. */
  reference?: (c: ReferenceCase) => boolean;
  /** The reference numbers (default: `referenceFixture()`). */
  fixture?: ReferenceFixture;
  /** Run once before the tests, e.g. to choose a backend. */
  setup?: () => unknown;
}

/** A two-layer ReLU network with tfjs-style variable names (`dense1/kernel`, ...) on fixed data. */
export interface Mlp {
  vars: tf.Variable[];
  /** Mean softmax cross-entropy on the whole batch, or on part `index` of `count` equal parts. */
  loss: (part?: { index: number; count: number }) => tf.Scalar;
  x: tf.Tensor2D;
  y: tf.Tensor1D;
  dispose(): void;
}

/** The variable names of the reference MLP, in the order of `Mlp.vars`. */
export const MLP_VARIABLES = ['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias'] as const;

let mlpCounter = 0;

/** The reference network of `fixture` with its initial weights (each call makes fresh, uniquely named variables). */
export function makeMlp(fixture: Pick<ReferenceFixture, 'x' | 'xShape' | 'y' | 'init' | 'shapes'>): Mlp {
  const id = mlpCounter++;
  const { init, shapes, x, xShape, y } = fixture;
  const vars = MLP_VARIABLES.map((n) => tf.variable(tf.tensor(init[n]!, shapes[n]!, 'float32'), true, `mlp${id}/${n}`));
  const xt = tf.tensor2d(x, xShape as [number, number]);
  const yt = tf.tensor1d(y, 'int32');
  const numClasses = shapes['dense2/bias']![0]!;
  const forward = (xb: tf.Tensor2D, yb: tf.Tensor1D): tf.Scalar => {
    const h = tf.relu(tf.add(tf.matMul(xb, vars[0]!), vars[1]!));
    const logits = tf.add(tf.matMul(h, vars[2]!), vars[3]!);
    const onehot = tf.oneHot(yb, numClasses);
    return tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  };
  const loss = (part?: { index: number; count: number }): tf.Scalar => {
    if (part == null) return forward(xt, yt);
    const n = xShape[0]! / part.count;
    return forward(tf.slice(xt, [part.index * n, 0], [n, -1]), tf.slice(yt, [part.index * n], [n]));
  };
  return { vars, loss, x: xt, y: yt, dispose: () => tf.dispose([...vars, xt, yt]) };
}

/** max |a − b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}

/** Copies of the tensors' values. */
export function values(ts: tf.Tensor[]): Float32Array[] {
  return ts.map((t) => (t.dataSync() as Float32Array).slice());
}

/** An ill-conditioned quadratic 0.5 Σ h_i (w_i − c_i)², minimum 0 at c. */
function quadratic() {
  const w = tf.variable(tf.tensor1d([2, -1.5, 0.7, 3]), true);
  const h = tf.tensor1d([1, 4, 0.5, 2]);
  const c = tf.tensor1d([1, 0.5, -0.3, 1.2]);
  const f = () => tf.mul(0.5, tf.sum(tf.mul(h, tf.square(tf.sub(w, c))))) as tf.Scalar;
  return { w, f, dispose: () => tf.dispose([w, h, c]) };
}

type FromConfigClass = tf.serialization.SerializableConstructor<tf.Optimizer> & {
  fromConfig(cls: tf.serialization.SerializableConstructor<tf.Optimizer>, config: tf.serialization.ConfigDict): tf.Optimizer;
};

/** Rebuilds an optimizer from the JSON text of its config, through its class's static `fromConfig`. */
function rebuild(opt: tf.Optimizer): tf.Optimizer {
  const cls = opt.constructor as unknown as FromConfigClass;
  return cls.fromConfig(cls, JSON.parse(JSON.stringify(opt.getConfig())) as tf.serialization.ConfigDict);
}

async function expectSameWeights(a: { name: string; tensor: tf.Tensor }[], b: { name: string; tensor: tf.Tensor }[]): Promise<void> {
  expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name));
  for (let i = 0; i < a.length; i++) {
    expect(Array.from(await b[i]!.tensor.data()), a[i]!.name).toEqual(Array.from(await a[i]!.tensor.data()));
  }
}

/**
 * Registers the conformance suite for one optimizer variant (see the module comment). `makeOptimizer(base,
 * { rho, weightDecay })` must return a tf.Optimizer whose `minimize(f, returnCost, vars)` takes one full step with
 * `base` and whose class implements `fromConfig`.
 */
export function describeOptimizerConformance(name: string, makeOptimizer: MakeOptimizer, opts: ConformanceOptions = {}): void {
  const baseNames = opts.bases ?? Object.keys(BASE_OPTIMIZERS);
  for (const b of baseNames) {
    if (BASE_OPTIMIZERS[b] === undefined) {
      throw new Error(`describeOptimizerConformance: unknown base optimizer '${b}'; valid names are ${Object.keys(BASE_OPTIMIZERS).join(', ')}.`);
    }
  }
  const fixture = opts.fixture ?? referenceFixture();
  const cases = opts.reference === undefined ? [] : fixture.cases.filter(opts.reference);
  for (const c of cases) {
    if (BASE_OPTIMIZERS[c.base] === undefined) throw new Error(`describeOptimizerConformance: reference case '${c.id}' names unknown base '${c.base}'.`);
  }
  const make = (base: string, rho: number, lr = BASE_OPTIMIZERS[base]!.lr) => makeOptimizer(BASE_OPTIMIZERS[base]!.make(lr), { rho, weightDecay: 0 });

  describe(`${name} conformance`, () => {
    if (opts.setup !== undefined) beforeAll(opts.setup);

    describe.each(baseNames)('over %s', (baseName) => {
      const baseOf = BASE_OPTIMIZERS[baseName]!;

      it('converges on a quadratic', () => {
        const q = quadratic();
        const opt = make(baseName, 0.01);
        const start = q.f().dataSync()[0]!;
        for (let i = 0; i < 300; i++) opt.minimize(q.f, false, [q.w]);
        const end = q.f().dataSync()[0]!;
        expect(end).toBeLessThan(1e-3 * start);
        opt.dispose();
        q.dispose();
      });

      it('rho = 0 reproduces the base optimizer bit for bit', () => {
        const a = makeMlp(fixture);
        const b = makeMlp(fixture);
        const plain = baseOf.make(baseOf.lr);
        const wrapped = make(baseName, 0);
        for (let i = 0; i < 5; i++) {
          plain.minimize(() => a.loss(), false, a.vars);
          wrapped.minimize(() => b.loss(), false, b.vars);
        }
        const va = values(a.vars);
        values(b.vars).forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(va[i]!)));
        plain.dispose();
        wrapped.dispose();
        a.dispose();
        b.dispose();
      });

      it('restores w exactly before the base optimizer applies the gradient', () => {
        const net = makeMlp(fixture);
        const base = baseOf.make(baseOf.lr);
        const seen: Float32Array[][] = [];
        const apply = base.applyGradients.bind(base);
        base.applyGradients = (g) => {
          seen.push(values(net.vars));
          apply(g);
        };
        const opt = makeOptimizer(base, { rho: 0.5, weightDecay: 0 });
        for (let step = 0; step < 2; step++) {
          const before = values(net.vars);
          opt.minimize(() => net.loss(), false, net.vars);
          expect(seen.length).toBe(step + 1);
          seen[step]!.forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(before[i]!)));
        }
        opt.dispose();
        net.dispose();
      });

      it('leaks no tensors over 100 steps', () => {
        const net = makeMlp(fixture);
        const opt = make(baseName, 0.1);
        for (let i = 0; i < 3; i++) opt.minimize(() => net.loss(), false, net.vars); // optimizer state allocated
        const n0 = tf.memory().numTensors;
        for (let i = 0; i < 100; i++) opt.minimize(() => net.loss(), true, net.vars)!.dispose();
        expect(tf.memory().numTensors).toBe(n0);
        opt.dispose();
        net.dispose();
      });

      it('state round-trips through getConfig/fromConfig and getWeights/setWeights', async () => {
        const a = makeMlp(fixture);
        const optA = make(baseName, 0.1);
        for (let i = 0; i < 3; i++) optA.minimize(() => a.loss(), false, a.vars);
        const saved = await optA.getWeights();
        // a second run resumed from the weights, the JSON config and the optimizer state
        const b = makeMlp(fixture);
        b.vars.forEach((v, i) => v.assign(a.vars[i]!));
        const optB = rebuild(optA);
        expect(optB.getConfig()).toEqual(optA.getConfig());
        await optB.setWeights(saved);
        const reported = await optB.getWeights();
        await expectSameWeights(saved, reported);
        for (let i = 0; i < 3; i++) {
          optA.minimize(() => a.loss(), false, a.vars);
          optB.minimize(() => b.loss(), false, b.vars);
        }
        const va = values(a.vars);
        values(b.vars).forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(va[i]!)));
        tf.dispose([...saved.map((w) => w.tensor), ...reported.map((w) => w.tensor)]);
        optA.dispose();
        optB.dispose();
        a.dispose();
        b.dispose();
      });
    });

    if (cases.length > 0) {
      describe('matches the reference', () => {
        it.each(cases.map((c) => [c.id, c] as const))('%s: every step to 1e-5 relative', (_id, c) => {
          const net = makeMlp(fixture);
          const opt = makeOptimizer(BASE_OPTIMIZERS[c.base]!.make(c.lr), { rho: c.rho, weightDecay: c.wd });
          c.steps.forEach((step, s) => {
            const loss = opt.minimize(() => net.loss(), true, net.vars)!;
            expect(Math.abs(loss.dataSync()[0]! - step.loss) / step.loss, `${c.id} step ${s} loss`).toBeLessThan(1e-5);
            loss.dispose();
            MLP_VARIABLES.forEach((n, i) => {
              expect(relErr(net.vars[i]!.dataSync(), step.weights[n]!), `${c.id} step ${s} ${n}`).toBeLessThan(1e-5);
            });
          });
          opt.dispose();
          net.dispose();
        });
      });
    }
  });
}
