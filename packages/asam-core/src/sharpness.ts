/**
 * Sharpness measurement.
 *
 *   sharpness:          max_{ ||eps||_p <= rho }          L(w + eps) - L(w)
 *   adaptive sharpness: max_{ ||T_w^{-1} eps||_p <= rho }  L(w + eps) - L(w)      (Kwon et al. 2021, eq. (4))
 *
 * Adaptive sharpness with T_w = |w| (+ eta) is invariant to rescalings A that leave the loss
 * unchanged (A w with T_{Aw} = A T_w, e.g. one ReLU layer scaled by a and the next by 1/a): the
 * substitution eps = T_w u maps the problem to max_{||u||_p <= rho} L(w + T_w u), and
 * w' + T_{w'} u = A (w + T_w u). Plain sharpness (T = I) has no such invariance.
 *
 * Estimated by projected normalized-gradient ascent in u = T^{-1} eps: u_0 = 0; the first step has
 * length rho (it lands on SAM's/ASAM's first-order maximiser), later steps rho/2; after each step u is
 * projected back onto the ball (rescaled for p = 2, clipped for p = inf). The loss is evaluated at every
 * iterate and the largest L(w + eps) - L(w) seen is returned (never below 0: eps = 0 is feasible).
 * T is computed once at the unperturbed w. Weights are restored exactly afterwards.
 * `f` should evaluate the model in inference mode (no dropout, BatchNorm using moving statistics).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkVariables } from './algorithm.ts';
import { ConfigError, defaultNormalizeFilter, type NormalizeFilter, type PNorm } from './config.ts';
import { globalNorm, normalizationOperator } from './perturbation.ts';

export interface SharpnessOptions {
  rho: number;
  p?: PNorm;
  /** Gradient-ascent steps (default 10). Each step costs one forward + backward pass. */
  steps?: number;
}

export interface AdaptiveSharpnessOptions extends SharpnessOptions {
  /** eta in T_w = |w| + eta (default 0.01). */
  eta?: number;
  normalization?: 'elementwise' | 'filterwise';
  /** Which variables are normalized (default: all but names ending in `bias`/`beta`; others get T = 1). */
  normalizeFilter?: NormalizeFilter;
}

function checkOptions(o: SharpnessOptions & { eta?: number }): { rho: number; p: PNorm; steps: number } {
  if (typeof o.rho !== 'number' || !Number.isFinite(o.rho) || o.rho < 0) throw new ConfigError('rho', o.rho, 'a finite number >= 0');
  const p = o.p ?? 2;
  if (p !== 2 && p !== 'inf') throw new ConfigError('p', p, "2 or 'inf'");
  const steps = o.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError('steps', steps, 'an integer >= 1');
  if (o.eta != null && (!Number.isFinite(o.eta) || o.eta < 0)) throw new ConfigError('eta', o.eta, 'a finite number >= 0');
  return { rho: o.rho, p, steps };
}

function evaluate(f: () => tf.Scalar): number {
  const v = tf.tidy(f);
  const x = v.dataSync()[0]!;
  v.dispose();
  return x;
}

/** Core of both measures; `ops[i]` = T for variable i, or null for identity. */
function maxOverBall(f: () => tf.Scalar, vars: tf.Variable[], ops: (tf.Tensor | null)[], rho: number, p: PNorm, steps: number): number {
  const l0 = evaluate(f);
  if (rho === 0) return 0;
  const snapshot = vars.map((v) => tf.clone(v));
  let u: tf.Tensor[] = vars.map((v) => tf.zerosLike(v));
  let best = 0;
  try {
    for (let s = 0; s < steps; s++) {
      // gradient with respect to u at w + T u is T * dL/dw
      const { value, grads } = tf.variableGrads(() => f(), vars);
      value.dispose();
      const d = tf.tidy(() => vars.map((v, i) => (ops[i] == null ? tf.clone(grads[v.name]!) : tf.mul(ops[i]!, grads[v.name]!))));
      tf.dispose(grads);
      const alpha = s === 0 ? rho : rho / 2;
      const next = tf.tidy(() => {
        if (p === 'inf') return u.map((x, i) => tf.clipByValue(tf.add(x, tf.mul(tf.sign(d[i]!), alpha)), -rho, rho));
        const step = tf.div(alpha, tf.add(globalNorm(d), 1e-12));
        const moved = u.map((x, i) => tf.add(x, tf.mul(d[i]!, step)));
        const scale = tf.minimum(1, tf.div(rho, tf.add(globalNorm(moved), 1e-12)));
        return moved.map((x) => tf.mul(x, scale));
      });
      tf.dispose([...d, ...u]);
      u = next;
      vars.forEach((v, i) =>
        tf.tidy(() => v.assign(tf.add(snapshot[i]!, ops[i] == null ? u[i]! : tf.mul(ops[i]!, u[i]!)))),
      );
      best = Math.max(best, evaluate(f) - l0);
    }
  } finally {
    vars.forEach((v, i) => v.assign(snapshot[i]!));
    tf.dispose([...snapshot, ...u]);
  }
  return best;
}

/** Plain (Euclidean or max-norm) sharpness: max over ||eps||_p <= rho of L(w + eps) - L(w). */
export function sharpness(f: () => tf.Scalar, vars: tf.Variable[], o: SharpnessOptions): number {
  const { rho, p, steps } = checkOptions(o);
  checkVariables(vars);
  return maxOverBall(f, vars, vars.map(() => null), rho, p, steps);
}

/** Adaptive sharpness: max over ||T_w^{-1} eps||_p <= rho of L(w + eps) - L(w), with T_w = |w| + eta. */
export function adaptiveSharpness(f: () => tf.Scalar, vars: tf.Variable[], o: AdaptiveSharpnessOptions): number {
  const { rho, p, steps } = checkOptions(o);
  checkVariables(vars);
  const eta = o.eta ?? 0.01;
  const filter = o.normalizeFilter ?? defaultNormalizeFilter;
  const normalization = o.normalization ?? 'elementwise';
  const ops = vars.map((v) => (filter(v) ? normalizationOperator(v, eta, normalization) : null));
  try {
    return maxOverBall(f, vars, ops, rho, p, steps);
  } finally {
    tf.dispose(ops.filter((t): t is tf.Tensor => t != null));
  }
}
