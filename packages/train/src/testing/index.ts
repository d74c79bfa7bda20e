/** Test helpers for tasks built on @asam/train. */
export { createTaskModel as createToyModel, toyTask } from './toy-task.ts';
export type { ToyModelOptions, ToyTaskOptions } from './toy-task.ts';
