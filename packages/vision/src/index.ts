/**
 * @asam/vision: image-classification models (a strict registry of the ASAM paper's architectures) and one training
 * loop for SGD, SAM and ASAM with checkpoint/resume, per-epoch metrics and divergence handling.
 * Library code: depends on @tensorflow/tfjs-core / tfjs-layers, @asam/core and @asam/data; picks no backend.
 */
export {
  ModelRegistry, createModelRegistry, listModels, buildModel, getModelSpec, BUILTIN_MODELS,
} from './models/registry.ts';
export type { ModelSpec, BuildOptions, BuiltModel } from './models/registry.ts';
export { ChannelPad, SeededDropout, initializeWeights, BN_MOMENTUM, BN_EPSILON } from './models/layers.ts';
export type { SeedSource } from './models/layers.ts';
export { resolveConfig, validateConfig, learningRateAt, TrainConfigError, DEFAULT_RHO, IMAGENET_RECIPE } from './train/config.ts';
export type { TrainConfig, PartialTrainConfig, OptimizerConfig } from './train/config.ts';
export { trainClassifier, metricsCsv, IMAGENET_MEAN, IMAGENET_STD, ResumeError } from './train/trainer.ts';
export type { TrainHooks, TrainProgress, TrainResult, EpochMetrics } from './train/trainer.ts';
export { writeCheckpoint, readCheckpoint } from './train/checkpoint.ts';
export type { Checkpoint, StoredTensor } from './train/checkpoint.ts';
export { partialTrainConfigSchema, trainConfigJsonSchema, trainConfigSchema } from './train/config.ts';
