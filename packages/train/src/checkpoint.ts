/**
 * The checkpoint file: named groups of tensors (e.g. `model`, `optimizer`) plus a JSON `meta` value (the training
 * state a task needs to resume), in one binary file written atomically (see {@link writeFileAtomic}).
 *
 * Layout (format version {@link CHECKPOINT_FORMAT_VERSION}, all integers little-endian):
 * ```
 * 0   8 bytes  magic 0x89 "ASAMCK" 0x0A   (the non-ASCII first byte and the newline catch text-mode copies)
 * 8   uint32   format version
 * 12  uint32   header length H
 * 16  H bytes  UTF-8 JSON { meta, tensors: [{ group, name, dtype, shape, offset, bytes }] }
 *     padding  zeros up to a multiple of 8
 *     data     raw tensor bytes; `offset` counts from the start of this section, each tensor 8-byte aligned
 * ```
 * Readers accept every version up to their own and refuse a newer one with a message that says to upgrade.
 */
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';

/** The format version this code writes (and the newest it reads). */
export const CHECKPOINT_FORMAT_VERSION = 2;

const MAGIC = Buffer.from([0x89, 0x41, 0x53, 0x41, 0x4d, 0x43, 0x4b, 0x0a]); // \x89 A S A M C K \n
const ALIGN = 8;

/** Element types a checkpoint stores, and the typed array that holds each. */
export type CheckpointDtype = 'float32' | 'int32' | 'bool';
export type TensorData = Float32Array | Int32Array | Uint8Array;

/** One tensor as stored: host data in a typed array of its own (not a view into the file). */
export interface CheckpointTensor {
  name: string;
  dtype: CheckpointDtype;
  shape: number[];
  data: TensorData;
}

/** A tensor to write; the dtype follows from the array type (Float32Array, Int32Array, Uint8Array = bool). */
export interface CheckpointTensorInput {
  name: string;
  shape: readonly number[];
  data: TensorData;
}

/** A checkpoint read back. Groups and the tensors within each keep the order they were written in. */
export interface Checkpoint<M> {
  meta: M;
  groups: Record<string, CheckpointTensor[]>;
  /** The file's format version (at most {@link CHECKPOINT_FORMAT_VERSION}). */
  version: number;
}

interface TableEntry {
  group: string;
  name: string;
  dtype: CheckpointDtype;
  shape: number[];
  offset: number;
  bytes: number;
}

function dtypeOf(data: TensorData, where: string): CheckpointDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'bool';
  throw new Error(`${where}: data must be a Float32Array, Int32Array or Uint8Array (bool)`);
}

const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;

/**
 * Encodes a checkpoint into byte chunks (header, then each tensor's bytes). Throws, naming the tensor, when a name
 * repeats within a group or when the data length differs from the product of the shape.
 */
export function encodeCheckpoint<M>(meta: M, groups: Record<string, readonly CheckpointTensorInput[]>): Uint8Array[] {
  const table: TableEntry[] = [];
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const [group, list] of Object.entries(groups)) {
    const seen = new Set<string>();
    for (const t of list) {
      const where = `checkpoint tensor '${group}/${t.name}'`;
      if (seen.has(t.name)) throw new Error(`${where} appears twice in its group; tensor names must be unique per group`);
      seen.add(t.name);
      const dtype = dtypeOf(t.data, where);
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (size !== t.data.length) throw new Error(`${where}: shape [${t.shape.join(', ')}] holds ${size} values, data has ${t.data.length}`);
      const gap = pad(offset);
      if (gap) { data.push(new Uint8Array(gap)); offset += gap; }
      table.push({ group, name: t.name, dtype, shape: [...t.shape], offset, bytes: t.data.byteLength });
      data.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      offset += t.data.byteLength;
    }
  }
  const json = Buffer.from(JSON.stringify({ meta, tensors: table }), 'utf8');
  const head = Buffer.alloc(MAGIC.length + 8 + json.length + pad(MAGIC.length + 8 + json.length));
  MAGIC.copy(head, 0);
  head.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, MAGIC.length);
  head.writeUInt32LE(json.length, MAGIC.length + 4);
  json.copy(head, MAGIC.length + 8);
  return [head, ...data];
}

/** Writes a checkpoint to `path` atomically. The folder must exist. */
export async function writeCheckpoint<M>(path: string, meta: M, groups: Record<string, readonly CheckpointTensorInput[]>): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(meta, groups));
}

