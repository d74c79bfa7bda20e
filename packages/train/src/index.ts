/**
 * @asam/train: the training runtime every task plugs into. A task supplies its model, loss, data and evaluation
 * (`TrainingTask`); `train(task, options)` owns the run folder, checkpoints, resume, the schedule, micro-batching,
 * data-parallel workers, divergence checks and progress.
 */
export { train, evaluationsLeft, ResumeError, runtimeStateOf } from './runtime.ts';
export type { ResumePolicy, RuntimeState, TrainOptions } from './runtime.ts';
export { metricSpec } from './task-spec.ts';
export type { BootstrapSpec, FigureLabel, MetricSpec, MetricVocabulary, TaskEnvironment, TaskRun, TaskSpec } from './task-spec.ts';
export {
  createTaskRegistry, executionPaths, readRunConfig, resolveRunConfig, RUN_CONFIG_FORMAT, runConfigJson, runTask,
} from './run-task.ts';
export type { AnyTaskSpec, RunConfig, RunConfigJson, RunHooks, TaskRegistry } from './run-task.ts';
export {
  refuseRuntimeFields, resolveRuntimeConfig, RUNTIME_DEFAULTS, RUNTIME_EXECUTION_FIELDS, RUNTIME_FIELDS, runtimeConfigSchema, splitFlatConfig,
} from './runtime-config.ts';
export type { PartialRuntimeConfig, RuntimeConfig, RuntimeNames } from './runtime-config.ts';
export type { Batch, BatchTensors, Evaluation, FinalTest, ForwardResult, NamedVariable, PassContext, ReplicaSpec, TaskModel, TrainingTask } from './task.ts';
export { configDiff, metricsColumns, metricsCsv, readMetricsColumns, readRunResult, RUN_FILES, RUN_RESULT_FORMAT, RunFolder, RunFolderError } from './run-folder.ts';
export type { FailureRecord, MetricsRow, RunResult, RunStatus } from './run-folder.ts';
export { acquireRunLock, assertRunLockFree, describeHolder, inspectRunLock, PROCESS_FILES, RUN_LOCK_ENV, RUN_LOCK_FILE, RunLockedError } from './run-lock.ts';
export type { RunLock, RunLockRecord, RunLockState } from './run-lock.ts';
export { constantSchedule, cosineSchedule, inverseSqrtSchedule } from './schedules.ts';
export type { Schedule } from './schedules.ts';
export { formatDuration, formatEpochRow, formatProgress, formatRunResult } from './progress.ts';
export type { TrainProgress } from './progress.ts';
export { createDataParallel, sliceBounds, sliceTensors } from './workers/data-parallel.ts';
export type { DataParallel, ParallelStep } from './workers/data-parallel.ts';
export { createWorkerPool, transferring } from './workers/worker-pool.ts';
export type { Transferring, WorkerPool, WorkerPoolOptions } from './workers/worker-pool.ts';
export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export type { FileData } from './atomic.ts';
export {
  CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, readCheckpoint, readCheckpointSync, writeCheckpoint,
  writeCheckpointSync,
} from './checkpoint.ts';
export type { Checkpoint, CheckpointDtype, CheckpointTensor, CheckpointTensorInput, TensorData } from './checkpoint.ts';
export { hostTensors, toTensor } from './tensors.ts';
export {
  addConfigIssue, booleanField, ConfigError, configJsonSchema, formatPath, nearest, nonEmptyString, nullableNumberField, numberField, oneOf,
  parseConfig, rangeText, showValue,
} from './schema.ts';
export type { ConfigErrorFactory, NumberRange } from './schema.ts';
export { createRegistry, UnknownIdError } from './registry.ts';
export type { Registry } from './registry.ts';
export { siblingModule } from './module-url.ts';
export { DEFAULT_PERTURBED_DROPOUT, dropoutStream, PERTURBED_DROPOUT, PERTURBED_DROPOUT_DESCRIPTION } from './dropout.ts';
export type { PerturbedDropout } from './dropout.ts';
