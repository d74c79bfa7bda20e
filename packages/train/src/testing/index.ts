/** Test helpers for tasks built on @asam/train. */
export { writeLegacyNmtCheckpoint, writeLegacyVisionCheckpoint } from './legacy-writers.ts';
export type { LegacyTensor } from './legacy-writers.ts';
export { createTaskModel as createToyModel, TOY_METRICS, toyTask, toyTaskSpec } from './toy-task.ts';
export type { ToyModelOptions, ToyTaskConfig, ToyTaskOptions } from './toy-task.ts';