/** Synchronous {@link writeCheckpoint}. */
export function writeCheckpointSync<M>(path: string, meta: M, groups: Record<string, readonly CheckpointTensorInput[]>): void {
  writeFileAtomicSync(path, encodeCheckpoint(meta, groups));
}

/** Reads a checkpoint of any format version up to this code's; every error names the file and what was found. */
export async function readCheckpoint<M>(path: string): Promise<Checkpoint<M>> {
  return decodeCheckpoint<M>(await readFile(path), path);
}

/** Synchronous {@link readCheckpoint}. */
export function readCheckpointSync<M>(path: string): Checkpoint<M> {
  return decodeCheckpoint<M>(fs.readFileSync(path), path);
}

const startsWith = (buf: Buffer, magic: Buffer) => buf.length >= magic.length && buf.subarray(0, magic.length).equals(magic);

/** The first bytes of a file, printable on one line. */
function describeStart(buf: Buffer): string {
  if (buf.length === 0) return 'an empty file';
  return `${buf.length} bytes starting ${JSON.stringify(buf.subarray(0, 16).toString('latin1'))}`;
}

function parseHeader<H>(buf: Buffer, start: number, length: number, path: string): H {
  if (start + length > buf.length) {
    throw new Error(`Checkpoint ${path} is truncated: its header needs ${start + length} bytes, the file has ${buf.length}; it was not written by a completed save`);
  }
  try {
    return JSON.parse(buf.subarray(start, start + length).toString('utf8')) as H;
  } catch (e) {
    throw new Error(`Checkpoint ${path} has a corrupt header (${(e as Error).message})`);
  }
}

function copyTensor(buf: Buffer, base: number, e: TableEntry, path: string): CheckpointTensor {
  const start = base + e.offset;
  if (start + e.bytes > buf.length) {
    throw new Error(`Checkpoint ${path} is truncated: tensor '${e.group}/${e.name}' needs bytes up to ${start + e.bytes}, the file has ${buf.length}`);
  }
  const bytes = new Uint8Array(e.bytes);
  bytes.set(buf.subarray(start, start + e.bytes));
  let data: TensorData;
  if (e.dtype === 'float32') data = new Float32Array(bytes.buffer);
  else if (e.dtype === 'int32') data = new Int32Array(bytes.buffer);
  else if (e.dtype === 'bool') data = bytes;
  else throw new Error(`Checkpoint ${path}: tensor '${e.group}/${e.name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
  return { name: e.name, dtype: e.dtype, shape: e.shape, data };
}

function group(buf: Buffer, base: number, table: TableEntry[], path: string): Record<string, CheckpointTensor[]> {
  const groups: Record<string, CheckpointTensor[]> = {};
  for (const e of table) (groups[e.group] ??= []).push(copyTensor(buf, base, e, path));
  return groups;
}

/** Decodes checkpoint bytes (`path` only names the file in errors). */
export function decodeCheckpoint<M>(buf: Buffer, path: string): Checkpoint<M> {
  if (startsWith(buf, MAGIC)) {
    if (buf.length < MAGIC.length + 8) throw new Error(`Checkpoint ${path} is truncated: ${buf.length} bytes, shorter than the fixed header`);
    const version = buf.readUInt32LE(MAGIC.length);
    if (version > CHECKPOINT_FORMAT_VERSION) {
      throw new Error(`Checkpoint ${path} has format version ${version}, newer than version ${CHECKPOINT_FORMAT_VERSION} that this @asam/train reads; upgrade @asam/train to resume it`);
    }
    if (version < 2) throw new Error(`Checkpoint ${path} claims format version ${version}, which was never written in this layout; the file is corrupt`);
    const hlen = buf.readUInt32LE(MAGIC.length + 4);
    const hstart = MAGIC.length + 8;
    const h = parseHeader<{ meta: M; tensors: TableEntry[] }>(buf, hstart, hlen, path);
    const base = hstart + hlen + pad(hstart + hlen);
    return { meta: h.meta, groups: group(buf, base, h.tensors, path), version };
  }
  throw new Error(`${path} is not an asam checkpoint: found ${describeStart(buf)}, expected the checkpoint magic "\\x89ASAMCK\\n"; delete it or point the run at another folder`);
}
