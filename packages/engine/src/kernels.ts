/**
 * Training kernels composed from a backend's own fast kernels.
 *
 * TensorFlow.js 4.22's wasm backend lacks `Conv2DBackpropFilter` and `UnsortedSegmentSum`
 * (the gradients of conv2d and of gather), and its `Conv2DBackpropInput` and transposed
 * `BatchMatMul` are slow. The cpu backend has pathological `Conv2DBackpropFilter` and
 * `UnsortedSegmentSum` kernels. Each kernel here is written against the kernel API
 * (`{inputs, backend, attrs}` → TensorInfo), calls the backend's original kernels, frees every
 * temporary with `backend.disposeData`, and is registered with `tf.registerKernel`, so the
 * public tfjs ops and gradients stay unchanged.
 *
 * Nothing is registered on import: call {@link setTrainingKernels}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { nativeBatchMatMul, nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput } from './native-kernels.ts';
import { simdBatchMatMul, simdBatchNorm, simdBatchNormGradSums, simdBatchNormTraining, simdBatchNormTrainingGrad, simdReluGrad, simdExp, simdChannelBinary, simdChannelFill, simdConv2DStride1, simdSlice, simdConv2DBackpropFilter, simdConv2DBackpropInput, simdKernelsFor, simdReduceLeading } from './simd-kernels.ts';

/** The parts of a tfjs backend the composed kernels use (present on cpu and wasm). */
interface BackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}
/** wasm backend: outputs are allocated on the wasm heap and read through typed-array views. */
interface WasmBackendLike extends BackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}
/** cpu backend: values live in JS typed arrays. */
interface CpuBackendLike extends BackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
}

type Inputs = Record<string, TensorInfo>;

/** Backends for which composed kernels exist. */
export type KernelBackendName = 'wasm' | 'cpu' | 'webgpu';

/**
 * How the wasm convolutions (forward stride 1, filter and input gradients) and BatchMatMul are
 * computed: `simd` (default) runs the C/WebAssembly-SIMD kernels of `native/training_kernels.c` in
 * place on the backend's memory; `composed` runs the earlier compositions of the backend's own
 * kernels (XNNPACK forward conv; dilated Conv2D for the filter gradient; zero-insert + Conv2D for the
 * input gradient; Transpose + stock matmul). `simd` falls back to `composed` when the module cannot
 * be used. The other SIMD kernels (BatchNorm, per-channel ops, sums, Exp, Slice) do not depend on it.
 */
export type ConvGradientImpl = 'simd' | 'composed';
let convGradientImpl: ConvGradientImpl = 'simd';

/** Selects the wasm convolution / matmul implementation (see {@link ConvGradientImpl}). */
export function setConvGradient(impl: ConvGradientImpl): void {
  if (impl !== 'simd' && impl !== 'composed') {
    throw new Error(`setConvGradient: unknown implementation '${String(impl)}'; valid: simd, composed.`);
  }
  convGradientImpl = impl;
}

/** The wasm convolution-gradient implementation in use, and why `simd` is unavailable if it is. */
export function convGradientStatus(backend?: unknown): { impl: ConvGradientImpl; simdUnavailable?: string } {
  if (backend === undefined) return { impl: convGradientImpl };
  const k = simdKernelsFor(backend);
  return typeof k === 'string' ? { impl: convGradientImpl, simdUnavailable: k } : { impl: convGradientImpl };
}

/** Original kernel configs replaced by an override, keyed `${kernel}/${backend}`. */
const originals = new Map<string, KernelConfig>();
/** Kernels currently registered by this module, per backend. */
const registered = new Map<KernelBackendName, string[]>();

function key(kernelName: string, backendName: string): string {
  return `${kernelName}/${backendName}`;
}

/**
 * The kernel a backend had before this module replaced it, or the one registered now.
 * Tests use it to compare a composed kernel with the stock one on the same backend.
 */
export function stockKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return originals.get(key(kernelName, backendName)) ?? tf.getKernel(kernelName, backendName);
}

/** Runs a backend's original kernel (never one of the overrides) on TensorInfos. */
function run(
  backendName: KernelBackendName,
  backend: BackendLike,
  kernelName: string,
  inputs: Inputs,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = stockKernel(kernelName, backendName);
  if (config === undefined) {
    throw new Error(`Kernel '${kernelName}' is not registered for backend '${backendName}', ` +
      `but the composed training kernels need it; check the @tensorflow/tfjs-backend-${backendName} version (4.22.0 expected).`);
  }
  const out = config.kernelFunc({ inputs, backend: backend as never, attrs });
  if (Array.isArray(out)) throw new Error(`Kernel '${kernelName}' returned several outputs where one was expected.`);
  return out as TensorInfo;
}

