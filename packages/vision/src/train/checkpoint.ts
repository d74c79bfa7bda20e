/**
 * Single-file checkpoints, written atomically (temp file + rename): a magic line, a little-endian uint32 header
 * length, a JSON header (training state + tensor table) and the raw tensor bytes.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';

const MAGIC = 'ASAMCKPT1\n';

/** One stored tensor. `group` separates model variables from optimizer state. */
export interface StoredTensor {
  group: 'model' | 'optimizer';
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  byteLength: number;
}

/** A checkpoint in memory. */
export interface Checkpoint<S> {
  state: S;
  tensors: { meta: StoredTensor; data: Float32Array | Int32Array }[];
}

/** Writes `ckpt` to `path` atomically: write `path.tmp-<pid>`, fsync, rename over `path`. */
export async function writeCheckpoint<S>(path: string, state: S,
  tensors: { group: StoredTensor['group']; name: string; shape: number[]; data: Float32Array | Int32Array }[]): Promise<void> {
  let offset = 0;
  const table: StoredTensor[] = tensors.map((t) => {
    const dtype = t.data instanceof Int32Array ? 'int32' : 'float32';
    const m: StoredTensor = { group: t.group, name: t.name, dtype, shape: t.shape, offset, byteLength: t.data.byteLength };
    offset += t.data.byteLength;
    return m;
  });
  const header = Buffer.from(JSON.stringify({ format: 'asam-checkpoint/1', state, tensors: table }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(Buffer.from(MAGIC, 'utf8'));
    await fh.write(len);
    await fh.write(header);
    for (const t of tensors) await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Reads a checkpoint written by `writeCheckpoint`; errors name the file and what is wrong. */
export async function readCheckpoint<S>(path: string): Promise<Checkpoint<S>> {
  const buf = await readFile(path);
  if (buf.subarray(0, MAGIC.length).toString('utf8') !== MAGIC) {
    throw new Error(`${path}: not an asam checkpoint (bad magic); delete it or point the run at another directory`);
  }
  const hlen = buf.readUInt32LE(MAGIC.length);
  const hstart = MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(hstart, hstart + hlen).toString('utf8')) as { format: string; state: S; tensors: StoredTensor[] };
  if (header.format !== 'asam-checkpoint/1') throw new Error(`${path}: unknown checkpoint format ${JSON.stringify(header.format)}`);
  const base = hstart + hlen;
  const tensors = header.tensors.map((meta) => {
    const start = base + meta.offset;
    if (start + meta.byteLength > buf.length) throw new Error(`${path}: truncated (tensor ${meta.name} needs bytes up to ${start + meta.byteLength}, file has ${buf.length})`);
    const bytes = new Uint8Array(meta.byteLength);
    bytes.set(buf.subarray(start, start + meta.byteLength));
    const data = meta.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { meta, data };
  });
  return { state: header.state, tensors };
}
