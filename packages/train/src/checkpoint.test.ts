import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHECKPOINT_FORMAT_VERSION, encodeCheckpoint, readCheckpoint, readCheckpointSync, writeCheckpoint, writeCheckpointSync,
} from './checkpoint.ts';
import { readMetricsColumns, readRunResult } from './run-folder.ts';
import { runtimeStateOf } from './runtime.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'asam-ckpt-'));
const bytes = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

// values whose bits a sloppy copy would change: -0, NaN with a payload, a denormal, ±Infinity, int32 extremes
const f32 = new Float32Array(new Uint32Array([0x80000000, 0x7fc00123, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]).buffer);
const i32 = new Int32Array([-2147483648, 2147483647, 0, -1]);
const meta = { epoch: 3, lr: 0.1, rows: [{ loss: 1 / 3, acc: null }], rng: [123456789, 42], name: 'réseau' };

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

  /** Re-writes the checkpoint read from `f` and checks the bytes are those of `f`. */
  async function expectRewritesToSameBytes(f: string): Promise<void> {
    const ck = await readCheckpoint(f);
    const again = join(dir(), 'again.bin');
    await writeCheckpoint(again, ck.meta, Object.fromEntries(Object.entries(ck.groups).map(([g, list]) => [g, list.map((t) => ({ name: t.name, shape: t.shape, data: t.data }))])));
    expect(readFileSync(again).equals(readFileSync(f)), f).toBe(true);
  }

  it('re-writing what it read gives the same bytes', async () => {
    const p = join(dir(), 'checkpoint.bin');
    await writeCheckpoint(p, meta, { model: [{ name: 'w', shape: [6], data: f32 }], optimizer: [{ name: 'iter', shape: [4], data: i32 }] });
    await expectRewritesToSameBytes(p);
  });

  // The committed unfinished cells of the cpu sweep carry the checkpoint they resume from (runs/<experiment>/<cell>/).
  it('reads every committed benchmark checkpoint exactly, with a runtime state that matches its run folder', async () => {
    const runs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'benchmarks', 'results', 'cpu', 'runs');
    // the sweep's unfinished cells, and @asam/vision's fixture (a benchmark cell's folder as committed mid-run)
    const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'vision', 'test', 'fixtures', 'flat-run-folder');
    const committed = [...readdirSync(runs).flatMap((e) => readdirSync(join(runs, e)).map((r) => join(runs, e, r))), fixture]
      .filter((d) => existsSync(join(d, 'checkpoint.bin')));
    expect(committed.length, `no checkpoint.bin under ${runs}`).toBeGreaterThan(0);
    for (const d of committed) {
      const f = join(d, 'checkpoint.bin');
      await expectRewritesToSameBytes(f);
      const ck = await readCheckpoint(f);
      expect(ck.version, f).toBeLessThanOrEqual(CHECKPOINT_FORMAT_VERSION);
      expect(Object.keys(ck.groups), f).toEqual(['model', 'optimizer']);
      // the state resumes (runtime 1) and agrees with the folder: one metrics.csv row per finished epoch, a stopped run
      const st = runtimeStateOf(ck.meta);
      const result = readRunResult(d)!;
      expect(result.status, d).toBe('stopped');
      expect([st.epoch, st.rows.length], f).toEqual([result.epochsCompleted, result.epochsCompleted]);
      expect(st.globalStep, f).toBe(result.steps);
      expect(st.rows.map((r) => r.test_acc), f).toEqual(readMetricsColumns(d).test_acc);
    }
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
