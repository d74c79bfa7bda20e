/**
 * @asam/vision: image-classification models (a strict registry of the ASAM paper's architectures) and one training
 * task (model, loss, data, evaluation) trained by @asam/train's runtime with SGD, SAM or ASAM.
 * Library code: depends on @tensorflow/tfjs-core / tfjs-layers, @asam/core, @asam/data and @asam/train; picks no backend.
 */
export {
  ModelRegistry, createModelRegistry, listModels, buildModel, getModelSpec, BUILTIN_MODELS,
} from './models/registry.ts';
export type { ModelSpec, BuildOptions, BuiltModel } from './models/registry.ts';
export { ChannelPad, SeededDropout, initializeWeights, BN_MOMENTUM, BN_EPSILON } from './models/layers.ts';
export type { SeedSource } from './models/layers.ts';
export { resolveConfig, validateConfig, TrainConfigError, DEFAULT_RHO, IMAGENET_RECIPE } from './train/config.ts';
export type { TrainConfig, PartialTrainConfig, OptimizerConfig } from './train/config.ts';
export {
  createVisionTaskSpec, IMAGENET_MEAN, IMAGENET_STD, ResumeError, splitVisionConfig, trainClassifier, VISION_RUNTIME_FIELDS, visionConfigOfRun, visionTask,
} from './train/trainer.ts';
export type { TrainHooks, VisionDataOptions, VisionTaskConfig } from './train/trainer.ts';
export { createTaskModel } from './train/task-model.ts';
export type { ClassifierModelOptions, ClassifierTaskModel } from './train/task-model.ts';
export { partialTrainConfigSchema, trainConfigJsonSchema, trainConfigSchema } from './train/config.ts';
export { VISION_METRICS } from './train/metrics.ts';
