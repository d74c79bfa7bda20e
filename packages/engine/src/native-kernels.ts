/**
 * The native tier of the wasm training kernels: oneDNN primitives (`native/onednn_kernels.cc`, a Node-API
 * addon built by `scripts/setup.sh`) that run in place on the tfjs wasm heap — convolutions and their two
 * gradients, batched matrix products. The addon is handed in by the Node entry ({@link setNativeKernels});
 * this module imports nothing from Node, so the browser entry can share `kernels.ts`.
 *
 * Every function returns null where the native kernel does not cover the call (dtype, layout, an activation
 * it does not fuse); the caller then runs the WebAssembly-SIMD kernel, as without the addon.
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { matMulShape, type WasmBackendInternals } from './simd-kernels.ts';

/** The addon's functions (see the C++ source for the parameter layouts). */
export interface NativeAddon {
  conv(kind: 0 | 1 | 2, heap: ArrayBuffer, a: number, b: number, c: number, d: number, params: Int32Array): void;
  matmul(heap: ArrayBuffer, a: number, b: number, bias: number, c: number, params: Int32Array): void;
  setThreads(n: number): void;
  info(): { version: string; isa: string; threads: number; cached: number };
  clearCache(): void;
}

let addon: NativeAddon | undefined;

/** Installs (or, with undefined, removes) the native tier; the kernels consult it on every call. */
export function setNativeKernels(a: NativeAddon | undefined): void {
  addon = a;
}

/** The native addon in use, if any. */
export function nativeKernels(): NativeAddon | undefined {
  return addon;
}

function offsetOf(be: WasmBackendInternals, t: TensorInfo): number {
  const d = be.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('native-kernels: tensor data not found on the wasm backend (disposed?).');
  return d.memoryOffset;
}

/** The heap as it is now: read after every allocation, since memory growth detaches the previous buffer. */
function heapOf(be: WasmBackendInternals): ArrayBuffer {
  const memory = be.wasm.asm?.memory;
  if (memory === undefined) throw new Error('native-kernels: the wasm backend does not expose its memory (wasm.asm.memory).');
  return memory.buffer;
}

function convParams(info: backend_util.Conv2DInfo, relu: boolean): Int32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  // tfjs's bottom/right padding can exceed what the output needs (e.g. 'same' with stride 2 on an even size);
  // oneDNN wants the padding that makes the output size exact.
  const pb = (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1 - inHeight - padInfo.top;
  const pr = (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1 - inWidth - padInfo.left;
  return Int32Array.of(batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo.top, padInfo.left, pb, pr, relu ? 1 : 0);
}

function convCovered(info: backend_util.Conv2DInfo): boolean {
  return info.dataFormat === 'channelsLast' && info.padInfo.top >= 0 && info.padInfo.left >= 0 &&
    info.batchSize * info.outHeight * info.outWidth * info.outChannels > 0 && info.inChannels > 0;
}

/**
 * Conv2D (float32 NHWC) with an optional [Cout] bias and an optional fused ReLU; null where not covered.
 */
export function nativeConv2D(backend: unknown, x: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo,
  bias?: TensorInfo, relu = false): TensorInfo | null {
  const k = addon;
  if (k === undefined || x.dtype !== 'float32' || filter.dtype !== 'float32' || !convCovered(info)) return null;
  if (bias !== undefined && (bias.dtype !== 'float32' || util.sizeFromShape(bias.shape) !== info.outChannels)) return null;
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput(info.outShape.slice(), 'float32');
  k.conv(0, heapOf(be), offsetOf(be, x), offsetOf(be, filter), bias === undefined ? -1 : offsetOf(be, bias), offsetOf(be, out),
    convParams(info, relu));
  return out;
}

/** Conv2DBackpropInput (float32 NHWC): dx [N,H,W,Cin]; null where not covered. */
export function nativeConv2DBackpropInput(backend: unknown, dy: TensorInfo, filter: TensorInfo,
  info: backend_util.Conv2DInfo): TensorInfo | null {
  const k = addon;
  if (k === undefined || dy.dtype !== 'float32' || filter.dtype !== 'float32' || !convCovered(info)) return null;
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput(info.inShape.slice(), 'float32');
  k.conv(1, heapOf(be), offsetOf(be, dy), offsetOf(be, filter), -1, offsetOf(be, out), convParams(info, false));
  return out;
}

/** Conv2DBackpropFilter (float32 NHWC): dW [KH,KW,Cin,Cout]; null where not covered. */
export function nativeConv2DBackpropFilter(backend: unknown, x: TensorInfo, dy: TensorInfo,
  info: backend_util.Conv2DInfo): TensorInfo | null {
  const k = addon;
  if (k === undefined || x.dtype !== 'float32' || dy.dtype !== 'float32' || !convCovered(info)) return null;
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput([info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], 'float32');
  k.conv(2, heapOf(be), offsetOf(be, x), offsetOf(be, dy), -1, offsetOf(be, out), convParams(info, false));
  return out;
}

/**
 * BatchMatMul / _FusedMatMul (float32): a [...batch, M, K] (or [..., K, M] with transposeA), b [...batch, K, N]
 * (or [..., N, K]); batch dims equal or one side's batch of size 1; optional bias of N values and fused ReLU.
 * Null where not covered.
 */
export function nativeBatchMatMul(backend: unknown, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
  bias?: TensorInfo, relu = false): TensorInfo | null {
  const k = addon;
  if (k === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const s = matMulShape(a, b, transposeA, transposeB);
  if (s === null) return null;
  const { m, k: kk, n, sizeA, sizeB, outBatch } = s;
  if (bias !== undefined && (bias.dtype !== 'float32' || util.sizeFromShape(bias.shape) !== n || bias.shape.length !== 1)) return null;
  if (util.sizeFromShape(outBatch) * m * n * kk === 0) return null;
  const be = backend as WasmBackendInternals;
  const out = be.makeOutput([...outBatch, m, n], 'float32');
  k.matmul(heapOf(be), offsetOf(be, a), offsetOf(be, b), bias === undefined ? -1 : offsetOf(be, bias), offsetOf(be, out),
    Int32Array.of(sizeA, sizeB, m, kk, n, transposeA ? 1 : 0, transposeB ? 1 : 0, bias === undefined ? 0 : 1, relu ? 1 : 0));
  return out;
}
