/**
 * Checkpoint files: one binary file holding named tensor groups (model weights, optimizer state) and a JSON
 * metadata object. Layout: magic `ASAMCKP1`, uint32 little-endian header length, UTF-8 JSON header
 * `{ meta, tensors: [{ group, name, dtype, shape, offset, bytes }] }`, then the raw little-endian tensor data.
 *
 * Writes are atomic: the file is written to `<path>.tmp-<pid>`, fsync'ed and renamed over `<path>`, so a process
 * killed at any moment leaves either the old or the new checkpoint, never a torn one.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

const MAGIC = 'ASAMCKP1';

/** A tensor read back from a checkpoint (host data). */
export interface StoredTensor {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Contents of a checkpoint. */
export interface CheckpointContents<M> {
  meta: M;
  groups: Record<string, StoredTensor[]>;
}

/** Writes `groups` (lists of named tensors, order preserved) and `meta` to `path` atomically. */
export async function writeCheckpoint<M>(path: string, meta: M, groups: Record<string, Array<{ name: string; tensor: tf.Tensor }>>): Promise<void> {
  const entries: Array<{ group: string; name: string; dtype: string; shape: number[]; offset: number; bytes: number }> = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [group, list] of Object.entries(groups)) {
    for (const { name, tensor } of list) {
      if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
        throw new Error(`writeCheckpoint: tensor '${group}/${name}' has dtype ${tensor.dtype}; only float32 and int32 are stored.`);
      }
      const data = (await tensor.data()) as Float32Array | Int32Array;
      const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      entries.push({ group, name, dtype: tensor.dtype, shape: tensor.shape, offset, bytes: bytes.byteLength });
      chunks.push(bytes);
      offset += bytes.byteLength;
    }
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, Buffer.from(MAGIC, 'ascii'));
    fs.writeSync(fd, len);
    fs.writeSync(fd, header);
    for (const c of chunks) fs.writeSync(fd, c);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}

/** Reads a checkpoint written by {@link writeCheckpoint}; errors name the file and what is wrong. */
export function readCheckpoint<M>(path: string): CheckpointContents<M> {
  const buf = fs.readFileSync(path);
  if (buf.byteLength < 12 || buf.subarray(0, 8).toString('ascii') !== MAGIC) {
    throw new Error(`Checkpoint ${path} is not an ${MAGIC} file (bad magic); delete it or point to a checkpoint written by this package.`);
  }
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.byteLength) throw new Error(`Checkpoint ${path} is truncated (header length ${hlen} > file size ${buf.byteLength}).`);
  const header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as {
    meta: M;
    tensors: Array<{ group: string; name: string; dtype: 'float32' | 'int32'; shape: number[]; offset: number; bytes: number }>;
  };
  const base = 12 + hlen;
  const groups: Record<string, StoredTensor[]> = {};
  for (const e of header.tensors) {
    if (base + e.offset + e.bytes > buf.byteLength) throw new Error(`Checkpoint ${path} is truncated: tensor '${e.group}/${e.name}' runs past the end.`);
    const raw = new Uint8Array(buf.buffer.slice(buf.byteOffset + base + e.offset, buf.byteOffset + base + e.offset + e.bytes));
    const data = e.dtype === 'int32' ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer);
    (groups[e.group] ??= []).push({ name: e.name, dtype: e.dtype, shape: e.shape, data });
  }
  return { meta: header.meta, groups };
}

/** Makes a tensor from a stored one (caller disposes). */
export function toTensor(s: StoredTensor): tf.Tensor {
  return tf.tensor(s.data, s.shape, s.dtype);
}

/** Atomically writes a text file (temp file + rename). */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path);
}
