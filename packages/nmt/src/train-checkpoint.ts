/**
 * The translation trainer's view of the checkpoint file of `@asam/train` (one versioned format, written atomically;
 * files in the older `ASAMCKP1` layout still load): a JSON `meta` object and named tensor groups (model weights,
 * optimizer state), written from live tensors and read back as host data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensors, readCheckpointSync, writeCheckpoint as writeFile, type Checkpoint, type CheckpointTensor, type CheckpointTensorInput } from '@asam/train';

export { toTensor } from '@asam/train';

/** A tensor read back from a checkpoint (host data). */
export type StoredTensor = CheckpointTensor;

/** Contents of a checkpoint. */
export type CheckpointContents<M> = Checkpoint<M>;

/** Writes `groups` (lists of named tensors, order preserved) and `meta` to `path` atomically. */
export async function writeCheckpoint<M>(path: string, meta: M, groups: Record<string, Array<{ name: string; tensor: tf.Tensor }>>): Promise<void> {
  const host: Record<string, CheckpointTensorInput[]> = {};
  for (const [group, list] of Object.entries(groups)) {
    host[group] = await hostTensors(list);
  }
  await writeFile(path, meta, host);
}

/** Reads a checkpoint (current or `ASAMCKP1` layout); errors name the file and what is wrong. */
export function readCheckpoint<M>(path: string): CheckpointContents<M> {
  return readCheckpointSync<M>(path);
}
