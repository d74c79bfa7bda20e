// ASAM through tfjs-layers compile() + fit(), as a user writes it in plain Node ESM (no TypeScript, no bundler),
// run by test/consumer.test.ts in a project that installed the packed @asam tarballs with npm.
// Prints one JSON line: the backend, the loss per epoch, tf.memory().numTensors after each epoch, and where the
// @asam packages resolved from.
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@asam/engine';
import { asam } from '@asam/core';

const backend = process.argv[2] ?? 'cpu';
const info = await initEngine({ backend });
const init = (seed) => tf.initializers.glorotUniform({ seed });
const model = tf.sequential({ layers: [
  tf.layers.dense({ inputShape: [8], units: 32, activation: 'relu', kernelInitializer: init(1) }),
  tf.layers.batchNormalization(),
  tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
] });
model.compile({ optimizer: asam(tf.train.sgd(0.1), { rho: 0.5, eta: 0.01 }, { model }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const x = tf.randomNormal([256, 8], 0, 1, 'float32', 7);
const y = tf.tidy(() => tf.oneHot(tf.argMax(tf.matMul(x, tf.randomNormal([8, 3], 0, 1, 'float32', 8)), 1), 3));
const tensors = [];
const { history } = await model.fit(x, y, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0,
  callbacks: { onEpochEnd: async () => { tensors.push(tf.memory().numTensors); } } });
console.log(JSON.stringify({
  backend: info.backend, loss: history.loss, tensors,
  resolved: { core: import.meta.resolve('@asam/core'), engine: import.meta.resolve('@asam/engine') },
}));