/** Frees temporaries created inside a composed kernel (each TensorInfo holds one reference). */
function free(backend: BackendLike, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

function transpose(b: KernelBackendName, be: BackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return run(b, be, 'Transpose', { x }, { perm });
}
function reshape(b: KernelBackendName, be: BackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return run(b, be, 'Reshape', { x }, { shape });
}

/**
 * Conv2DBackpropFilter as one dilated convolution ("dilated" composition).
 *
 * For a conv with stride s and padding (top, left), the filter gradient is
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+kh, ow·s+kw, ci] · dy[n,oh,ow,co].
 * With xT = x transposed to [Cin,H,W,N] (batch ↔ channels) and dyT = dy transposed to
 * [OH,OW,N,Cout] used as a filter, this is Conv2D(xT, dyT, stride 1, dilation s, the original
 * padding): output [Cin, KH', KW', Cout] with KH' ≥ KH; crop to [Cin,KH,KW,Cout] and transpose
 * to [KH,KW,Cin,Cout]. A 1x1, stride-1, unpadded conv is the plain matmul xᵀ·dy instead.
 */
function makeConv2DBackpropFilter(b: KernelBackendName): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as BackendLike;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: [number, number] | number; pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
    };
    if (dataFormat !== undefined && dataFormat !== 'NHWC') {
      throw new Error(`Conv2DBackpropFilter (${b}, composed): dataFormat '${dataFormat}' is not supported; use 'NHWC'.`);
    }
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    if (b === 'wasm' && convGradientImpl === 'simd' && x.dtype === 'float32' && dy.dtype === 'float32') {
      const native = nativeConv2DBackpropFilter(backend, x, dy, info);
      if (native !== null) return native;
      const k = simdKernelsFor(backend);
      if (typeof k !== 'string') return simdConv2DBackpropFilter(k, backend, x, dy, info);
    }
    const [kh, kw, cin, cout] = filterShape;
    const [n, h, w] = x.shape as [number, number, number, number];
    const { top, bottom, left, right } = info.padInfo;
    if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
        top === 0 && bottom === 0 && left === 0 && right === 0) {
      // dW = xᵀ·dy over the N·H·W rows.
      const x2 = reshape(b, be, x, [n * h * w, cin]);
      const xt = transpose(b, be, x2, [1, 0]);
      const dy2 = reshape(b, be, dy, [n * h * w, cout]);
      const prod = run(b, be, 'BatchMatMul', { a: xt, b: dy2 }, { transposeA: false, transposeB: false });
      const out = reshape(b, be, prod, [1, 1, cin, cout]);
      free(be, x2, xt, dy2, prod);
      return out;
    }
    const xT = transpose(b, be, x, [3, 1, 2, 0]);
    const dyT = transpose(b, be, dy, [1, 2, 0, 3]);
    const conv = run(b, be, 'Conv2D', { x: xT, filter: dyT }, {
      strides: [1, 1], dilations: [info.strideHeight, info.strideWidth],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC',
    });
    free(be, xT, dyT);
    let cropped = conv;
    if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
      cropped = run(b, be, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
      free(be, conv);
    }
    const out = transpose(b, be, cropped, [1, 2, 0, 3]);
    free(be, cropped);
    return out;
  };
}

/**
 * Conv2DBackpropInput as one stride-1 convolution.
 *
 * dx[n,h,w,ci] = Σ dy[n,oh,ow,co]·W[kh,kw,ci,co] over h = oh·s + kh − top. Insert s−1 zeros
 * between the rows/columns of dy (reshape to 6-D, PadV2, reshape), pad by K−1−top before, then
 * correlate with the filter reversed in (kh, kw) and transposed to [KH,KW,Cout,Cin].
 * Falls back to the backend's own kernel when top > K−1 (padding wider than the filter).
 */
function makeConv2DBackpropInput(b: KernelBackendName): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const be = backend as unknown as BackendLike;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: [number, number] | number; pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number];
    };
    if (dataFormat !== undefined && dataFormat !== 'NHWC') {
      throw new Error(`Conv2DBackpropInput (${b}, composed): dataFormat '${dataFormat}' is not supported; use 'NHWC'.`);
    }
    const fshape = filter.shape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(inputShape, fshape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    if (b === 'wasm' && convGradientImpl === 'simd' && dy.dtype === 'float32' && filter.dtype === 'float32') {
      const native = nativeConv2DBackpropInput(backend, dy, filter, info);
      if (native !== null) return native;
      const k = simdKernelsFor(backend);
      if (typeof k !== 'string') return simdConv2DBackpropInput(k, backend, dy, filter, info);
    }
    const [kh, kw, cin, cout] = fshape;
    const [n, h, w] = inputShape;
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const { top, left } = info.padInfo;
    const beforeH = kh - 1 - top;
    const beforeW = kw - 1 - left;
    if (beforeH < 0 || beforeW < 0) return run(b, be, 'Conv2DBackpropInput', inputs as Inputs, attrs);

    // Zero-inserted dy: [N, OH·sh, OW·sw, Cout]; rows past (OH−1)·sh+1 are zeros.
    let dyz = dy;
    let zh = oh;
    let zw = ow;
    if (sh > 1 || sw > 1) {
      const d6 = reshape(b, be, dy, [n, oh, 1, ow, 1, cout]);
      const p6 = run(b, be, 'PadV2', { x: d6 }, {
        paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
      });
      zh = oh * sh;
      zw = ow * sw;
      dyz = reshape(b, be, p6, [n, zh, zw, cout]);
      free(be, d6, p6);
    }
    // Output height = zh + before + after − kh + 1 = h.
    let afterH = h + kh - 1 - zh - beforeH;
    let afterW = w + kw - 1 - zw - beforeW;
    if (afterH < 0 || afterW < 0) {
      // Trailing zero rows/cols would overrun: crop them.
      const ch = zh + Math.min(afterH, 0);
      const cw = zw + Math.min(afterW, 0);
      const sliced = run(b, be, 'Slice', { x: dyz }, { begin: [0, 0, 0, 0], size: [n, ch, cw, cout] });
      if (dyz !== dy) free(be, dyz);
      dyz = sliced;
      afterH = Math.max(afterH, 0);
      afterW = Math.max(afterW, 0);
    }
    let rev = filter;
    if (kh > 1 || kw > 1) rev = run(b, be, 'Reverse', { x: filter }, { dims: [0, 1] });
    const ft = transpose(b, be, rev, [0, 1, 3, 2]);
    if (rev !== filter) free(be, rev);
    const out = run(b, be, 'Conv2D', { x: dyz, filter: ft }, {
      strides: [1, 1], dilations: [1, 1],
      pad: [[0, 0], [beforeH, afterH], [beforeW, afterW], [0, 0]], dataFormat: 'NHWC',
    });
    free(be, ft);
    if (dyz !== dy) free(be, dyz);
    if (out.shape[1] !== h || out.shape[2] !== w || out.shape[3] !== cin) {
      free(be, out);
      throw new Error(`Conv2DBackpropInput (${b}, composed): produced shape [${out.shape}] instead of [${inputShape}]; ` +
        `this padding/stride combination is not handled (strides ${sh}x${sw}, pad ${JSON.stringify(pad)}).`);
    }
    return out;
  };
}

