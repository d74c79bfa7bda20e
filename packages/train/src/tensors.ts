/** Moving tensors between tfjs and checkpoint host data. */
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointTensor, CheckpointTensorInput, TensorData } from './checkpoint.ts';

/** Downloads named tensors into checkpoint entries (float32, int32 and bool; other dtypes throw, naming the tensor). */
export async function hostTensors(list: ReadonlyArray<{ name: string; tensor: tf.Tensor }>): Promise<CheckpointTensorInput[]> {
  const out: CheckpointTensorInput[] = [];
  for (const { name, tensor } of list) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
      throw new Error(`checkpoint tensor '${name}' has dtype ${tensor.dtype}; only float32, int32 and bool are stored`);
    }
    const raw = (await tensor.data()) as TensorData;
    const data = tensor.dtype === 'float32' ? Float32Array.from(raw as Float32Array)
      : tensor.dtype === 'int32' ? Int32Array.from(raw as Int32Array) : Uint8Array.from(raw as Uint8Array);
    out.push({ name, shape: tensor.shape.slice(), data });
  }
  return out;
}

/** A new tensor holding a stored one (the caller disposes it). */
export function toTensor(s: CheckpointTensor): tf.Tensor {
  return tf.tensor(s.data, s.shape, s.dtype);
}
