/**
 * Backend chooser: picks the fastest TensorFlow.js backend that loads on this machine,
 * registers every gradient and the composed training kernels, and reports what it did.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setBatchNormGradient } from './batchnorm-grad.ts';
import { setTrainingKernels } from './kernels.ts';
import { setMeanGradient } from './mean-grad.ts';
import { setFusedTrainingGradients } from './batchnorm-training.ts';
import { setNativeKernels } from './native-kernels.ts';
import { loadNativeKernels, type NativeKernelOptions, type NativeStatus } from './native-loader.ts';

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
  /**
   * What the attempt found out besides the error, when there is more: e.g. for WebGPU the GPU device nodes seen, or the
   * first lines Dawn printed on stderr during the quiet probe ("Couldn't load Vulkan: …"). Absent when there is nothing.
   */
  detail?: string;
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
  /**
   * The native kernel tier under the wasm backend (oneDNN convolutions and matrix products in place on the wasm
   * heap): whether it is in use and, if not, why (wasm only).
   */
  native?: NativeStatus;
  /** One line per backend tried, `name: ok` or `name: why not` (the same facts as `attempts`, for a log line). */
  tried: string;
}

/** Options of {@link initEngine}. */
export interface EngineOptions {
  /** Backend to use; default 'auto' (tensorflow-gpu → tensorflow → webgpu → wasm → cpu). */
  backend?: BackendRequest;
  /** Register the composed training kernels (default true). false restores the stock kernels. */
  trainingKernels?: boolean;
  /**
   * The native tier under the wasm training kernels (default true: used where the addon is built and loads; see
   * `scripts/setup.sh`). false keeps the WebAssembly-SIMD kernels only; an object sets the addon path or threads.
   */
  nativeKernels?: boolean | NativeKernelOptions;
  /** Print the chosen engine (one JSON line) through this function, e.g. console.log. */
  log?: (line: string) => void;
  /**
   * Supplies `navigator.gpu` for the WebGPU attempt. Default: the `webgpu` npm package (Dawn),
   * when installed, after a quiet probe (see {@link probeWebgpu}). Returning null means "no GPU". Tests inject a fake here.
   */
  webgpuProvider?: () => Promise<unknown>;
}

let gradientsRegistered = false;
let lastInfo: EngineInfo | undefined;
let lastNativeKey: string | undefined;

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

/** An attempt's failure with extra facts for {@link BackendAttempt.detail}. */
class AttemptError extends Error {
  constructor(msg: string, readonly detail?: string) { super(msg); }
}

/** Imports a package that is not a dependency of this one (optional native backends). */
async function importOptional(name: string): Promise<unknown> {
  try {
    return await import(/* @vite-ignore */ name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message(e).includes(`'${name}'`)) {
      throw new Error(`npm package '${name}' is not installed`);
    }
    throw e;
  }
}

/** GPU device nodes found by {@link gpuDeviceNodes}. */
export interface GpuDeviceCheck {
  /** false where no cheap check exists (not Linux): a GPU may exist, only a probe can tell. */
  checked: boolean;
  /** Device nodes found, e.g. `/dev/dri/renderD128`, `/dev/nvidia0`, `/dev/dxg` (WSL). */
  found: string[];
}

/**
 * Cheap check whether a GPU adapter can exist, before anything native is loaded. On Linux every GPU driver that Dawn
 * can use (Vulkan on Mesa/AMD/Intel, NVIDIA, WSL's D3D12 bridge) exposes a device node: a DRM render node
 * `/dev/dri/renderD*`, `/dev/nvidia<N>` or `/dev/dxg`. No node means no adapter. Elsewhere it cannot tell.
 * `list` lists a directory (names only; an absent directory lists as empty) and is injectable for tests.
 */