/**
 * BatchMatMul with transposeA/transposeB done as Transpose + untransposed matmul
 * (the wasm matmul is about 11x slower with a transpose flag than without).
 * The result is bitwise identical: only the memory layout of the operands changes.
 */
function makeTransposeFreeMatMul(b: KernelBackendName, kernelName: 'BatchMatMul' | '_FusedMatMul'): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const be = backend as unknown as BackendLike;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (b === 'wasm' && convGradientImpl === 'simd') {
      const { activation } = attrs as { activation?: string };
      const bias = inputs['bias'] as TensorInfo | undefined;
      if (inputs['preluActivationWeights'] === undefined && (activation === undefined || activation === 'linear' || activation === 'relu')) {
        const native = nativeBatchMatMul(backend, inputs['a'] as TensorInfo, inputs['b'] as TensorInfo, transposeA, transposeB,
          bias, activation === 'relu');
        if (native !== null) return native;
      }
    }
    if (b === 'wasm' && kernelName === 'BatchMatMul' && convGradientImpl === 'simd') {
      const x = inputs['a'] as TensorInfo;
      const y = inputs['b'] as TensorInfo;
      const k = x.dtype === 'float32' && y.dtype === 'float32' ? simdKernelsFor(backend) : 'not float32';
      if (typeof k !== 'string') {
        const out = simdBatchMatMul(k, backend, x, y, transposeA, transposeB);
        if (out !== null) return out;
      }
    }
    if (!transposeA && !transposeB && (kernelName === 'BatchMatMul' || inputs['bias'] === undefined ||
        util.sizeFromShape((inputs['bias'] as TensorInfo).shape) !== 1)) {
      return run(b, be, kernelName, inputs as Inputs, attrs);
    }
    const swapLast = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = [...Array(r).keys()];
      perm[r - 2] = r - 1;
      perm[r - 1] = r - 2;
      return transpose(b, be, t, perm);
    };
    const a0 = inputs['a'] as TensorInfo;
    const b0 = inputs['b'] as TensorInfo;
    const a = transposeA ? swapLast(a0) : a0;
    const bb = transposeB ? swapLast(b0) : b0;
    const extra: Inputs = {};
    const bias0 = inputs['bias'] as TensorInfo | undefined;
    const cols = bb.shape[bb.shape.length - 1] as number;
    // The stock wasm _FusedMatMul mis-broadcasts a one-element bias when transposeB is false
    // (only the first output gets it): give it a full [cols] bias.
    if (bias0 !== undefined && util.sizeFromShape(bias0.shape) === 1 && cols > 1) {
      const flat = reshape(b, be, bias0, [1]);
      extra['bias'] = run(b, be, 'Tile', { x: flat }, { reps: [cols] });
      free(be, flat);
    }
    try {
      return run(b, be, kernelName, { ...(inputs as Inputs), a, b: bb, ...extra }, { ...attrs, transposeA: false, transposeB: false });
    } finally {
      if (a !== a0) free(be, a);
      if (bb !== b0) free(be, bb);
      if (extra['bias'] !== undefined) free(be, extra['bias']);
    }
  };
}

/**
 * UnsortedSegmentSum: out[segmentIds[i], ...] += x[i, ...], one pass over x (O(size)),
 * ids outside [0, numSegments) dropped as in TensorFlow. This is the gradient of gather
 * (embeddings). Output shape [numSegments, ...x.shape.slice(segmentIds.rank)].
 */
