/** @asam/train: the training runtime shared by every task. Today: the checkpoint file and atomic file writes. */
export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export type { FileData } from './atomic.ts';
export {
  CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, readCheckpoint, readCheckpointSync, writeCheckpoint,
  writeCheckpointSync,
} from './checkpoint.ts';
export type { Checkpoint, CheckpointDtype, CheckpointLayout, CheckpointTensor, CheckpointTensorInput, TensorData } from './checkpoint.ts';
export { hostTensors, toTensor } from './tensors.ts';
export {
  addConfigIssue, booleanField, ConfigError, configJsonSchema, formatPath, nearest, nonEmptyString, nullableNumberField, numberField, oneOf,
  parseConfig, rangeText, showValue,
} from './schema.ts';
export type { ConfigErrorFactory, NumberRange } from './schema.ts';
export { createRegistry, UnknownIdError } from './registry.ts';
export type { Registry } from './registry.ts';
