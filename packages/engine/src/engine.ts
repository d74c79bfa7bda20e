/**
 * Backend chooser: picks the fastest TensorFlow.js backend that loads on this machine,
 * registers every gradient and the composed training kernels, and reports what it did.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setBatchNormGradient } from './batchnorm-grad.ts';
import { setTrainingKernels } from './kernels.ts';
import { setMeanGradient } from './mean-grad.ts';

/** Backends the chooser knows, in the order `auto` tries them. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** A backend that can be requested explicitly. `tensorflow-gpu` / `tensorflow` are tfjs-node(-gpu). */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** What `initEngine` may be asked for. */
export type BackendRequest = BackendName | 'auto';

/** One backend tried by the chooser. */
export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it could not be used (null when ok). */
  error: string | null;
}

/** What `initEngine` chose; apps record it in env.json. */
export interface EngineInfo {
  /** The tfjs backend name now active (`tf.getBackend()`): tensorflow, webgpu, wasm or cpu. */
  backend: string;
  requested: BackendRequest;
  /** Why this backend was chosen, in words. */
  reason: string;
  attempts: BackendAttempt[];
  /** Composed kernels and gradient overrides active for this backend (`backend:Kernel`, `grad:Kernel`). */
  kernels: string[];
  /** Whether the wasm binary has SIMD / threads (wasm only). */
  wasm?: { simd: boolean; threads: boolean };
}

/** Options of {@link initEngine}. */
export interface EngineOptions {
  /** Backend to use; default 'auto' (tensorflow-gpu → tensorflow → webgpu → wasm → cpu). */
  backend?: BackendRequest;
  /** Register the composed training kernels (default true). false restores the stock kernels. */
  trainingKernels?: boolean;
  /** Print the chosen engine (one JSON line) through this function, e.g. console.log. */
  log?: (line: string) => void;
  /**
   * Supplies `navigator.gpu` for the WebGPU attempt. Default: the `webgpu` npm package (Dawn),
   * when installed. Returning null means "no GPU". Tests inject a fake here.
   */
  webgpuProvider?: () => Promise<unknown>;
}

let gradientsRegistered = false;
let lastInfo: EngineInfo | undefined;

/** Registers every tfjs gradient (tfjs-core alone registers none). Idempotent. */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  await import('@tensorflow/tfjs');
  gradientsRegistered = true;
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}

/** Imports a package that is not a dependency of this one (optional native backends). */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

/** Loads tfjs-node(-gpu) and checks that it registered into this tfjs-core instance. */
async function tryNode(pkg: string): Promise<void> {
  await importOptional(pkg);
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new Error(`${pkg} loaded but registered its 'tensorflow' backend with another copy of @tensorflow/tfjs-core; ` +
      'install it so that it resolves the same @tensorflow/tfjs-core@4.22.0');
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg}: tf.setBackend('tensorflow') returned false`);
}

async function defaultWebgpuProvider(): Promise<unknown> {
  let mod: { create?: (opts: string[]) => unknown };
  try {
    mod = (await importOptional('webgpu')) as typeof mod;
  } catch (e) {
    throw new Error(`npm package 'webgpu' (Dawn for Node) is not installed: ${message(e)}`);
  }
  if (typeof mod.create !== 'function') throw new Error("npm package 'webgpu' has no create(); expected webgpu@0.x (Dawn)");
  return mod.create([]);
}

/**
 * WebGPU through Dawn: only when an adapter exists. Unmeasured here (no GPU on the machines
 * this was written on); on a CPU-only machine Dawn returns no adapter and this attempt fails.
 */
async function tryWebgpu(provider: () => Promise<unknown>): Promise<void> {
  const gpu = (await provider()) as { requestAdapter?: () => Promise<unknown> } | null;
  if (gpu == null || typeof gpu.requestAdapter !== 'function') throw new Error('no WebGPU implementation (navigator.gpu) available');
  const adapter = await gpu.requestAdapter();
  if (adapter == null) throw new Error('WebGPU requestAdapter() returned null: no GPU adapter on this machine');
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (g.navigator.gpu === undefined) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false (see the tfjs warning above)");
}

async function tryWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
}

async function tryCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') returned false");
}

function loaderFor(name: BackendName, opts: EngineOptions): () => Promise<void> {
  switch (name) {
    case 'tensorflow-gpu': return () => tryNode('@tensorflow/tfjs-node-gpu');
    case 'tensorflow': return () => tryNode('@tensorflow/tfjs-node');
    case 'webgpu': return () => tryWebgpu(opts.webgpuProvider ?? defaultWebgpuProvider);
    case 'wasm': return tryWasm;
    case 'cpu': return tryCpu;
  }
}

/**
 * Chooses and initialises the tfjs backend, registers all gradients, the tile-free BatchNorm
 * gradient and (on wasm / cpu) the composed training kernels. Call once before creating any
 * tensor; calling again with the same options is a no-op, and another backend switches to it
 * (tensors never move between backends: do not reuse tensors made before the switch).
 *
 * `auto` tries tfjs-node-gpu, tfjs-node (both optional, probed by dynamic import, never
 * dependencies), WebGPU via Dawn (only with a GPU adapter), wasm, cpu — first that loads wins.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const requested = opts.backend ?? 'auto';
  if (requested !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`initEngine: unknown backend '${String(requested)}'; valid: auto, ${BACKEND_NAMES.join(', ')}.`);
  }
  const wantKernels = opts.trainingKernels ?? true;
  await registerGradients();
  if (lastInfo !== undefined && lastInfo.requested === requested && tf.getBackend() === lastInfo.backend &&
      lastInfo.kernels.some((k) => !k.startsWith('grad:')) === (wantKernels && hasKernels(lastInfo.backend))) {
    opts.log?.(JSON.stringify(lastInfo));
    return lastInfo;
  }
  const candidates: BackendName[] = requested === 'auto' ? [...BACKEND_NAMES] : [requested];
  const attempts: BackendAttempt[] = [];
  let chosen: BackendName | undefined;
  for (const name of candidates) {
    try {
      await loaderFor(name, opts)();
      attempts.push({ name, ok: true, error: null });
      chosen = name;
      break;
    } catch (e) {
      attempts.push({ name, ok: false, error: message(e) });
    }
  }
  if (chosen === undefined) {
    throw new Error(`initEngine: no backend could be initialised (requested '${requested}'): ` +
      attempts.map((a) => `${a.name}: ${a.error}`).join('; '));
  }
  const backend = tf.getBackend();
  const kernels: string[] = [];
  for (const b of ['wasm', 'cpu'] as const) {
    const on = setTrainingKernels(b, wantKernels && b === backend);
    kernels.push(...on);
  }
  setBatchNormGradient(wantKernels ? 'factored' : 'stock');
  setMeanGradient(wantKernels ? 'broadcast' : 'stock');
  if (wantKernels) kernels.push('grad:FusedBatchNorm', 'grad:Mean');
  const failed = attempts.filter((a) => !a.ok).map((a) => a.name);
  const reason = requested === 'auto'
    ? (failed.length > 0 ? `first backend that loaded (${failed.join(', ')} unavailable)` : 'first backend that loaded')
    : 'requested explicitly';
  const info: EngineInfo = { backend, requested, reason, attempts, kernels };
  if (backend === 'wasm') {
    info.wasm = { simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean,
      threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean };
  }
  lastInfo = info;
  opts.log?.(JSON.stringify(info));
  return info;
}

function hasKernels(backend: string): boolean {
  return backend === 'wasm' || backend === 'cpu';
}
