/** Handler module for the worker-pool tests. */
import * as tf from '@tensorflow/tfjs-core';
import { transferring } from './worker-pool.ts';

export function createHandlers(options: { scale: number }) {
  return {
    backend: () => tf.getBackend(),
    scaled: (v: Float32Array) => {
      const out = tf.tidy(() => Float32Array.from(tf.mul(tf.tensor1d(v), options.scale).dataSync()));
      return transferring(out, [out.buffer as ArrayBuffer]);
    },
    fail: () => { throw new Error('handler failed on purpose'); },
  };
}
