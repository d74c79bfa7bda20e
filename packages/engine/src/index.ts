/**
 * @asam/engine: picks the TensorFlow.js backend at run time and registers the gradients
 * (and, on wasm / cpu, the training kernels) that training needs. Nothing else: models live in
 * @asam/vision and @asam/nmt, SAM/ASAM in @asam/core, worker threads and data-parallel training in @asam/train.
 *
 * Libraries in this repository depend on `@tensorflow/tfjs-core` only; applications and
 * tests call `initEngine()` once, before creating any tensor. Nothing is registered on import.
 */
export { initEngine, registerGradients, BACKEND_NAMES, gpuDeviceNodes, probeWebgpu, installWebgpuGlobals } from './engine.ts';
export type { BackendName, BackendRequest, BackendAttempt, EngineInfo, EngineOptions, GpuDeviceCheck, WebgpuProbe } from './engine.ts';
export { setTrainingKernels, stockKernel, describeTrainingKernels, setConvGradient, convGradientStatus } from './kernels.ts';
export type { KernelBackendName, ConvGradientImpl } from './kernels.ts';
export { setBatchNormGradient, fusedBatchNormGradConfig, factoredBatchNormGradConfig } from './batchnorm-grad.ts';
export { setMeanGradient, meanGradConfig } from './mean-grad.ts';
export { setFusedTrainingGradients, batchNormTrainingGradConfig, reluGradConfig } from './batchnorm-training.ts';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD } from './kernels.ts';
export { loadNativeKernels, DEFAULT_NATIVE_ADDON } from './native-loader.ts';
export type { NativeStatus, NativeKernelOptions } from './native-loader.ts';
export { setNativeKernels, nativeKernels } from './native-kernels.ts';
export type { NativeAddon } from './native-kernels.ts';
