/**
 * @asam/engine: picks the TensorFlow.js backend at run time and registers the
 * gradients (and, on wasm, the training kernels) that training needs.
 *
 * Libraries in this repository depend on `@tensorflow/tfjs-core` only; applications and
 * tests call `initEngine()` once, before creating any tensor.
 */
import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface EngineInfo {
  backend: string;
  requested: BackendName | 'auto';
  reason: string;
}

let gradientsRegistered = false;

/** Registers every tfjs gradient (tfjs-core alone registers none). Idempotent. */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  await import('@tensorflow/tfjs');
  gradientsRegistered = true;
}

/** Minimal chooser; the full one (native, webgpu, wasm training kernels) lives in backend.ts. */
export async function initEngine(opts: { backend?: BackendName | 'auto' } = {}): Promise<EngineInfo> {
  const requested = opts.backend ?? 'auto';
  await registerGradients();
  if (requested === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return { backend: 'cpu', requested, reason: 'requested' };
  }
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  return { backend: 'wasm', requested, reason: 'default' };
}
