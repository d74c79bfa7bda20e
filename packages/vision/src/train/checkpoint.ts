/**
 * The classifier's view of the checkpoint file of `@asam/train` (one versioned format, written atomically; files in
 * the older `ASAMCKPT1\n` layout still load): the training state is the file's `meta`, model variables and optimizer
 * state are its `model` and `optimizer` groups, returned as one list in that order.
 */
import { readCheckpoint as readFile, writeCheckpoint as writeFile, type CheckpointTensorInput } from '@asam/train';

/** One stored tensor. `group` separates model variables from optimizer state. */
export interface StoredTensor {
  group: 'model' | 'optimizer';
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
}

/** A checkpoint in memory. */
export interface Checkpoint<S> {
  state: S;
  tensors: { meta: StoredTensor; data: Float32Array | Int32Array }[];
}

/** Writes `state` and `tensors` to `path` atomically (see `writeCheckpoint` of @asam/train). */
export async function writeCheckpoint<S>(path: string, state: S,
  tensors: { group: StoredTensor['group']; name: string; shape: number[]; data: Float32Array | Int32Array }[]): Promise<void> {
  const groups: Record<string, CheckpointTensorInput[]> = {};
  for (const t of tensors) (groups[t.group] ??= []).push({ name: t.name, shape: t.shape, data: t.data });
  await writeFile(path, state, groups);
}

/** Reads a checkpoint (current or `ASAMCKPT1\n` layout); errors name the file and what is wrong. */
export async function readCheckpoint<S>(path: string): Promise<Checkpoint<S>> {
  const ck = await readFile<S>(path);
  const tensors: Checkpoint<S>['tensors'] = [];
  for (const [group, list] of Object.entries(ck.groups)) {
    if (group !== 'model' && group !== 'optimizer') throw new Error(`${path}: unexpected tensor group '${group}' in a classifier checkpoint (expected model, optimizer)`);
    for (const t of list) {
      if (t.dtype === 'bool') throw new Error(`${path}: tensor '${group}/${t.name}' is bool; classifier checkpoints hold float32 and int32 only`);
      tensors.push({ meta: { group, name: t.name, dtype: t.dtype, shape: t.shape }, data: t.data as Float32Array | Int32Array });
    }
  }
  return { state: ck.meta, tensors };
}