function makeUnsortedSegmentSum(b: KernelBackendName): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const numSegments = (attrs as { numSegments: number }).numSegments;
    if (!Number.isInteger(numSegments) || numSegments < 0) {
      throw new Error(`UnsortedSegmentSum: numSegments must be an integer >= 0, got ${numSegments}.`);
    }
    const nIds = util.sizeFromShape(segmentIds.shape);
    const inner = nIds === 0 ? 0 : util.sizeFromShape(x.shape) / nIds;
    if (!Number.isInteger(inner)) {
      throw new Error(`UnsortedSegmentSum: x shape [${x.shape}] does not start with segmentIds shape [${segmentIds.shape}].`);
    }
    const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const accumulate = (xs: ArrayLike<number>, ids: ArrayLike<number>, out: Float32Array | Int32Array): void => {
      out.fill(0);
      for (let i = 0; i < nIds; i++) {
        const s = ids[i] as number;
        if (s < 0 || s >= numSegments) continue;
        const src = i * inner;
        const dst = s * inner;
        for (let j = 0; j < inner; j++) out[dst + j] = (out[dst + j] as number) + (xs[src + j] as number);
      }
    };
    if (b === 'wasm') {
      const be = backend as unknown as WasmBackendLike;
      const out = be.makeOutput(outShape, x.dtype);
      // Views are taken after the allocation (which may grow and move the heap).
      const xs = be.typedArrayFromHeap(x);
      const ids = be.typedArrayFromHeap(segmentIds);
      accumulate(xs, ids, be.typedArrayFromHeap(out) as Float32Array | Int32Array);
      return out;
    }
    const be = backend as unknown as CpuBackendLike;
    const xs = be.readSync(x.dataId) as Float32Array | Int32Array;
    const ids = be.readSync(segmentIds.dataId) as Int32Array;
    const values = x.dtype === 'int32' ? new Int32Array(util.sizeFromShape(outShape)) : new Float32Array(util.sizeFromShape(outShape));
    accumulate(xs, ids, values);
    return be.makeTensorInfo(outShape, x.dtype, values);
  };
}

/**
 * Sum / Mean over the leading axes of a float32 tensor (every axis but the last), e.g. the
 * BatchNorm moments and the BatchNorm / bias gradients over axes [0,1,2] of an NHWC tensor.
 *
 * The stock wasm kernels transpose the whole tensor so the reduced axes become innermost, then
 * reduce. Here x is read in place as a contiguous [M, C] matrix (M = product of the leading axes):
 *   out[c] = Σ_{m<M} x[m·C + c]   (Mean: divided by M),
 * eight channels at a time with eight accumulators held in locals (float64), one strided pass per
 * group of eight channels; no copy of x is made. An empty x gives zeros (Sum and Mean) as on tfjs-cpu
 * (the stock wasm kernels return uninitialised memory there). Any other axis set or dtype goes to the
 * stock kernel.
 */
function makeLeadingAxesReduce(kernelName: 'Sum' | 'Mean'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = util.parseAxisParam(axis, x.shape).slice().sort((a, b) => a - b);
    const size = util.sizeFromShape(x.shape);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') {
      return run('wasm', backend as unknown as BackendLike, kernelName, inputs as Inputs, attrs);
    }
    const be = backend as unknown as WasmBackendLike;
    const c = x.shape[rank - 1] as number;
    const m = c === 0 ? 0 : size / c;
    const outShape = keepDims ? [...Array(rank - 1).fill(1) as number[], c] : [c];
    const out = be.makeOutput(outShape, 'float32');
    const scale = kernelName === 'Mean' && m > 0 ? 1 / m : 1;
    const k = simdKernelsFor(backend);
    if (typeof k !== 'string') {
      simdReduceLeading(k, backend, x, out, scale);
      return out;
    }
    // Views are taken after the allocation (which may grow and move the heap).
    const xs = be.typedArrayFromHeap(x) as Float32Array;
    const o = be.typedArrayFromHeap(out) as Float32Array;
    let c0 = 0;
    for (; c0 + 8 <= c; c0 += 8) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let p = c0; p < size; p += c) {
        a0 += xs[p] as number; a1 += xs[p + 1] as number; a2 += xs[p + 2] as number; a3 += xs[p + 3] as number;
        a4 += xs[p + 4] as number; a5 += xs[p + 5] as number; a6 += xs[p + 6] as number; a7 += xs[p + 7] as number;
      }
      o[c0] = a0 * scale; o[c0 + 1] = a1 * scale; o[c0 + 2] = a2 * scale; o[c0 + 3] = a3 * scale;
      o[c0 + 4] = a4 * scale; o[c0 + 5] = a5 * scale; o[c0 + 6] = a6 * scale; o[c0 + 7] = a7 * scale;
    }
    for (; c0 < c; c0++) {
      let a = 0;
      for (let p = c0; p < size; p += c) a += xs[p] as number;
      o[c0] = a * scale;
    }
    return out;
  };
}

/**
 * Identity that shares the input's buffer (one more reference) instead of copying it, as the
 * tfjs-cpu kernel does. tfjs tensors are immutable, and the engine clones every tensor it saves
 * for the backward pass through this kernel, so the stock wasm copy costs one memcpy per saved
 * tensor per step.
 */
