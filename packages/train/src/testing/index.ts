/** Test helpers for tasks built on @asam/train. */
export { createTaskModel as createToyModel, TOY_METRICS, toyTask, toyTaskSpec } from './toy-task.ts';
export type { ToyModelOptions, ToyTaskConfig, ToyTaskOptions } from './toy-task.ts';
