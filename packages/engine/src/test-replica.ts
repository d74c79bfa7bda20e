/** A small seeded conv-net replica for the data-parallel tests (no BatchNorm: shard-independent). */
import * as tf from '@tensorflow/tfjs-core';

function seeded(shape: number[], scale: number, seed: number): tf.Tensor {
  let a = seed >>> 0;
  const v = new Float32Array(shape.reduce((p, q) => p * q, 1));
  for (let i = 0; i < v.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    v[i] = (a / 4294967296 * 2 - 1) * scale;
  }
  return tf.tensor(v, shape);
}

let instance = 0;

/**
 * conv 3x3 (stride 2, same) → ReLU → global average pool → dense; SGD with learning rate `lr`.
 * With `samRho`, also perturb/restore for two-round steps: ε = ρ·ḡ/‖ḡ‖₂ (SAM, written out by hand).
 */
export interface TestReplica {
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  loss(batch: Record<string, tf.Tensor>): tf.Scalar;
  perturb?(meanGrads: tf.Tensor[]): void;
  restore?(): void;
}

export function createReplica(options: { lr: number; samRho?: number }): TestReplica {
  const id = instance++;
  const mk = (name: string, shape: number[], scale: number, seed: number) => {
    const t = seeded(shape, scale, seed);
    const v = tf.variable(t, true, `dp_${name}_${id}`);
    t.dispose();
    return v;
  };
  const kernel = mk('conv', [3, 3, 3, 6], 0.3, 1);
  const dense = mk('dense', [6, 4], 0.5, 2);
  const bias = mk('bias', [4], 0.1, 3);
  const loss = (batch: Record<string, tf.Tensor>) => {
    const h = tf.relu(tf.conv2d(batch['x'] as tf.Tensor4D, kernel as tf.Tensor4D, 2, 'same'));
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, dense as tf.Tensor2D), bias);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(batch['y'] as tf.Tensor1D, 4), logits) as tf.Scalar;
  };
  const vars = [kernel, dense, bias];
  const base = { vars, optimizer: tf.train.sgd(options.lr), loss };
  const rho = options.samRho;
  if (rho === undefined) return base;
  let snapshot: tf.Tensor[] = [];
  return {
    ...base,
    perturb(meanGrads: tf.Tensor[]): void {
      snapshot = vars.map((v) => tf.clone(v));
      tf.tidy(() => {
        const norm = tf.sqrt(tf.addN(meanGrads.map((g) => tf.sum(tf.square(g)))));
        vars.forEach((v, i) => v.assign(tf.add(v, tf.mul(meanGrads[i]!, tf.div(rho, norm)))));
      });
    },
    restore(): void {
      vars.forEach((v, i) => v.assign(snapshot[i]!));
      tf.dispose(snapshot);
      snapshot = [];
    },
  };
}
