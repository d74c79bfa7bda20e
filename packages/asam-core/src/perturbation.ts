/**
 * Perturbation rules: pure functions of (gradients, variables) -> epsilon.
 *
 * Both rules solve the first-order problem
 *
 *     eps* = argmax_{ ||T_w^{-1} eps||_p <= rho }  g^T eps
 *
 * for a normalization operator T_w (Kwon et al., "ASAM: Adaptive Sharpness-Aware Minimization
 * for Scale-Invariant Learning of Deep Neural Networks", ICML 2021, eq. (7)–(8)):
 *
 *   p = 2:    eps = rho * T_w^2 g / ||T_w g||_2
 *   p = inf:  eps = rho * T_w sign(g)
 *
 * SAM (Foret et al., "Sharpness-Aware Minimization for Efficiently Improving Generalization",
 * ICLR 2021) is the case T_w = I: eps = rho * g / ||g||_2.
 * ASAM uses T_w = |w| + eta element-wise, or, filter-wise, T_w = ||w_f||_2 + eta for every
 * element of output filter f (the last axis of a tfjs kernel is the output axis).
 * Variables the filter excludes (biases, normalization beta) get T = 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization, NormalizeFilter, PNorm } from './config.ts';

/** Guards the division in eps = rho * ... / ||T g|| against a zero gradient. */
export const NORM_EPSILON = 1e-12;

/**
 * T_w for one variable: null means T = I (the variable is not normalized).
 * Element-wise: |w| + eta. Filter-wise (rank >= 2): ||w_f||_2 + eta, with w_f the slice of the
 * kernel feeding output unit f (all axes but the last); rank-1 variables fall back to element-wise.
 */
export function normalizationOperator(w: tf.Tensor, eta: number, normalization: Normalization): tf.Tensor {
  return tf.tidy(() => {
    if (normalization === 'filterwise' && w.rank >= 2) {
      const axes = [...Array(w.rank - 1).keys()];
      return tf.add(tf.sqrt(tf.sum(tf.square(w), axes, true)), eta);
    }
    return tf.add(tf.abs(w), eta);
  });
}

/** The parameters of a perturbation rule. `normalize` null = SAM (T = I for every variable). */
export interface PerturbationRule {
  rho: number;
  p: PNorm;
  normalize: null | { eta: number; normalization: Normalization; filter: NormalizeFilter };
}

/** Global L2 norm of a list of tensors, as a scalar tensor. */
export function globalNorm(ts: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(ts.map((t) => tf.sum(tf.square(t))))) as tf.Scalar);
}

/**
 * The operators T_w for each variable (null = identity), computed at the current weights.
 * Caller disposes the returned tensors.
 */
export function normalizationOperators(vars: tf.Variable[], rule: PerturbationRule): (tf.Tensor | null)[] {
  const n = rule.normalize;
  if (n == null) return vars.map(() => null);
  return vars.map((v) => (n.filter(v) ? normalizationOperator(v, n.eta, n.normalization) : null));
}

/**
 * eps for each variable given the gradients g (same order as vars) and the operators T
 * (from `normalizationOperators`). Caller disposes the result.
 */
export function perturbationFrom(grads: tf.Tensor[], ops: (tf.Tensor | null)[], rule: PerturbationRule): tf.Tensor[] {
  return tf.tidy(() => {
    if (rule.p === 'inf') {
      return grads.map((g, i) => {
        const t = ops[i];
        const s = tf.mul(tf.sign(g), rule.rho);
        return t == null ? s : tf.mul(s, t);
      });
    }
    const tg = grads.map((g, i) => {
      const t = ops[i];
      return t == null ? g : tf.mul(t, g);
    });
    const scale = tf.div(rule.rho, tf.add(globalNorm(tg), NORM_EPSILON));
    return tg.map((x, i) => {
      const t = ops[i];
      return tf.mul(t == null ? x : tf.mul(t, x), scale);
    });
  });
}

/** eps = rule(g, w) for the current weights. Caller disposes the result. */
export function perturbation(grads: tf.Tensor[], vars: tf.Variable[], rule: PerturbationRule): tf.Tensor[] {
  const ops = normalizationOperators(vars, rule);
  try {
    return perturbationFrom(grads, ops, rule);
  } finally {
    tf.dispose(ops.filter((t): t is tf.Tensor => t != null));
  }
}
