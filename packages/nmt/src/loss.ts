/**
 * Label-smoothed cross-entropy (Szegedy et al. 2016, "Rethinking the Inception Architecture"), in fairseq's form
 * (`label_smoothed_nll_loss`): with log-probabilities l = log_softmax(z) over V classes and target y,
 *
 *   nll_i    = -l_{i,y_i}
 *   smooth_i = -Σ_v l_{i,v}
 *   loss_i   = (1 - ε - ε/(V-1)) · nll_i + ε/(V-1) · smooth_i
 *
 * i.e. cross-entropy against the target distribution that puts 1-ε on y and ε/(V-1) on every other class.
 * Positions whose target is the padding id contribute nothing.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link labelSmoothedLoss}. */
export interface LabelSmoothingOptions {
  /** Smoothing ε in [0, 1); fairseq's IWSLT recipe uses 0.1. */
  epsilon: number;
  /** Targets equal to this id are ignored. */
  padId: number;
}

/** Summed loss over non-pad positions, the summed NLL (ε = 0 part) and the number of non-pad targets. */
export interface LabelSmoothedLoss {
  /** Σ_i loss_i over non-pad positions. */
  loss: tf.Scalar;
  /** Σ_i nll_i over non-pad positions. */
  nll: tf.Scalar;
  /** Number of non-pad target positions (float32 scalar). */
  ntokens: tf.Scalar;
}

/**
 * Label-smoothed cross-entropy of `logits` [N, V] against int32 `target` [N], summed over non-pad positions.
 * Differentiable with respect to `logits`. Divide `loss` by `ntokens` for the per-token mean that training
 * minimises (fairseq divides the summed gradient by the token count, which is the same).
 */
export function labelSmoothedLoss(logits: tf.Tensor2D, target: tf.Tensor1D, o: LabelSmoothingOptions): LabelSmoothedLoss {
  if (!(o.epsilon >= 0 && o.epsilon < 1)) {
    throw new Error(`labelSmoothedLoss: epsilon = ${o.epsilon} is invalid; expected a number in [0, 1) (0.1 in the IWSLT recipe).`);
  }
  const [n, v] = logits.shape;
  if (target.shape[0] !== n) throw new Error(`labelSmoothedLoss: ${n} rows of logits but ${target.shape[0]} targets.`);
  if (v < 2) throw new Error(`labelSmoothedLoss: vocabulary size ${v} must be >= 2.`);
  return tf.tidy(() => {
    const lprobs = tf.logSoftmax(logits);
    const mask = tf.cast(tf.notEqual(target, tf.scalar(o.padId, 'int32')), 'float32'); // [N]
    const nllRows = tf.neg(tf.sum(tf.mul(lprobs, tf.oneHot(target, v)), -1));
    const smoothRows = tf.neg(tf.sum(lprobs, -1));
    const nll = tf.sum(tf.mul(nllRows, mask));
    const smooth = tf.sum(tf.mul(smoothRows, mask));
    const epsI = o.epsilon / (v - 1);
    const loss = tf.add(tf.mul(nll, tf.scalar(1 - o.epsilon - epsI)), tf.mul(smooth, tf.scalar(epsI)));
    return { loss: loss as tf.Scalar, nll: nll as tf.Scalar, ntokens: tf.sum(mask) as tf.Scalar };
  });
}

/** Per-token mean of {@link labelSmoothedLoss} (loss / max(ntokens, 1)); the scalar that training minimises. */
export function meanLabelSmoothedLoss(logits: tf.Tensor2D, target: tf.Tensor1D, o: LabelSmoothingOptions): tf.Scalar {
  return tf.tidy(() => {
    const r = labelSmoothedLoss(logits, target, o);
    return tf.div(r.loss, tf.maximum(r.ntokens, tf.scalar(1))) as tf.Scalar;
  });
}
