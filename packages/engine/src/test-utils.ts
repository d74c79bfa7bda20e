/** Cross-backend helper of this package's kernel tests (seeded data and relErr: `./testing.ts`). */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine.ts';

/**
 * Switches to `backend` (with or without the composed kernels; on wasm the SIMD tier unless `nativeKernels`), runs `fn`, reads every
 * returned tensor back to a Float32Array, disposes everything made inside.
 */
export async function on(
  backend: 'cpu' | 'wasm', trainingKernels: boolean, fn: () => tf.Tensor | tf.Tensor[], nativeKernels = false,
): Promise<Float32Array[]> {
  await initEngine({ backend, trainingKernels, nativeKernels });
  return tf.tidy(() => {
    const r = fn();
    return (Array.isArray(r) ? r : [r]).map((t) => Float32Array.from(t.dataSync()));
  });
}

export interface ConvCase { name: string; x: [number, number, number, number]; k: [number, number]; cout: number; s: number; pad: 'same' | 'valid' }
/** Every conv the vision models use, at small batch/spatial sizes (odd sizes included). */
export const CONV_CASES: ConvCase[] = [
  { name: '3x3 s1 same', x: [2, 8, 8, 3], k: [3, 3], cout: 4, s: 1, pad: 'same' },
  { name: '3x3 s2 same', x: [2, 8, 8, 4], k: [3, 3], cout: 6, s: 2, pad: 'same' },
  { name: '3x3 s2 same odd', x: [2, 7, 9, 3], k: [3, 3], cout: 5, s: 2, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 7, 6, 3], k: [3, 3], cout: 4, s: 1, pad: 'valid' },
  { name: '3x3 s2 valid odd', x: [3, 9, 8, 2], k: [3, 3], cout: 3, s: 2, pad: 'valid' },
  { name: '1x1 s1 same', x: [2, 6, 6, 5], k: [1, 1], cout: 7, s: 1, pad: 'same' },
  { name: '1x1 s1 valid', x: [2, 5, 6, 4], k: [1, 1], cout: 3, s: 1, pad: 'valid' },
  { name: '1x1 s2 same', x: [2, 8, 8, 4], k: [1, 1], cout: 8, s: 2, pad: 'same' },
  { name: '1x1 s2 valid odd', x: [2, 7, 7, 4], k: [1, 1], cout: 8, s: 2, pad: 'valid' },
  { name: '7x7 s2 same (stem)', x: [2, 16, 16, 3], k: [7, 7], cout: 8, s: 2, pad: 'same' },
  { name: '7x7 s2 valid', x: [1, 15, 13, 3], k: [7, 7], cout: 4, s: 2, pad: 'valid' },
  { name: '5x5 s3 same', x: [2, 10, 11, 2], k: [5, 5], cout: 3, s: 3, pad: 'same' },
  // Channel counts that reach the SIMD register tiles (Cin multiple of 4 / 8, Cout multiple of 8, 4-pixel rows).
  { name: '3x3 s1 same, 16->24 ch', x: [2, 9, 10, 16], k: [3, 3], cout: 24, s: 1, pad: 'same' },
  { name: '3x3 s2 same, 8->16 ch', x: [3, 10, 9, 8], k: [3, 3], cout: 16, s: 2, pad: 'same' },
  { name: '3x3 s2 valid, 16->32 ch', x: [2, 17, 17, 16], k: [3, 3], cout: 32, s: 2, pad: 'valid' },
  { name: '1x1 s2 same, 12->20 ch', x: [2, 8, 8, 12], k: [1, 1], cout: 20, s: 2, pad: 'same' },
  { name: '7x7 s2 same, 3->16 ch (stem)', x: [1, 20, 20, 3], k: [7, 7], cout: 16, s: 2, pad: 'same' },
];

export function outSize(h: number, k: number, s: number, pad: 'same' | 'valid'): number {
  return pad === 'same' ? Math.ceil(h / s) : Math.ceil((h - k + 1) / s);
}