export function gpuDeviceNodes(platform: string = process.platform, list: (dir: string) => string[] = listDir): GpuDeviceCheck {
  if (platform !== 'linux') return { checked: false, found: [] };
  const found = [
    ...list('/dev/dri').filter((n) => /^renderD\d+$/.test(n)).map((n) => `/dev/dri/${n}`),
    ...list('/dev').filter((n) => /^(nvidia\d+|dxg)$/.test(n)).map((n) => `/dev/${n}`),
  ];
  return { checked: true, found };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT' || (e as { code?: string }).code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Result of {@link probeWebgpu}. */
export interface WebgpuProbe {
  adapter: boolean;
  /** Adapter description when there is one (vendor, architecture, device), else null. */
  description: string | null;
  /** What Dawn printed on stderr during the probe (trimmed; '' when nothing). */
  stderr: string;
}

/** Script run by {@link probeWebgpu} in a child process: argv[1] is the file URL of the `webgpu` package. */
const PROBE_SCRIPT = `
const m = await import(process.argv[1]);
const gpu = m.create([]);
const a = await gpu.requestAdapter();
let description = null;
if (a) { const i = a.info ?? {}; description = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unnamed adapter'; }
process.stdout.write(JSON.stringify({ adapter: a != null, description }));
process.exit(0);
`;

/**
 * Asks Dawn (npm package `webgpu`) for a GPU adapter in a child process, so that whatever the native library prints
 * (e.g. "Warning: Couldn't load Vulkan" on a machine without a GPU) is captured instead of reaching this process's
 * stderr. Throws when the package is not installed or the probe crashes.
 */
export async function probeWebgpu(timeoutMs = 30_000): Promise<WebgpuProbe> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch (e) {
    throw new Error(`npm package 'webgpu' (Dawn for Node) is not installed: ${message(e)}`);
  }
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, entry], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      const stderr = err.trim();
      if (code !== 0) {
        reject(new AttemptError(`the WebGPU probe (Dawn, child process) failed (${signal ?? `exit ${code}`})`, firstLines(stderr)));
        return;
      }
      try {
        const r = JSON.parse(out) as { adapter: boolean; description: string | null };
        resolve({ adapter: r.adapter, description: r.description, stderr });
      } catch {
        reject(new AttemptError(`the WebGPU probe printed no result: ${JSON.stringify(out.slice(0, 200))}`, firstLines(stderr)));
      }
    });
  });
}

function firstLines(text: string, n = 2): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(0, n);
  return lines.length ? lines.join(' | ').slice(0, 400) : undefined;
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

/**
 * Dawn's `navigator.gpu`, loaded in this process only where an adapter exists: first the device-node check, then the
 * child-process probe; neither lets Dawn print into this process when there is no GPU.
 */
async function defaultWebgpuProvider(): Promise<unknown> {
  const nodes = gpuDeviceNodes();
  if (nodes.checked && nodes.found.length === 0) {
    throw new AttemptError('no GPU device on this machine', 'no /dev/dri/renderD*, /dev/nvidia<N> or /dev/dxg; Dawn not loaded');
  }
  const probe = await probeWebgpu();
  const seen = nodes.found.length ? `devices ${nodes.found.join(', ')}` : '';
  if (!probe.adapter) {
    throw new AttemptError('Dawn found no GPU adapter (probed in a child process)',
      [seen, probe.stderr ? `Dawn: ${firstLines(probe.stderr)}` : ''].filter((s) => s).join('; ') || undefined);
  }
  let mod: { create?: (opts: string[]) => unknown };
  try {
    mod = (await importOptional('webgpu')) as typeof mod;
  } catch (e) {
    throw new Error(`npm package 'webgpu' (Dawn for Node) is not installed: ${message(e)}`);
  }
  if (typeof mod.create !== 'function') throw new Error("npm package 'webgpu' has no create(); expected webgpu@0.x (Dawn)");
  installWebgpuGlobals((mod as { globals?: Record<string, unknown> }).globals ?? {});
  return mod.create([]);
}

