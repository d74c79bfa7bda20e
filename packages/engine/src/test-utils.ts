/** Cross-backend helper of this package's kernel tests (seeded data and relErr: `./testing.ts`). */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine.ts';

/**
 * Switches to `backend` (with or without the composed kernels), runs `fn`, reads every
 * returned tensor back to a Float32Array, disposes everything made inside.
 */
export async function on(
  backend: 'cpu' | 'wasm', trainingKernels: boolean, fn: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await initEngine({ backend, trainingKernels });
  return tf.tidy(() => {
    const r = fn();
    return (Array.isArray(r) ? r : [r]).map((t) => Float32Array.from(t.dataSync()));
  });
}
