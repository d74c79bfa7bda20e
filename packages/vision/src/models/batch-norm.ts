/**
 * tfjs-layers' BatchNormalization with its training call as one fused kernel where the backend has one.
 *
 * In training mode tfjs-layers normalises with tf.moments + tf.batchNorm: Mean, Sub, Square, Mean and FusedBatchNorm
 * forward, and the chain of their gradients backward — about a dozen passes over an activation-sized tensor per layer.
 * `@asam/engine` registers a kernel named {@link BATCH_NORM_TRAINING} (wasm; inputs x, scale, offset; outputs y and the
 * batch mean and biased variance) whose gradient goes through the batch statistics in two passes. Where that kernel
 * is registered for the active backend this layer's training call is that one kernel, followed by the same moving
 * average update as tfjs-layers (`moving ← moving − (moving − batch)·(1 − momentum)`, written through the layer's
 * variables, so @asam/core's clean-pass guard sees the writes as before). Everywhere else — inference, other backends,
 * a non-last axis, no centre or scale, non-float32 input — it is tfjs-layers' own call, unchanged.
 *
 * It is a subclass: the weights (gamma, beta, moving_mean, moving_variance, in that order), their initialisers, the
 * config and the class name ('BatchNormalization') are tfjs-layers', so checkpoints and serialised models are the same.
 * Results equal the composed path up to float32 rounding (the sums are taken in another order).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The kernel name @asam/engine registers the fused BatchNorm training kernel under (its `BATCH_NORM_TRAINING`). */
export const BATCH_NORM_TRAINING = 'BatchNormTraining';

type BatchNormalizationLayer = ReturnType<typeof tfl.layers.batchNormalization>;
export type BatchNormalizationArgs = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;
type Kwargs = Record<string, unknown>;

/** The private fields of tfjs-layers' BatchNormalization (4.x) that the fused call reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable | null;
  beta: tfl.LayerVariable | null;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}
/** LayerVariable's read/write (public in tfjs-layers, absent from its exported type). */
interface ReadWrite { read(): tf.Tensor; write(t: tf.Tensor): void }

/** Whether `layer`'s training call on `x` can be the fused kernel. */
function fusable(layer: BatchNormFields, x: tf.Tensor): boolean {
  const ndim = x.rank;
  const axis = layer.axis >= 0 ? layer.axis : layer.axis + ndim;
  return ndim >= 2 && axis === ndim - 1 && x.dtype === 'float32' && x.size > 0 && layer.center && layer.scale &&
    layer.gamma != null && layer.beta != null && typeof layer.momentum === 'number' && typeof layer.epsilon === 'number' &&
    tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined;
}

/** tfjs-layers' moving-average update of one statistic, op for op. */
function movingAverage(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number): void {
  const v = variable as unknown as ReadWrite;
  tf.tidy(() => {
    const orig = v.read();
    v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}

type BatchNormalizationClass = new (args?: BatchNormalizationArgs) => BatchNormalizationLayer;
let fusedClass: BatchNormalizationClass | undefined;

/**
 * The class, made on first use: tfjs-layers exports a factory, not the BatchNormalization class, so its constructor is
 * taken from one instance (named, so no auto-generated layer name is used up).
 */
function fusedBatchNormalizationClass(): BatchNormalizationClass {
  if (fusedClass !== undefined) return fusedClass;
  const Base = tfl.layers.batchNormalization({ name: 'asam_batch_normalization_base' }).constructor as BatchNormalizationClass;
  class FusedBatchNormalization extends Base {
    static className = 'BatchNormalization';
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
      const training = kwargs['training'] == null ? false : kwargs['training'];
      const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
      const self = this as unknown as BatchNormFields;
      if (!training || x === undefined || !fusable(self, x)) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const gamma = (self.gamma as unknown as ReadWrite).read();
        const beta = (self.beta as unknown as ReadWrite).read();
        const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta },
          { varianceEpsilon: self.epsilon } as never) as [tf.Tensor, tf.Tensor, tf.Tensor];
        movingAverage(self.movingMean, mean, self.momentum);
        movingAverage(self.movingVariance, variance, self.momentum);
        return y;
      });
    }
  }
  fusedClass = FusedBatchNormalization;
  return fusedClass;
}

/** A BatchNormalization layer (tfjs-layers' arguments) whose training call is fused where the backend allows it. */
export function batchNormalization(args: BatchNormalizationArgs = {}): BatchNormalizationLayer {
  return new (fusedBatchNormalizationClass())(args);
}
