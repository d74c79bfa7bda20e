/**
 * Writers of the two checkpoint layouts that came before the current format, kept byte for byte as they were so
 * tests (here and in the tasks) can produce such files and check that they still load and resume exactly.
 * `ASAMCKPT1\n` was written by image classification, `ASAMCKP1` by translation. Not for new checkpoints.
 */
import * as fs from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** A tensor of a legacy checkpoint. */
export interface LegacyTensor {
  group: string;
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Writes the image-classification layout: `ASAMCKPT1\n`, uint32 header length, `{ format, state, tensors }`, data. */
export async function writeLegacyVisionCheckpoint<S>(path: string, state: S, tensors: LegacyTensor[]): Promise<void> {
  let offset = 0;
  const table = tensors.map((t) => {
    const dtype = t.data instanceof Int32Array ? 'int32' : 'float32';
    const m = { group: t.group, name: t.name, dtype, shape: t.shape, offset, byteLength: t.data.byteLength };
    offset += t.data.byteLength;
    return m;
  });
  const header = Buffer.from(JSON.stringify({ format: 'asam-checkpoint/1', state, tensors: table }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(Buffer.from('ASAMCKPT1\n', 'utf8'));
    await fh.write(len);
    await fh.write(header);
    for (const t of tensors) await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Writes the translation layout: `ASAMCKP1`, uint32 header length, `{ meta, tensors }`, data. */
export function writeLegacyNmtCheckpoint<M>(path: string, meta: M, tensors: LegacyTensor[]): void {
  const entries: Array<{ group: string; name: string; dtype: string; shape: number[]; offset: number; bytes: number }> = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { group, name, shape, data } of tensors) {
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    entries.push({ group, name, dtype: data instanceof Int32Array ? 'int32' : 'float32', shape, offset, bytes: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, Buffer.from('ASAMCKP1', 'ascii'));
    fs.writeSync(fd, len);
    fs.writeSync(fd, header);
    for (const c of chunks) fs.writeSync(fd, c);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}