/**
 * Defines the browser's WebGPU constant objects (`GPUBufferUsage`, `GPUMapMode`, `GPUShaderStage`, ...) on `globalThis`
 * where they are missing: tfjs-backend-webgpu reads them as globals, and Node has none (Dawn's package exports them as
 * `globals`). Returns the names it defined.
 */
export function installWebgpuGlobals(globals: Record<string, unknown>): string[] {
  const defined: string[] = [];
  for (const [k, v] of Object.entries(globals)) {
    if (k in globalThis) continue;
    Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
    defined.push(k);
  }
  return defined;
}

/**
 * WebGPU through Dawn: only when an adapter exists; on a CPU-only machine Dawn returns no adapter and this attempt
 * fails. Checked once on an NVIDIA H200 (Dawn on Vulkan): ResNet-20 ASAM steps match wasm's losses (see README).
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
  const nativeOpts = opts.nativeKernels ?? true;
  const nativeKey = JSON.stringify(nativeOpts);
  await registerGradients();
  if (lastInfo !== undefined && lastInfo.requested === requested && tf.getBackend() === lastInfo.backend && lastNativeKey === nativeKey &&
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
      const a: BackendAttempt = { name, ok: false, error: message(e) };
      if (e instanceof AttemptError && e.detail !== undefined) a.detail = e.detail;
      attempts.push(a);
    }
  }
  if (chosen === undefined) {
    throw new Error(`initEngine: no backend could be initialised (requested '${requested}'): ` +
      attempts.map((a) => `${a.name}: ${a.error}`).join('; '));
  }
  quietCpuBanner();
  const backend = tf.getBackend();
  const kernels: string[] = [];
  for (const b of ['wasm', 'cpu', 'webgpu'] as const) {
    const on = setTrainingKernels(b, wantKernels && b === backend);
    kernels.push(...on);
  }
  setBatchNormGradient(wantKernels ? 'factored' : 'stock');
  setMeanGradient(wantKernels ? 'broadcast' : 'stock');
  setFusedTrainingGradients(wantKernels ? 'fused' : 'stock');
  if (wantKernels) kernels.push('grad:FusedBatchNorm', 'grad:Mean', 'grad:BatchNormTraining', 'grad:Relu');
  const failed = attempts.filter((a) => !a.ok);
  const tried = attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.error}`).join('; ');
  const reason = requested === 'auto'
    ? (failed.length > 0
      ? `first backend that loaded (${failed.map((a) => a.name).join(', ')} unavailable: ${failed.map((a) => `${a.name}: ${a.error}`).join('; ')})`
      : 'first backend that loaded')
    : 'requested explicitly';
  const info: EngineInfo = { backend, requested, reason, attempts, kernels, tried };
  setNativeKernels(undefined);
  if (backend === 'wasm') {
    info.wasm = { simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean,
      threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean };
    if (!wantKernels) {
      info.native = { loaded: false, path: '', reason: 'training kernels off (trainingKernels: false)' };
    } else if (nativeOpts === false) {
      info.native = { loaded: false, path: '', reason: 'switched off (nativeKernels: false)' };
    } else {
      const { addon, status } = loadNativeKernels(nativeOpts === true ? {} : nativeOpts);
      setNativeKernels(addon);
      info.native = status;
    }
  }
  lastInfo = info;
  lastNativeKey = nativeKey;
  opts.log?.(JSON.stringify(info));
  return info;
}

/**
 * tfjs's cpu backend prints a banner on its first tensor in Node ("looks like you are running TensorFlow.js in Node.js
 * … install our node backend"). The engine already tried the node backends and reports why each was not used, so the
 * banner is switched off on the cpu backend instance (created here if needed; it is where the banner lives).
 */
function quietCpuBanner(): void {
  if (tf.findBackendFactory('cpu') == null) return;
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu != null && 'firstUse' in cpu) cpu.firstUse = false;
}

function hasKernels(backend: string): boolean {
  return backend === 'wasm' || backend === 'cpu' || backend === 'webgpu';
}
