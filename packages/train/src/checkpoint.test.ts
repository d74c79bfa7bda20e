import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHECKPOINT_FORMAT_VERSION, encodeCheckpoint, readCheckpoint, readCheckpointSync, writeCheckpoint, writeCheckpointSync,
  type Checkpoint, type CheckpointTensor,
} from './checkpoint.ts';
import { type LegacyTensor, writeLegacyNmtCheckpoint, writeLegacyVisionCheckpoint } from './testing/legacy-writers.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'asam-ckpt-'));
const bytes = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

// values whose bits a sloppy copy would change: -0, NaN with a payload, a denormal, ±Infinity, int32 extremes
const f32 = new Float32Array(new Uint32Array([0x80000000, 0x7fc00123, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]).buffer);
const i32 = new Int32Array([-2147483648, 2147483647, 0, -1]);
const meta = { epoch: 3, lr: 0.1, rows: [{ loss: 1 / 3, acc: null }], rng: [123456789, 42], name: 'réseau' };

function expectSameTensors(got: Record<string, CheckpointTensor[]>, want: LegacyTensor[]) {
  const flat = Object.entries(got).flatMap(([group, list]) => list.map((t) => ({ group, ...t })));
  expect(flat.map((t) => [t.group, t.name, t.dtype, t.shape])).toEqual(
    want.map((t) => [t.group, t.name, t.data instanceof Int32Array ? 'int32' : 'float32', t.shape]));
  flat.forEach((t, i) => expect(bytes(t.data).equals(bytes(want[i]!.data)), t.name).toBe(true));
}