function makeAliasIdentity(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string') return run('wasm', backend as unknown as BackendLike, 'Identity', inputs as Inputs, attrs);
    (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * FusedBatchNorm (the normalisation y = (x − μ)·γ/√(σ² + ε) + β that BatchNorm layers run in both
 * training and inference) as one SIMD pass y = x·a[c] + b[c]; the stock wasm kernel indexes every
 * element through a generic broadcast path. Anything but float32 with per-channel (C-element)
 * statistics goes to the stock kernel.
 */
function makeSimdBatchNorm(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined> as {
      x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
    const c = x.shape[x.shape.length - 1] as number;
    const perChannel = (t: TensorInfo | undefined): boolean =>
      t === undefined || (t.dtype === 'float32' && util.sizeFromShape(t.shape) === c);
    const k = simdKernelsFor(backend);
    if (typeof k === 'string' || x.dtype !== 'float32' || x.shape.length < 1 ||
        !perChannel(mean) || !perChannel(variance) || !perChannel(offset) || !perChannel(scale)) {
      return run('wasm', backend as unknown as BackendLike, 'FusedBatchNorm', inputs as Inputs, attrs);
    }
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    return simdBatchNorm(k, backend, x, mean, variance, offset, scale, eps);
  };
}

/**
 * Add / Sub / Multiply / RealDiv where one float32 operand is a full [..., C] tensor and the other
 * holds one value per channel (shape [C] or [1, ..., 1, C]): one SIMD pass. The stock wasm kernels
 * compute a broadcast index per element (about 4x slower for BatchNorm-sized tensors). Every other
 * case goes to the stock kernel.
 */
function makeChannelBinary(kernelName: 'Add' | 'Sub' | 'Multiply' | 'RealDiv'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const isChannelVector = (v: TensorInfo, full: TensorInfo): boolean => {
      const r = full.shape.length;
      const c = full.shape[r - 1] as number;
      return r >= 2 && v.shape.length <= r && v.shape.length >= 1 && v.shape[v.shape.length - 1] === c &&
        util.sizeFromShape(v.shape) === c && util.sizeFromShape(full.shape) > c;
    };
    if (a.dtype === 'float32' && b.dtype === 'float32') {
      const vectorFirst = isChannelVector(a, b);
      if (vectorFirst || isChannelVector(b, a)) {
        const k = simdKernelsFor(backend);
        if (typeof k !== 'string') {
          return vectorFirst ? simdChannelBinary(k, backend, kernelName, b, a, true) : simdChannelBinary(k, backend, kernelName, a, b, false);
        }
      }
    }
    return run('wasm', backend as unknown as BackendLike, kernelName, inputs as Inputs, attrs);
  };
}

/** Cast to the dtype the tensor already has: shares the buffer (the stock wasm kernel copies it). */
function makeAliasCast(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype !== (attrs as { dtype: tf.DataType }).dtype || x.dtype === 'string') {
      return run('wasm', backend as unknown as BackendLike, 'Cast', inputs as Inputs, attrs);
    }
    (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Name of the project's broadcast kernel (not a tfjs kernel): inputs {x: [C]}, attrs {shape: [..., C]}. */
export const CHANNEL_BROADCAST = 'ChannelBroadcast';

/**
 * ChannelBroadcast: a float32 [C] vector repeated over the leading axes of `shape` (the gradient of
 * a mean or sum over the leading axes). tfjs builds that gradient as `mul(dy, ones(x.shape))`, whose
 * ones tensor is filled in JS and uploaded every step, plus a broadcast multiply; here it is one pass.
 */
function makeChannelBroadcast(b: KernelBackendName): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { shape } = attrs as unknown as { shape: number[] };
    const c = shape[shape.length - 1] as number;
    if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) !== c) {
      throw new Error(`${CHANNEL_BROADCAST}: expects a float32 vector of ${c} values for shape [${shape}], got ${x.dtype} [${x.shape}].`);
    }
    if (b === 'wasm') {
      const k = simdKernelsFor(backend);
      if (typeof k !== 'string') return simdChannelFill(k, backend, x, shape);
      const be = backend as unknown as WasmBackendLike;
      const out = be.makeOutput(shape, 'float32');
      const v = be.typedArrayFromHeap(x) as Float32Array;
      const o = be.typedArrayFromHeap(out) as Float32Array;
      for (let i = 0; i < o.length; i += c) o.set(v, i);
      return out;
    }
    const be = backend as unknown as CpuBackendLike;
    const v = be.readSync(x.dataId) as Float32Array;
    const o = new Float32Array(util.sizeFromShape(shape));
    for (let i = 0; i < o.length; i += c) o.set(v, i);
    return be.makeTensorInfo(shape, 'float32', o);
  };
}

/**
 * Slice of a rank ≤ 4 float32/int32 tensor as contiguous memory copies (whole rows when the last
 * axis is kept). The stock wasm kernel copies element by element through strides for the crops
 * that appear as gradients of padding (ResNet stride-2 pre-padding, option-A shortcuts).
 */
function makeSlice(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const k = simdKernelsFor(backend);
    if (typeof k === 'string' || x.shape.length > 4 || x.shape.length === 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return run('wasm', backend as unknown as BackendLike, 'Slice', inputs as Inputs, attrs);
    }
    const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, b, s);
    return simdSlice(k, backend, x, b, s);
  };
}

/**
 * Conv2D / FusedConv2D with stride 1 and dilation 1 (float32, NHWC; FusedConv2D without bias and
 * activation) through the SIMD stride-1 kernel (`simdConv2DStride1`); every other convolution goes to
 * the stock XNNPACK kernel. Follows `setConvGradient`: 'composed' leaves the stock kernel in place.
 */
function makeStride1Conv(kernelName: 'Conv2D' | 'FusedConv2D'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined> as {
      x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const a = attrs as unknown as { strides: number | [number, number]; pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat?: string; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; activation?: string };
    const plain = kernelName === 'Conv2D' || (bias === undefined && preluActivationWeights === undefined &&
      (a.activation === undefined || a.activation === 'linear'));
    const nativeFusable = kernelName === 'Conv2D' || (preluActivationWeights === undefined &&
      (a.activation === undefined || a.activation === 'linear' || a.activation === 'relu'));
    if (convGradientImpl === 'simd' && x.dtype === 'float32' && filter.dtype === 'float32' &&
        (a.dataFormat === undefined || a.dataFormat === 'NHWC') && x.shape.length === 4 && (plain || nativeFusable)) {
      const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
      if (nativeFusable) {
        const native = nativeConv2D(backend, x, filter, info, kernelName === 'Conv2D' ? undefined : bias, a.activation === 'relu');
        if (native !== null) return native;
      }
      if (!plain) return run('wasm', backend as unknown as BackendLike, kernelName, inputs as Inputs, attrs);
      if (info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) {
        const k = simdKernelsFor(backend);
        if (typeof k !== 'string') return simdConv2DStride1(k, backend, x, filter, info);
      }
    }
    return run('wasm', backend as unknown as BackendLike, kernelName, inputs as Inputs, attrs);
  };
}

