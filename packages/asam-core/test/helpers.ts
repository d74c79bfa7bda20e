import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';

export async function useCpu(): Promise<void> {
  await initEngine({ backend: 'cpu' });
}

/** A two-layer ReLU network with tfjs-style variable names, on fixed data. */
export interface Mlp {
  vars: tf.Variable[];
  loss: (part?: { index: number; count: number }) => tf.Scalar;
  x: tf.Tensor2D;
  y: tf.Tensor1D;
  dispose(): void;
}

let counter = 0;

export function makeMlp(init: Record<string, number[]>, shapes: Record<string, number[]>, x: number[], xShape: number[], y: number[]): Mlp {
  const id = counter++;
  const names = ['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias'];
  const vars = names.map((n) => tf.variable(tf.tensor(init[n]!, shapes[n]!, 'float32'), true, `mlp${id}/${n}`));
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

/** max |a - b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}

export function values(vars: tf.Tensor[]): Float32Array[] {
  return vars.map((v) => v.dataSync() as Float32Array).map((a) => a.slice());
}