describe('checkpoint format', () => {
  it('round-trips every dtype, shape and group bit for bit (sync and async), in write order', async () => {
    const d = dir();
    const groups = {
      model: [
        { name: 'dense/kernel', shape: [2, 3], data: f32 },
        { name: 'scalar', shape: [], data: new Float32Array([2.5]) },
        { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      ],
      optimizer: [{ name: 'iter', shape: [4], data: i32 }, { name: 'mask', shape: [3], data: new Uint8Array([1, 0, 1]) }],
      // a view into a larger buffer: only its own bytes are stored
      extra: [{ name: 'view', shape: [2], data: new Float32Array([9, 8, 7, 6]).subarray(1, 3) }],
    };
    await writeCheckpoint(join(d, 'a.bin'), meta, groups);
    writeCheckpointSync(join(d, 'b.bin'), meta, groups);
    expect(readFileSync(join(d, 'a.bin')).equals(readFileSync(join(d, 'b.bin')))).toBe(true);
    for (const ck of [await readCheckpoint<typeof meta>(join(d, 'a.bin')), readCheckpointSync<typeof meta>(join(d, 'b.bin'))]) {
      expect(ck.layout).toBe('current');
      expect(ck.version).toBe(CHECKPOINT_FORMAT_VERSION);
      expect(ck.meta).toEqual(meta);
      expect(Object.keys(ck.groups)).toEqual(['model', 'optimizer', 'extra']);
      for (const [g, list] of Object.entries(groups)) {
        expect(ck.groups[g]!.map((t) => [t.name, t.shape])).toEqual(list.map((t) => [t.name, t.shape]));
        list.forEach((t, i) => {
          const got = ck.groups[g]![i]!;
          expect(got.data.constructor).toBe(t.data.constructor);
          expect(bytes(got.data).equals(bytes(t.data)), `${g}/${t.name}`).toBe(true);
        });
      }
      expect(ck.groups.model!.map((t) => t.dtype)).toEqual(['float32', 'float32', 'float32']);
      expect(ck.groups.optimizer!.map((t) => t.dtype)).toEqual(['int32', 'bool']);
    }
    // tensor data is 8-byte aligned in the file
    const head = encodeCheckpoint(meta, groups)[0]!;
    expect(head.byteLength % 8).toBe(0);
  });

  it('refuses tensors it cannot store faithfully, naming the tensor', () => {
    expect(() => encodeCheckpoint({}, { model: [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }] }))
      .toThrow("checkpoint tensor 'model/w': shape [2, 2] holds 4 values, data has 3");
    expect(() => encodeCheckpoint({}, { model: [{ name: 'w', shape: [1], data: f32.subarray(0, 1) }, { name: 'w', shape: [1], data: f32.subarray(0, 1) }] }))
      .toThrow(/'model\/w' appears twice/);
    expect(() => encodeCheckpoint({}, { model: [{ name: 'd', shape: [1], data: new Float64Array(1) as unknown as Float32Array }] }))
      .toThrow(/'model\/d': data must be a Float32Array, Int32Array or Uint8Array/);
  });

  const legacyTensors: LegacyTensor[] = [
    { group: 'model', name: 'conv/kernel', shape: [3, 2], data: f32 },
    { group: 'model', name: 'bn/moving_mean', shape: [1], data: new Float32Array([0.25]) },
    { group: 'optimizer', name: 'iter', shape: [4], data: i32 },
    { group: 'optimizer', name: 'conv/kernel/momentum', shape: [6], data: f32.slice().reverse() },
  ];

  it('reads the image-classification layout ASAMCKPT1 (state → meta) with identical tensors', async () => {
    const p = join(dir(), 'checkpoint.bin');
    await writeLegacyVisionCheckpoint(p, meta, legacyTensors);
    for (const ck of [await readCheckpoint<typeof meta>(p), readCheckpointSync<typeof meta>(p)]) {
      expect([ck.layout, ck.version]).toEqual(['legacy-vision', 1]);
      expect(ck.meta).toEqual(meta);
      expectSameTensors(ck.groups, legacyTensors);
    }
  });

  it('reads the translation layout ASAMCKP1 with identical tensors', async () => {
    const p = join(dir(), 'checkpoint.bin');
    writeLegacyNmtCheckpoint(p, meta, legacyTensors);
    const ck = await readCheckpoint<typeof meta>(p);
    expect([ck.layout, ck.version]).toEqual(['legacy-nmt', 1]);
    expect(ck.meta).toEqual(meta);
    expectSameTensors(ck.groups, legacyTensors);
  });

  /** Re-writes a checkpoint read from `f` in the layout it was read in, and checks the bytes are those of `f`. */
  async function expectRewritesToSameBytes(f: string): Promise<Checkpoint<unknown>['layout']> {
    const ck: Checkpoint<unknown> = await readCheckpoint(f);
    expect(['legacy-vision', 'current']).toContain(ck.layout);
    const again = join(dir(), 'again.bin');
    if (ck.layout === 'legacy-vision') {
      await writeLegacyVisionCheckpoint(again, ck.meta,
        Object.entries(ck.groups).flatMap(([group, list]) => list.map((t) => ({ group, name: t.name, shape: t.shape, data: t.data as Float32Array | Int32Array }))));
    } else {
      await writeCheckpoint(again, ck.meta, Object.fromEntries(Object.entries(ck.groups).map(([g, list]) => [g, list.map((t) => ({ name: t.name, shape: t.shape, data: t.data }))])));
    }
    expect(readFileSync(again).equals(readFileSync(f)), f).toBe(true);
    return ck.layout;
  }

  it('re-writing what it read, in the layout it was read in, gives the same bytes (current layout and ASAMCKPT1)', async () => {
    const d = dir();
    await writeCheckpoint(join(d, 'current.bin'), meta, { model: [{ name: 'w', shape: [6], data: f32 }], optimizer: [{ name: 'iter', shape: [4], data: i32 }] });
    await writeLegacyVisionCheckpoint(join(d, 'legacy.bin'), meta, legacyTensors);
    expect(await expectRewritesToSameBytes(join(d, 'current.bin'))).toBe('current');
    expect(await expectRewritesToSameBytes(join(d, 'legacy.bin'))).toBe('legacy-vision');
  });

  // Every committed unfinished cell of the cpu sweep (any experiment) carries the checkpoint it resumes from; published
  // checkpoints are in the layout of the code that wrote them (older runs ASAMCKPT1, newer the current one).
  const runs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'benchmarks', 'results', 'cpu', 'runs');
  const committed = existsSync(runs)
    ? readdirSync(runs).flatMap((e) => readdirSync(join(runs, e)).map((r) => join(runs, e, r, 'checkpoint.bin'))).filter((f) => existsSync(f))
    : [];
  it.runIf(committed.length > 0)(`reads the ${committed.length} committed benchmark checkpoint(s) exactly (skipped when none is committed)`, async () => {
    for (const f of committed) await expectRewritesToSameBytes(f);
  });

  it('a foreign file gets one line naming the file and what it starts with', async () => {
    const d = dir();
    const p = join(d, 'checkpoint.bin');
    writeFileSync(p, '{"not": "a checkpoint"}\n');
    const err = await readCheckpoint(p).then(() => null, (e: Error) => e);
    expect(err?.message).toBe(`${p} is not an asam checkpoint: found 24 bytes starting "{\\"not\\": \\"a check", expected the checkpoint magic "\\x89ASAMCK\\n"; delete it or point the run at another folder`);
    expect(err?.message).not.toContain('\n');
    writeFileSync(p, '');
    expect(() => readCheckpointSync(p)).toThrow(`${p} is not an asam checkpoint: found an empty file`);
  });

  it('a newer format version gets one line naming both versions and saying to upgrade', () => {
    const p = join(dir(), 'checkpoint.bin');
    writeCheckpointSync(p, meta, { model: [{ name: 'w', shape: [1], data: new Float32Array([1]) }] });
    const buf = readFileSync(p);
    buf.writeUInt32LE(CHECKPOINT_FORMAT_VERSION + 1, 8);
    writeFileSync(p, buf);
    const run = () => readCheckpointSync(p);
    expect(run).toThrow(`Checkpoint ${p} has format version ${CHECKPOINT_FORMAT_VERSION + 1}, newer than version ${CHECKPOINT_FORMAT_VERSION} that this @asam/train reads; upgrade @asam/train to resume it`);
  });

  it('a truncated file is refused, naming the file and the missing bytes', () => {
    const p = join(dir(), 'checkpoint.bin');
    writeCheckpointSync(p, meta, { model: [{ name: 'w', shape: [6], data: f32 }] });
    const full = readFileSync(p);
    writeFileSync(p, full.subarray(0, full.length - 4));
    expect(() => readCheckpointSync(p)).toThrow(`Checkpoint ${p} is truncated: tensor 'model/w' needs bytes up to ${full.length}, the file has ${full.length - 4}`);
    writeFileSync(p, full.subarray(0, 20));
    expect(() => readCheckpointSync(p)).toThrow(new RegExp(`^Checkpoint ${p} is truncated: its header needs \\d+ bytes, the file has 20`));
  });

  it('an interrupted write never replaces a good checkpoint', async () => {
    const d = dir();
    const p = join(d, 'checkpoint.bin');
    const good = { model: [{ name: 'w', shape: [6], data: f32 }] };
    await writeCheckpoint(p, { step: 1 }, good);
    const goodBytes = readFileSync(p);
    // a writer killed mid-write leaves a partial temp file beside the checkpoint
    const partial = Buffer.concat(encodeCheckpoint({ step: 2 }, { model: [{ name: 'w', shape: [6], data: new Float32Array(6) }] })).subarray(0, 30);
    const leftover = `${p}.tmp-999999-1`;
    writeFileSync(leftover, partial);
    const ck = await readCheckpoint<{ step: number }>(p);
    expect(ck.meta.step).toBe(1);
    expect(bytes(ck.groups.model![0]!.data).equals(bytes(f32))).toBe(true);
    // a write that fails (here: while encoding) leaves the good file and adds no temp file
    await expect(writeCheckpoint(p, { step: 2 }, { model: [{ name: 'w', shape: [7], data: f32 }] })).rejects.toThrow(/holds 7 values/);
    expect(readFileSync(p).equals(goodBytes)).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['checkpoint.bin', 'checkpoint.bin.tmp-999999-1']);
    // the next save succeeds despite the leftover, which it does not read
    await writeCheckpoint(p, { step: 3 }, good);
    expect((await readCheckpoint<{ step: number }>(p)).meta.step).toBe(3);
    expect(readFileSync(leftover).equals(partial)).toBe(true);
  });
});