/** Exp of float32 tensors by the SIMD polynomial (the stock wasm kernel calls expf per element). */
function makeSimdExp(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const k = x.dtype === 'float32' ? simdKernelsFor(backend) : 'not float32';
    if (typeof k === 'string') return run('wasm', backend as unknown as BackendLike, 'Exp', inputs as Inputs, attrs);
    return simdExp(k, backend, x);
  };
}

/** Name of the project's kernel behind the BatchNorm gradient: inputs {x, mean, dy}, output [2, C] = (Σ dy, Σ (x − mean)·dy). */
export const BATCH_NORM_GRAD_SUMS = 'BatchNormGradSums';

/** BatchNormGradSums on wasm: one SIMD pass over x and dy (float32, [..., C] with mean [C]). */
function makeBatchNormGradSums(): KernelFunc {
  return ({ inputs, backend }) => {
    const { x, mean, dy } = inputs as { x: TensorInfo; mean: TensorInfo; dy: TensorInfo };
    const c = x.shape[x.shape.length - 1] as number;
    const k = simdKernelsFor(backend);
    if (typeof k === 'string') throw new Error(`${BATCH_NORM_GRAD_SUMS}: ${k}`);
    if (x.dtype !== 'float32' || dy.dtype !== 'float32' || mean.dtype !== 'float32' || util.sizeFromShape(mean.shape) !== c ||
        !util.arraysEqual(x.shape, dy.shape)) {
      throw new Error(`${BATCH_NORM_GRAD_SUMS}: expects float32 x and dy of one shape [..., C] and a mean of C values; got x [${x.shape}], dy [${dy.shape}], mean [${mean.shape}].`);
    }
    return simdBatchNormGradSums(k, backend, x, mean, dy);
  };
}

/**
 * Name of the project's kernel for BatchNorm in training mode: inputs {x [..., C], scale [C], offset [C]}, attr
 * `varianceEpsilon`; outputs [y, mean, variance] with mean and the biased variance taken over every axis but the last
 * (what tf.moments gives) and y = (x − mean)·scale/√(variance + ε) + offset. Its gradient
 * (`batchnorm-training.ts`) differentiates through the batch statistics. Callers check `tf.getKernel` and use
 * tf.moments + tf.batchNorm where it is not registered.
 */
export const BATCH_NORM_TRAINING = 'BatchNormTraining';
/**
 * Name of the kernel behind BatchNormTraining's gradient: inputs {x, dy, mean, variance, scale, dmean, dvariance}
 * (dmean, dvariance: the gradients reaching the mean and variance outputs), attr `varianceEpsilon`; outputs
 * [dx, dscale, doffset].
 */
export const BATCH_NORM_TRAINING_GRAD = 'BatchNormTrainingGrad';
/** Name of the kernel behind the Relu gradient: inputs {dy, x} of one shape, output dy·step(x). */
export const RELU_GRAD = 'ReluGrad';

function bnTrainingShapesError(kernel: string, x: TensorInfo, perChannel: Record<string, TensorInfo>): string | undefined {
  const c = x.shape[x.shape.length - 1];
  const bad = Object.entries(perChannel).filter(([, t]) => t.dtype !== 'float32' || util.sizeFromShape(t.shape) !== c);
  if (x.dtype === 'float32' && x.shape.length >= 1 && bad.length === 0) return undefined;
  return `${kernel}: expects a float32 x [..., C] and float32 per-channel inputs of C values; got x ${x.dtype} [${x.shape}]` +
    bad.map(([n, t]) => `, ${n} ${t.dtype} [${t.shape}]`).join('') + '.';
}

/**
 * Whether a project kernel with a SIMD body only (BatchNormTrainingGrad, ReluGrad) can run on the active backend: it is
 * registered there and the SIMD module instantiates on it. The gradients that call them use tf ops otherwise.
 */
export function simdKernelUsable(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined && typeof simdKernelsFor(tf.backend()) !== 'string';
}

/**
 * BatchNormTraining from the stock wasm kernels (Mean, Sub, Square, Mean, FusedBatchNorm: tf.moments + tf.batchNorm),
 * the kernel's body where the SIMD module cannot be used. Exported for the tests.
 */
export function composedBatchNormTraining(backend: unknown, x: TensorInfo, scale: TensorInfo, offset: TensorInfo,
  varianceEpsilon: number): TensorInfo[] {
  const be = backend as BackendLike;
  const axis = x.shape.slice(0, -1).map((_, i) => i);
  const mean = run('wasm', be, 'Mean', { x }, { axis, keepDims: false });
  const xc = run('wasm', be, 'Sub', { a: x, b: mean });
  const sq = run('wasm', be, 'Square', { x: xc });
  const variance = run('wasm', be, 'Mean', { x: sq }, { axis, keepDims: false });
  free(be, xc, sq);
  return [run('wasm', be, 'FusedBatchNorm', { x, mean, variance, offset, scale }, { varianceEpsilon }), mean, variance];
}

