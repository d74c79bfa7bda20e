/**
 * Browser entry of @asam/engine: backend choice, gradient registration and the training kernels for a web
 * page. The Node entry (`index.ts`) probes the native backends with node:child_process / node:fs, which a
 * browser does not have; this entry imports only what works there. Bundlers that target the browser pick it through the `browser` export condition of `@asam/engine`;
 * it is also `@asam/engine/browser`.
 *
 * Browser backends, in the order `auto` tries them: WebGPU (only when `navigator.gpu` gives an adapter),
 * wasm with this project's WebAssembly-SIMD training kernels, cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setBatchNormGradient } from './batchnorm-grad.ts';
import { setTrainingKernels } from './kernels.ts';
import { setMeanGradient } from './mean-grad.ts';
import { setFusedTrainingGradients } from './batchnorm-training.ts';
import type { BackendAttempt, EngineInfo } from './engine.ts';

export { setTrainingKernels, stockKernel, describeTrainingKernels, setConvGradient, convGradientStatus } from './kernels.ts';
export type { KernelBackendName, ConvGradientImpl } from './kernels.ts';
export { setBatchNormGradient, fusedBatchNormGradConfig, factoredBatchNormGradConfig } from './batchnorm-grad.ts';
export { setMeanGradient, meanGradConfig } from './mean-grad.ts';
export { setFusedTrainingGradients, batchNormTrainingGradConfig, reluGradConfig } from './batchnorm-training.ts';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD } from './kernels.ts';
export type { BackendAttempt, EngineInfo } from './engine.ts';

/** Backends a browser can use, in the order `auto` tries them. */
export const BROWSER_BACKEND_NAMES = ['webgpu', 'wasm', 'cpu'] as const;
export type BrowserBackendName = (typeof BROWSER_BACKEND_NAMES)[number];

/** Options of the browser {@link initEngine}. */
export interface BrowserEngineOptions {
  /** Backend to use; default 'auto' (webgpu → wasm → cpu). */
  backend?: BrowserBackendName | 'auto';
  /** Register the composed training kernels (default true). */
  trainingKernels?: boolean;
}

let gradientsRegistered = false;

/** Registers every tfjs gradient (tfjs-core alone registers none). Idempotent. */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  await import('@tensorflow/tfjs');
  gradientsRegistered = true;
}

/**
 * Where the tfjs wasm backend fetches its `.wasm` binaries: a URL prefix ending in `/` under which
 * `tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm` and `tfjs-backend-wasm-threaded-simd.wasm` are
 * served (copy them from `@tensorflow/tfjs-backend-wasm/dist`). Call before `initEngine`.
 */
export async function setWasmPaths(prefix: string): Promise<void> {
  if (typeof prefix !== 'string' || !prefix.endsWith('/')) {
    throw new Error(`setWasmPaths: got ${JSON.stringify(prefix)}; expected a URL prefix ending in '/', e.g. '/wasm/'.`);
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(prefix);
}

async function load(name: BrowserBackendName): Promise<void> {
  if (name === 'webgpu') {
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    if (gpu == null) throw new Error('this browser has no WebGPU (navigator.gpu)');
    if ((await gpu.requestAdapter()) == null) throw new Error('WebGPU requestAdapter() returned null: no GPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false (see the tfjs warning in the console)`);
}

/**
 * Chooses and initialises the tfjs backend in a browser, registers all gradients, the tile-free BatchNorm and
 * Mean gradients and (on wasm / cpu) the composed training kernels. Call once before creating any tensor.
 */
export async function initEngine(opts: BrowserEngineOptions = {}): Promise<EngineInfo> {
  const requested = opts.backend ?? 'auto';
  if (requested !== 'auto' && !(BROWSER_BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`initEngine: unknown browser backend '${String(requested)}'; valid: auto, ${BROWSER_BACKEND_NAMES.join(', ')}.`);
  }
  const wantKernels = opts.trainingKernels ?? true;
  await registerGradients();
  const attempts: BackendAttempt[] = [];
  for (const name of requested === 'auto' ? BROWSER_BACKEND_NAMES : [requested]) {
    try {
      await load(name);
      attempts.push({ name, ok: true, error: null });
      break;
    } catch (e) {
      attempts.push({ name, ok: false, error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300) });
    }
  }
  const tried = attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.error}`).join('; ');
  if (!attempts.some((a) => a.ok)) throw new Error(`initEngine: no backend could be initialised (requested '${requested}'): ${tried}`);
  const backend = tf.getBackend();
  const kernels: string[] = [];
  for (const b of ['wasm', 'cpu', 'webgpu'] as const) kernels.push(...setTrainingKernels(b, wantKernels && b === backend));
  setBatchNormGradient(wantKernels ? 'factored' : 'stock');
  setMeanGradient(wantKernels ? 'broadcast' : 'stock');
  setFusedTrainingGradients(wantKernels ? 'fused' : 'stock');
  if (wantKernels) kernels.push('grad:FusedBatchNorm', 'grad:Mean', 'grad:BatchNormTraining', 'grad:Relu');
  const failed = attempts.filter((a) => !a.ok).map((a) => a.name);
  const reason = requested !== 'auto' ? 'requested explicitly'
    : failed.length > 0 ? `first backend that loaded (${failed.join(', ')} unavailable)` : 'first backend that loaded';
  const info: EngineInfo = { backend, requested, reason, attempts, kernels, tried };
  if (backend === 'wasm') {
    info.wasm = { simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean,
      threads: (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean };
  }
  return info;
}
