/**
 * Training kernels for the wasm backend written in C with WebAssembly SIMD
 * (`native/training_kernels.c`, built by `scripts/build-wasm.mjs` into
 * `src/generated/training-kernels-wasm.ts`): convolution gradients, BatchNorm normalisation,
 * per-channel binary ops and leading-axes sums.
 *
 * The module is instantiated on the wasm backend's own `WebAssembly.Memory`, so it reads its inputs
 * where tfjs keeps them and writes straight into a tfjs output buffer: no copies, no transposes of
 * the activations, no zero-inserted dy. One instance per backend memory.
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { TRAINING_KERNELS_WASM_BASE64 } from './generated/training-kernels-wasm.ts';

/** The WebAssembly JS API as used here (the project's TypeScript lib set has no DOM/WebAssembly types). */
interface WasmMemory { readonly buffer: ArrayBuffer }
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: abstract new (...args: never[]) => WasmMemory;
};

/** The parts of the tfjs wasm backend used here. */
export interface WasmBackendInternals {
  wasm: { asm?: { memory?: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

interface ConvGradExports {
  conv2d_backprop_filter(x: number, dy: number, dw: number, n: number, h: number, w: number, cin: number,
    oh: number, ow: number, cout: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, nb: number): void;
  conv2d_backprop_input(dy: number, ft: number, dx: number, n: number, h: number, w: number, cin: number,
    oh: number, ow: number, cout: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): void;
  prepare_input_grad_filter(filter: number, ft: number, kh: number, kw: number, cin: number, cout: number): void;
  batch_norm(x: number, mean: number, variance: number, offset: number, scale: number, y: number, ab: number,
    m: number, c: number, eps: number): void;
  channel_binary(full: number, v: number, out: number, m: number, c: number, op: number, vectorFirst: number): void;
  reduce_leading(x: number, out: number, m: number, c: number, scale: number): void;
  channel_fill(v: number, out: number, m: number, c: number): void;
  pad_width(dy: number, dyp: number, rows: number, ow: number, cout: number, left: number, wp: number): void;
  conv2d_backprop_input_s1(dyp: number, ft: number, dx: number, n: number, h: number, w: number, cin: number,
    oh: number, cout: number, kh: number, kw: number, pt: number): void;
  reverse_blocks(src: number, dst: number, blocks: number, block: number): void;
  gemm_scratch_floats(): number;
  exp_f32(x: number, y: number, n: number): void;
  bn_grad_sums(x: number, mean: number, dy: number, out: number, scratch: number, m: number, c: number): void;
  bn_train_forward(x: number, scale: number, offset: number, y: number, mean: number, variance: number, scratch: number,
    m: number, c: number, eps: number): void;
  bn_train_backward(x: number, dy: number, mean: number, variance: number, scale: number, dmean: number, dvariance: number,
    dx: number, dscale: number, doffset: number, scratch: number, m: number, c: number, eps: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  gemm(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, transA: number, transB: number,
    strideA: number, strideB: number, strideC: number, pack: number): void;
  slice4d(x: number, out: number, d1: number, d2: number, d3: number, b0: number, b1: number, b2: number, b3: number,
    s0: number, s1: number, s2: number, s3: number): void;
}

export type SimdKernels = ConvGradExports;

let moduleCache: object | undefined;
const instances = new WeakMap<WasmMemory, ConvGradExports>();

function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/**
 * The SIMD kernels bound to a wasm backend's memory, or a reason string when they cannot be used
 * (no WebAssembly SIMD in this runtime, or a wasm backend that does not expose its memory).
 */
export function simdKernelsFor(backend: unknown): ConvGradExports | string {
  const memory = (backend as WasmBackendInternals).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    return 'the wasm backend does not expose its WebAssembly.Memory (wasm.asm.memory); expected @tensorflow/tfjs-backend-wasm 4.22.0';
  }
  const cached = instances.get(memory);
  if (cached !== undefined) return cached;
  try {
    moduleCache ??= new WebAssembly.Module(decodeBase64(TRAINING_KERNELS_WASM_BASE64));
    const exports = new WebAssembly.Instance(moduleCache, { env: { memory } }).exports as unknown as ConvGradExports;
    instances.set(memory, exports);
    return exports;
  } catch (e) {
    return `the SIMD training-kernel module could not be instantiated (${(e as Error).message})`;
  }
}

function offsetOf(be: WasmBackendInternals, t: TensorInfo): number {
  const d = be.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('simd-kernels: tensor data not found on the wasm backend (disposed?).');
  return d.memoryOffset;
}

/** Images per cache chunk of the filter gradient: x and dy of a chunk take about 192 KiB. */
export function filterChunk(h: number, w: number, cin: number, oh: number, ow: number, cout: number): number {
  const perImage = (h * w * cin + oh * ow * cout) * 4;
  return Math.max(1, Math.floor((192 * 1024) / perImage));
}

/** Conv2DBackpropFilter for float32 NHWC, dilation 1: returns dW [KH,KW,Cin,Cout]. */
export function simdConv2DBackpropFilter(k: ConvGradExports, backend: unknown, x: TensorInfo, dy: TensorInfo,
  info: backend_util.Conv2DInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout,
    filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const out = be.makeOutput([kh, kw, cin, cout], 'float32');
  k.conv2d_backprop_filter(offsetOf(be, x), offsetOf(be, dy), offsetOf(be, out), n, h, w, cin, oh, ow, cout, kh, kw, sh, sw,
    padInfo.top, padInfo.left, filterChunk(h, w, cin, oh, ow, cout));
  return out;
}

/** Conv2DBackpropInput for float32 NHWC, dilation 1: returns dx [N,H,W,Cin]. */
export function simdConv2DBackpropInput(k: ConvGradExports, backend: unknown, dy: TensorInfo, filter: TensorInfo,
  info: backend_util.Conv2DInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout,
    filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const ft = be.makeOutput([kh, kw, cout, cin], 'float32');
  const out = be.makeOutput([n, h, w, cin], 'float32');
  // Stride 1: dy padded along the width so every input pixel reads one contiguous run (no borders).
  const dyp = sh === 1 && sw === 1 ? be.makeOutput([n, oh, w + kw - 1, cout], 'float32') : undefined;
  try {
    k.prepare_input_grad_filter(offsetOf(be, filter), offsetOf(be, ft), kh, kw, cin, cout);
    if (dyp !== undefined) {
      k.pad_width(offsetOf(be, dy), offsetOf(be, dyp), n * oh, ow, cout, kw - 1 - padInfo.left, w + kw - 1);
      k.conv2d_backprop_input_s1(offsetOf(be, dyp), offsetOf(be, ft), offsetOf(be, out), n, h, w, cin, oh, cout, kh, kw, padInfo.top);
    } else {
      k.conv2d_backprop_input(offsetOf(be, dy), offsetOf(be, ft), offsetOf(be, out), n, h, w, cin, oh, ow, cout, kh, kw, sh, sw,
        padInfo.top, padInfo.left);
    }
  } finally {
    be.disposeData(ft.dataId);
    if (dyp !== undefined) be.disposeData(dyp.dataId);
  }
  return out;
}

/** FusedBatchNorm (inference form) over a float32 [..., C] tensor; every per-channel input has C values. */
export function simdBatchNorm(k: ConvGradExports, backend: unknown, x: TensorInfo, mean: TensorInfo, variance: TensorInfo,
  offset: TensorInfo | undefined, scale: TensorInfo | undefined, eps: number): TensorInfo {
  const be = backend as WasmBackendInternals;
  const c = x.shape[x.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(x.shape) / c;
  const ab = be.makeOutput([2 * c], 'float32');
  const out = be.makeOutput(x.shape, 'float32');
  try {
    k.batch_norm(offsetOf(be, x), offsetOf(be, mean), offsetOf(be, variance), offset ? offsetOf(be, offset) : 0,
      scale ? offsetOf(be, scale) : 0, offsetOf(be, out), offsetOf(be, ab), m, c, eps);
  } finally {
    be.disposeData(ab.dataId);
  }
  return out;
}

/** Binary op codes of `channel_binary`. */
export const CHANNEL_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;

/** op(full, v) (or op(v, full) when vectorFirst) with v holding one value per channel of full's last axis. */
export function simdChannelBinary(k: ConvGradExports, backend: unknown, op: keyof typeof CHANNEL_OPS, full: TensorInfo,
  v: TensorInfo, vectorFirst: boolean): TensorInfo {
  const be = backend as WasmBackendInternals;
  const c = full.shape[full.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(full.shape) / c;
  const out = be.makeOutput(full.shape, 'float32');
  k.channel_binary(offsetOf(be, full), offsetOf(be, v), offsetOf(be, out), m, c, CHANNEL_OPS[op], vectorFirst ? 1 : 0);
  return out;
}

/** Σ (times `scale`) over every axis but the last of a float32 tensor, into `out` ([C] values). */
export function simdReduceLeading(k: ConvGradExports, backend: unknown, x: TensorInfo, out: TensorInfo, scale: number): void {
  const be = backend as WasmBackendInternals;
  const c = x.shape[x.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(x.shape) / c;
  k.reduce_leading(offsetOf(be, x), offsetOf(be, out), m, c, scale);
}

/** out [..., C] with every row equal to v ([C] values). */
export function simdChannelFill(k: ConvGradExports, backend: unknown, v: TensorInfo, shape: number[]): TensorInfo {
  const be = backend as WasmBackendInternals;
  const c = shape[shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(shape) / c;
  const out = be.makeOutput(shape, 'float32');
  k.channel_fill(offsetOf(be, v), offsetOf(be, out), m, c);
  return out;
}

/** x[begin : begin + size] of a rank ≤ 4 tensor with 4-byte elements, copied run by run. */
export function simdSlice(k: ConvGradExports, backend: unknown, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const be = backend as WasmBackendInternals;
  const pad = 4 - x.shape.length;
  const d = [...Array(pad).fill(1) as number[], ...x.shape];
  const b = [...Array(pad).fill(0) as number[], ...begin];
  const s = [...Array(pad).fill(1) as number[], ...size];
  const out = be.makeOutput(size, x.dtype as 'float32');
  if (util.sizeFromShape(size) > 0) {
    k.slice4d(offsetOf(be, x), offsetOf(be, out), d[1]!, d[2]!, d[3]!, b[0]!, b[1]!, b[2]!, b[3]!, s[0]!, s[1]!, s[2]!, s[3]!);
  }
  return out;
}

/**
 * Stride-1 Conv2D (dilation 1, NHWC, float32) through the input-gradient kernel: with x padded
 * along the width by the left padding, output pixel ow reads the contiguous run x[ow … ow + KW − 1]
 * against the filter rows W[kh][kw][ci][·] (kh reversed so that the kernel's row gather
 * oh = ih + pt' − kh' with pt' = KH − 1 − top visits input row oh + kh − top).
 */
export function simdConv2DStride1(k: ConvGradExports, backend: unknown, x: TensorInfo, filter: TensorInfo,
  info: backend_util.Conv2DInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout,
    filterHeight: kh, filterWidth: kw, padInfo } = info;
  const fr = be.makeOutput([kh, kw, cin, cout], 'float32');
  const xp = be.makeOutput([n, h, ow + kw - 1, cin], 'float32');
  const out = be.makeOutput([n, oh, ow, cout], 'float32');
  try {
    k.reverse_blocks(offsetOf(be, filter), offsetOf(be, fr), kh, kw * cin * cout);
    k.pad_width(offsetOf(be, x), offsetOf(be, xp), n * h, w, cin, padInfo.left, ow + kw - 1);
    k.conv2d_backprop_input_s1(offsetOf(be, xp), offsetOf(be, fr), offsetOf(be, out), n, oh, ow, cout, h, cin, kh, kw, kh - 1 - padInfo.top);
  } finally {
    be.disposeData(fr.dataId);
    be.disposeData(xp.dataId);
  }
  return out;
}

/**
 * BatchMatMul (float32) by the packed SIMD GEMM: a [...batch, M, K] (or [..., K, M] with transposeA),
 * b [...batch, K, N] (or [..., N, K] with transposeB); batch dims equal, or one side's batch of size 1
 * (broadcast). Returns null for any other batch broadcast (the caller falls back).
 */
/** Sizes of a batched matrix product: op(a) [..., M, K] · op(b) [..., K, N], batch sizes A and B, output batch dims. */
export interface MatMulShape { m: number; k: number; n: number; sizeA: number; sizeB: number; outBatch: number[] }

/**
 * The sizes of BatchMatMul(a, b, transposeA, transposeB) when the batch dims are equal or one side's batch has size 1
 * (broadcast); null for any other batch broadcast or mismatched inner sizes (callers then fall back).
 */
export function matMulShape(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShape | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = a.shape[transposeA ? ra - 1 : ra - 2] as number;
  const k = a.shape[transposeA ? ra - 2 : ra - 1] as number;
  const kb = b.shape[transposeB ? rb - 1 : rb - 2] as number;
  const n = b.shape[transposeB ? rb - 2 : rb - 1] as number;
  if (k !== kb) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const sizeA = util.sizeFromShape(batchA);
  const sizeB = util.sizeFromShape(batchB);
  let outBatch: number[];
  if (sizeA === sizeB && (batchA.length === batchB.length ? batchA.every((d, i) => d === batchB[i]) : false)) outBatch = batchA;
  else if (sizeB === 1 && batchB.length <= batchA.length) outBatch = batchA;
  else if (sizeA === 1 && batchA.length <= batchB.length) outBatch = batchB;
  else return null;
  return { m, k, n, sizeA, sizeB, outBatch };
}

export function simdBatchMatMul(k: ConvGradExports, backend: unknown, a: TensorInfo, b: TensorInfo,
  transposeA: boolean, transposeB: boolean): TensorInfo | null {
  const be = backend as WasmBackendInternals;
  const s = matMulShape(a, b, transposeA, transposeB);
  if (s === null) return null;
  const { m, k: kk, n, sizeA, sizeB, outBatch } = s;
  const batch = util.sizeFromShape(outBatch);
  const out = be.makeOutput([...outBatch, m, n], 'float32');
  if (batch * m * n === 0) return out;
  const pack = be.makeOutput([k.gemm_scratch_floats()], 'float32');
  try {
    k.gemm(offsetOf(be, a), offsetOf(be, b), offsetOf(be, out), batch, m, kk, n, transposeA ? 1 : 0, transposeB ? 1 : 0,
      sizeA === 1 ? 0 : m * kk, sizeB === 1 ? 0 : kk * n, m * n, offsetOf(be, pack));
  } finally {
    be.disposeData(pack.dataId);
  }
  return out;
}

/** exp(x) of a float32 tensor (polynomial, relative error ≲ 2e-7; see exp_f32 in the C source). */
export function simdExp(k: ConvGradExports, backend: unknown, x: TensorInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput(x.shape, 'float32');
  const n = util.sizeFromShape(x.shape);
  if (n > 0) k.exp_f32(offsetOf(be, x), offsetOf(be, out), n);
  return out;
}

/**
 * Runs `f` with a float32 scratch buffer of `floats` values on the wasm heap (its byte offset; the buffer of 2 extra
 * floats lets a kernel align doubles to 8 bytes) and frees it afterwards, also when `f` throws.
 */
function withScratch(be: WasmBackendInternals, floats: number, f: (scratch: number) => void): void {
  const scratch = be.makeOutput([floats], 'float32');
  try {
    f(offsetOf(be, scratch));
  } finally {
    be.disposeData(scratch.dataId);
  }
}

/** [2, C]: row 0 Σ dy, row 1 Σ (x − mean)·dy over the leading axes of float32 x and dy ([..., C]), one pass. */
export function simdBatchNormGradSums(k: ConvGradExports, backend: unknown, x: TensorInfo, mean: TensorInfo, dy: TensorInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const c = x.shape[x.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(x.shape) / c;
  const out = be.makeOutput([2, c], 'float32');
  withScratch(be, 6 * c + 2, (scratch) => {
    k.bn_grad_sums(offsetOf(be, x), offsetOf(be, mean), offsetOf(be, dy), offsetOf(be, out), scratch, m, c);
  });
  return out;
}

/**
 * BatchNorm in training mode over a float32 [..., C] tensor (scale and offset of C values): y, and the batch mean and
 * biased variance ([C] each) that normalised it, in two passes over x (see `bn_train_forward`).
 */
export function simdBatchNormTraining(k: ConvGradExports, backend: unknown, x: TensorInfo, scale: TensorInfo,
  offset: TensorInfo, eps: number): [TensorInfo, TensorInfo, TensorInfo] {
  const be = backend as WasmBackendInternals;
  const c = x.shape[x.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(x.shape) / c;
  const y = be.makeOutput(x.shape, 'float32');
  const mean = be.makeOutput([c], 'float32');
  const variance = be.makeOutput([c], 'float32');
  withScratch(be, 9 * c + 2, (scratch) => {
    k.bn_train_forward(offsetOf(be, x), offsetOf(be, scale), offsetOf(be, offset), offsetOf(be, y), offsetOf(be, mean),
      offsetOf(be, variance), scratch, m, c, eps);
  });
  return [y, mean, variance];
}

/**
 * Gradient of {@link simdBatchNormTraining}: [dx, dscale, doffset] from x, dy, the saved mean and variance, scale and
 * the gradients of the mean and variance outputs ([C] each), in two passes over x and dy (see `bn_train_backward`).
 */
export function simdBatchNormTrainingGrad(k: ConvGradExports, backend: unknown, x: TensorInfo, dy: TensorInfo,
  mean: TensorInfo, variance: TensorInfo, scale: TensorInfo, dmean: TensorInfo, dvariance: TensorInfo,
  eps: number): [TensorInfo, TensorInfo, TensorInfo] {
  const be = backend as WasmBackendInternals;
  const c = x.shape[x.shape.length - 1] as number;
  const m = c === 0 ? 0 : util.sizeFromShape(x.shape) / c;
  const dx = be.makeOutput(x.shape, 'float32');
  const dscale = be.makeOutput([c], 'float32');
  const doffset = be.makeOutput([c], 'float32');
  withScratch(be, 7 * c + 2, (scratch) => {
    k.bn_train_backward(offsetOf(be, x), offsetOf(be, dy), offsetOf(be, mean), offsetOf(be, variance), offsetOf(be, scale),
      offsetOf(be, dmean), offsetOf(be, dvariance), offsetOf(be, dx), offsetOf(be, dscale), offsetOf(be, doffset),
      scratch, m, c, eps);
  });
  return [dx, dscale, doffset];
}

/** dy·step(x) (the Relu gradient) over two float32 tensors of one shape, one pass. */
export function simdReluGrad(k: ConvGradExports, backend: unknown, dy: TensorInfo, x: TensorInfo): TensorInfo {
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput(x.shape, 'float32');
  k.relu_grad(offsetOf(be, dy), offsetOf(be, x), offsetOf(be, out), util.sizeFromShape(x.shape));
  return out;
}