/** BatchNormTraining on wasm: statistics and normalisation in two SIMD passes over x (without SIMD: composed). */
function makeBatchNormTraining(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
    const err = bnTrainingShapesError(BATCH_NORM_TRAINING, x, { scale, offset });
    if (err !== undefined) throw new Error(err);
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    const k = simdKernelsFor(backend);
    if (typeof k === 'string') return composedBatchNormTraining(backend, x, scale, offset, eps);
    return simdBatchNormTraining(k, backend, x, scale, offset, eps);
  };
}

/** BatchNormTrainingGrad on wasm: the two sums and dx in two SIMD passes over x and dy. */
function makeBatchNormTrainingGrad(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale, dmean, dvariance } = inputs as Record<string, TensorInfo>;
    const k = simdKernelsFor(backend);
    if (typeof k === 'string') throw new Error(`${BATCH_NORM_TRAINING_GRAD}: ${k}`);
    const err = bnTrainingShapesError(BATCH_NORM_TRAINING_GRAD, x!, { mean: mean!, variance: variance!, scale: scale!, dmean: dmean!, dvariance: dvariance! });
    if (err !== undefined) throw new Error(err);
    if (dy!.dtype !== 'float32' || !util.arraysEqual(x!.shape, dy!.shape)) {
      throw new Error(`${BATCH_NORM_TRAINING_GRAD}: dy must be float32 of x's shape [${x!.shape}]; got ${dy!.dtype} [${dy!.shape}].`);
    }
    return simdBatchNormTrainingGrad(k, backend, x!, dy!, mean!, variance!, scale!, dmean!, dvariance!,
      (attrs as { varianceEpsilon: number }).varianceEpsilon);
  };
}

/** ReluGrad on wasm: dy·step(x) in one SIMD pass (float32 of one shape). */
function makeReluGrad(): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
    const k = simdKernelsFor(backend);
    if (typeof k === 'string') throw new Error(`${RELU_GRAD}: ${k}`);
    if (dy.dtype !== 'float32' || x.dtype !== 'float32' || !util.arraysEqual(dy.shape, x.shape)) {
      throw new Error(`${RELU_GRAD}: expects float32 dy and x of one shape; got dy ${dy.dtype} [${dy.shape}], x ${x.dtype} [${x.shape}].`);
    }
    return simdReluGrad(k, backend, dy, x);
  };
}

/**
 * AddN summed in chunks that fit one shader. A WebGPU compute shader binds one storage buffer per input plus one for
 * the output, and devices allow 8 per stage unless asked for more (tfjs-backend-webgpu does not ask): the stock
 * kernel fails validation for more than 7 tensors, e.g. a global gradient norm over every layer's sum of squares.
 */
export function makeChunkedAddN(b: KernelBackendName): KernelFunc {
  return ({ inputs, backend }) => {
    const be = backend as unknown as BackendLike & { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };
    const max = Math.max(2, (be.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
    let parts = inputs as unknown as TensorInfo[];
    const temps: TensorInfo[] = [];
    while (parts.length > max) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < parts.length; i += max) {
        const chunk = parts.slice(i, i + max);
        if (chunk.length === 1) {
          next.push(chunk[0]!);
          continue;
        }
        const sum = run(b, be, 'AddN', chunk as unknown as Inputs);
        temps.push(sum);
        next.push(sum);
      }
      parts = next;
    }
    const out = run(b, be, 'AddN', parts as unknown as Inputs);
    free(be, ...temps);
    return out;
  };
}

interface KernelSpec { kernelName: string; make: (b: KernelBackendName) => KernelFunc; why: string }

/** Which composed kernel goes on which backend, and why. */
const SPECS: Record<KernelBackendName, KernelSpec[]> = {
  wasm: [
    { kernelName: 'Conv2DBackpropFilter', make: makeConv2DBackpropFilter, why: 'missing on wasm; native oneDNN where loaded, else a WebAssembly-SIMD kernel, in place on the wasm heap (composed: dilated conv)' },
    { kernelName: 'Conv2DBackpropInput', make: makeConv2DBackpropInput, why: 'stock wasm kernel is slow; native oneDNN where loaded, else a WebAssembly-SIMD kernel, in place on the wasm heap (composed: zero-insert + stride-1 conv)' },
    { kernelName: 'UnsortedSegmentSum', make: makeUnsortedSegmentSum, why: 'missing on wasm; gradient of gather' },
    { kernelName: CHANNEL_BROADCAST, make: makeChannelBroadcast, why: 'gradient of a leading-axes mean in one pass (used by the Mean gradient override)' },
    { kernelName: 'BatchMatMul', make: (b) => makeTransposeFreeMatMul(b, 'BatchMatMul'), why: 'float32: native oneDNN matmul where loaded, else the packed WebAssembly-SIMD GEMM (transposes read in place); else Transpose + plain matmul' },
    { kernelName: '_FusedMatMul', make: (b) => makeTransposeFreeMatMul(b, '_FusedMatMul'), why: 'float32 with an [N] bias and linear/relu: native oneDNN matmul where loaded; else transpose flags done as Transpose + plain matmul' },
    { kernelName: 'Sum', make: () => makeLeadingAxesReduce('Sum'), why: 'leading-axes sum (BatchNorm) in one pass over x, no transpose' },
    { kernelName: 'Mean', make: () => makeLeadingAxesReduce('Mean'), why: 'leading-axes mean (BatchNorm moments) in one pass over x, no transpose' },
    { kernelName: 'Identity', make: () => makeAliasIdentity(), why: 'shares the buffer instead of copying (tensors saved for backward)' },
    { kernelName: 'Conv2D', make: () => makeStride1Conv('Conv2D'), why: 'native oneDNN convolutions where loaded; else stride-1 convolutions by the WebAssembly-SIMD kernel (others: XNNPACK)' },
    { kernelName: 'FusedConv2D', make: () => makeStride1Conv('FusedConv2D'), why: 'native oneDNN (bias, relu fused) where loaded; else stride-1 convolutions without bias/activation by the WebAssembly-SIMD kernel (others: XNNPACK)' },
    { kernelName: BATCH_NORM_GRAD_SUMS, make: () => makeBatchNormGradSums(), why: 'Σ dy and Σ (x − μ)·dy of the BatchNorm gradient in one pass (used by the factored gradient)' },
    { kernelName: BATCH_NORM_TRAINING, make: () => makeBatchNormTraining(), why: 'BatchNorm in training mode: batch mean/variance and the normalised output in two passes over x (tf.moments + FusedBatchNorm: five)' },
    { kernelName: BATCH_NORM_TRAINING_GRAD, make: () => makeBatchNormTrainingGrad(), why: 'its gradient through the batch statistics: dx, dscale, doffset in two passes over x and dy (the moments\' and FusedBatchNorm\'s gradients: about a dozen)' },
    { kernelName: RELU_GRAD, make: () => makeReluGrad(), why: 'Relu gradient dy·step(x) in one pass (stock: Step, then Multiply)' },
    { kernelName: 'Exp', make: () => makeSimdExp(), why: 'float32 exp by a WebAssembly-SIMD polynomial (softmax over the vocabulary)' },
    { kernelName: 'Slice', make: () => makeSlice(), why: 'rank ≤ 4 slices as contiguous memory copies (gradients of padding)' },
    { kernelName: 'Cast', make: () => makeAliasCast(), why: 'a cast to the same dtype shares the buffer instead of copying' },
    { kernelName: 'FusedBatchNorm', make: () => makeSimdBatchNorm(), why: 'one WebAssembly-SIMD pass y = x·a[c] + b[c] (stock indexes through a broadcast path)' },
    ...(['Add', 'Sub', 'Multiply', 'RealDiv'] as const).map((op) => ({
      kernelName: op, make: () => makeChannelBinary(op), why: 'per-channel broadcast operand in one WebAssembly-SIMD pass',
    })),
  ],
  webgpu: [
    { kernelName: 'AddN', make: makeChunkedAddN, why: 'more than 7 inputs summed in chunks (a shader binds 8 storage buffers by default)' },
  ],
  cpu: [
    { kernelName: 'Conv2DBackpropFilter', make: makeConv2DBackpropFilter, why: 'stock cpu kernel is pathological; dilated-conv composition' },
    { kernelName: 'UnsortedSegmentSum', make: makeUnsortedSegmentSum, why: 'stock cpu kernel is O(numSegments·size)' },
    { kernelName: CHANNEL_BROADCAST, make: makeChannelBroadcast, why: 'gradient of a leading-axes mean in one pass (used by the Mean gradient override)' },
  ],
};

/**
 * Registers (enabled = true) or removes (enabled = false, restoring the stock kernels) the
 * composed training kernels of one backend. Idempotent. Returns the kernel names now
 * registered by this module for that backend, as `backend:Kernel` strings.
 *
 * Safe to call before or after the backend is initialised: an override keeps the original's
 * `setupFunc`, and the original kernel functions are called through the saved configs.
 */
export function setTrainingKernels(backendName: KernelBackendName, enabled: boolean): string[] {
  const specs = SPECS[backendName];
  if (specs === undefined) {
    throw new Error(`setTrainingKernels: unknown backend '${String(backendName)}'; valid: ${Object.keys(SPECS).join(', ')}.`);
  }
  const current = registered.get(backendName) ?? [];
  if (enabled && current.length === specs.length) return current.map((k) => `${backendName}:${k}`);
  if (!enabled && current.length === 0) return [];
  for (const spec of specs) {
    const k = key(spec.kernelName, backendName);
    const isOurs = current.includes(spec.kernelName);
    if (enabled && !isOurs) {
      const original = tf.getKernel(spec.kernelName, backendName);
      if (original !== undefined) {
        originals.set(k, original);
        tf.unregisterKernel(spec.kernelName, backendName);
      }
      const config: KernelConfig = { kernelName: spec.kernelName, backendName, kernelFunc: spec.make(backendName) };
      if (original?.setupFunc !== undefined) config.setupFunc = original.setupFunc;
      if (original?.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
      tf.registerKernel(config);
      current.push(spec.kernelName);
    } else if (!enabled && isOurs) {
      tf.unregisterKernel(spec.kernelName, backendName);
      const original = originals.get(k);
      if (original !== undefined) {
        tf.registerKernel(original);
        originals.delete(k);
      }
    }
  }
  const now = enabled ? current : [];
  registered.set(backendName, now);
  return now.map((k) => `${backendName}:${k}`);
}

/** Human-readable list of the composed kernels available per backend (for docs and env.json). */
export function describeTrainingKernels(): Record<KernelBackendName, { kernel: string; why: string }[]> {
  const out = {} as Record<KernelBackendName, { kernel: string; why: string }[]>;
  for (const [b, specs] of Object.entries(SPECS) as [KernelBackendName, KernelSpec[]][]) {
    out[b] = specs.map((s) => ({ kernel: s.kernelName, why: s.why }));
  }
  return out;
}
