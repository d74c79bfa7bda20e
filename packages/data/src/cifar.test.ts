import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIFAR10_MEAN, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, loadCifar10, loadCifar100 } from './cifar.ts';
import { DataFormatError, DataNotFoundError } from './errors.ts';
import { writeTar } from './tar.ts';
import { DATA_DIR, NO_DATA, SKIP_REASON, realPath } from '../test/real-data.ts';

/** Synthetic record: label byte(s) then R,G,B planes with pixel value f(plane, p). */
function record(labels: number[], f: (c: number, p: number) => number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (b[i] = l));
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) b[labels.length + c * 1024 + p] = f(c, p) & 255;
  return b;
}
const tmp = () => mkdtempSync(join(tmpdir(), 'asam-cifar-'));

describe('CIFAR-10 binary reader (synthetic files)', () => {
  it('converts CHW planes to HWC, reads every existing batch in order and reports missing ones', async () => {
    const root = tmp();
    mkdirSync(join(root, 'cifar-10-batches-bin'));
    // batch 1: 2 records, batch 3: 1 record (2, 4, 5 missing)
    writeFileSync(join(root, 'cifar-10-batches-bin', 'data_batch_1.bin'), Buffer.concat([record([3], (c, p) => c * 100 + (p % 7)), record([9], () => 200)]));
    writeFileSync(join(root, 'cifar-10-batches-bin', 'data_batch_3.bin'), record([0], (c, p) => (p === 33 ? 10 + c : 0)));
    const ds = await loadCifar10(root, 'train');
    expect(ds.n).toBe(3);
    expect(Array.from(ds.labels)).toEqual([3, 9, 0]);
    expect(ds.sources?.map((s) => [s.file.split('/').pop(), s.records])).toEqual([['data_batch_1.bin', 2], ['data_batch_3.bin', 1]]);
    expect(ds.missing?.map((m) => m.split('/').pop())).toEqual(['data_batch_2.bin', 'data_batch_4.bin', 'data_batch_5.bin']);
    // image 0 pixel p=10 (y=0,x=10): R=0*100+3, G=103, B=203
    expect(Array.from(ds.images.subarray(10 * 3, 10 * 3 + 3))).toEqual([3, 103, 203]);
    // image 2, pixel 33 = (y=1, x=1): (10, 11, 12)
    const o = 2 * 3072 + (1 * 32 + 1) * 3;
    expect(Array.from(ds.images.subarray(o, o + 3))).toEqual([10, 11, 12]);
    expect(ds.classNames).toHaveLength(10);
    const lim = await loadCifar10(root, 'train', { limit: 2 });
    expect(lim.n).toBe(2);
    expect(lim.sources?.length).toBe(1);
  });

  it('reads straight from the official .tar.gz layout', async () => {
    const root = tmp();
    const tgz = writeTar(
      [
        { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n') },
        { name: 'cifar-10-batches-bin/test_batch.bin', data: Buffer.concat([record([4], () => 1), record([5], (c) => c)]) },
        { name: 'cifar-10-batches-bin/data_batch_1.bin', data: record([1], () => 2) },
      ],
      { gzip: true },
    );
    writeFileSync(join(root, 'cifar-10-binary.tar.gz'), tgz);
    const ds = await loadCifar10(root, 'test');
    expect(ds.n).toBe(2);
    expect(Array.from(ds.labels)).toEqual([4, 5]);
    expect(ds.classNames[9]).toBe('j');
    expect(Array.from(ds.images.subarray(3072, 3075))).toEqual([0, 1, 2]);
    expect(ds.sources?.[0]?.file).toMatch(/cifar-10-binary\.tar\.gz:cifar-10-batches-bin\/test_batch\.bin$/);
  });

  it('errors name the file and the record/offset', async () => {
    const root = tmp();
    mkdirSync(join(root, 'cifar-10-batches-bin'));
    const f = join(root, 'cifar-10-batches-bin', 'test_batch.bin');
    writeFileSync(f, Buffer.concat([record([1], () => 0), Buffer.alloc(100)]));
    await expect(loadCifar10(root, 'test')).rejects.toThrow(DataFormatError);
    await expect(loadCifar10(root, 'test')).rejects.toThrow(/test_batch\.bin: size 3173 bytes is not a multiple of the 3073-byte record size .*offset 3073/);
    writeFileSync(f, Buffer.concat([record([1], () => 0), record([10], () => 0)]));
    await expect(loadCifar10(root, 'test')).rejects.toThrow(/test_batch\.bin: record 1 \(byte offset 3073\): label 10 is out of range 0\.\.9/);
  });

  it('missing data gives DataNotFoundError with the places searched and the download command', async () => {
    const root = tmp();
    const err = await loadCifar10(root, 'train').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataNotFoundError);
    expect((err as Error).message).toMatch(/data_batch_1\.bin/);
    expect((err as Error).message).toMatch(/cifar-10-binary\.tar\.gz/);
    expect((err as Error).message).toMatch(/download.* cifar10/);
    await expect(loadCifar10(root, 'val' as 'test')).rejects.toThrow(/'train' or 'test'/);
  });
});

describe('CIFAR-100 binary reader (synthetic records)', () => {
  it('reads fine and coarse labels, checks both ranges', async () => {
    const root = tmp();
    mkdirSync(join(root, 'cifar-100-binary'));
    const f = join(root, 'cifar-100-binary', 'train.bin');
    writeFileSync(f, Buffer.concat([record([19, 99], (c, p) => c + p), record([0, 0], () => 7), record([4, 55], () => 9)]));
    const fine = await loadCifar100(root, 'train');
    expect(Array.from(fine.labels)).toEqual([99, 0, 55]);
    expect(fine.numClasses).toBe(100);
    expect(fine.classNames[99]).toBe('worm');
    expect(Array.from(fine.images.subarray(3, 6))).toEqual([1, 2, 3]); // pixel 1: R=1, G=2, B=3
    const coarse = await loadCifar100(root, 'train', { label: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([19, 0, 4]);
    expect(coarse.numClasses).toBe(20);
    expect(CIFAR100_FINE_CLASSES).toHaveLength(100);
    expect(CIFAR100_COARSE_CLASSES).toHaveLength(20);
    writeFileSync(f, Buffer.concat([record([0, 0], () => 0), record([20, 1], () => 0)]));
    await expect(loadCifar100(root, 'train')).rejects.toThrow(/train\.bin: record 1 \(byte offset 3074\): coarse label 20 is out of range 0\.\.19/);
    writeFileSync(f, record([0, 100], () => 0));
    await expect(loadCifar100(root, 'train')).rejects.toThrow(/record 0 \(byte offset 1\): fine label 100 is out of range 0\.\.99/);
    writeFileSync(f, Buffer.alloc(3073));
    await expect(loadCifar100(root, 'train')).rejects.toThrow(/not a multiple of the 3074-byte/);
  });
});

describe.skipIf(NO_DATA)(`CIFAR-10 real files (${NO_DATA ? SKIP_REASON : DATA_DIR})`, () => {
  it('train: 4000 records, frog first, known labels, pixels and label counts', async () => {
    realPath('cifar-10-batches-bin', 'data_batch_1.bin');
    const ds = await loadCifar10(DATA_DIR as string, 'train');
    expect(ds.n).toBe(4000);
    expect(ds.sources?.map((s) => s.records)).toEqual([4000]);
    expect(ds.missing).toHaveLength(4);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    expect(ds.classNames[ds.labels[0] as number]).toBe('frog');
    const r = Array.from({ length: 10 }, (_, x) => ds.images[x * 3]);
    expect(r).toEqual([59, 43, 50, 68, 98, 119, 139, 145, 149, 149]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    expect(counts).toEqual([396, 366, 420, 384, 422, 393, 414, 385, 407, 413]);
    // the per-channel mean of this 4000-image subset is close to the full-train-set constants
    const sums = [0, 0, 0];
    for (let i = 0; i < ds.images.length; i++) sums[i % 3] = (sums[i % 3] as number) + (ds.images[i] as number);
    sums.forEach((s, c) => expect(Math.abs(s / (ds.images.length / 3) / 255 - (CIFAR10_MEAN[c] as number))).toBeLessThan(0.01));
  });

  it('test: 1000 records, known first pixels and label counts', async () => {
    realPath('cifar-10-batches-bin', 'test_batch.bin');
    const ds = await loadCifar10(DATA_DIR as string, 'test');
    expect(ds.n).toBe(1000);
    expect(Array.from(ds.labels.subarray(0, 16))).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8]);
    const rOf = (i: number, k: number) => Array.from({ length: k }, (_, x) => ds.images[i * 3072 + x * 3]);
    expect(rOf(0, 5)).toEqual([158, 159, 165, 166, 160]);
    expect(rOf(1, 4)).toEqual([235, 231, 232, 232]);
    expect(rOf(2, 4)).toEqual([158, 158, 139, 132]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    expect(counts).toEqual([103, 89, 100, 103, 90, 86, 112, 102, 106, 109]);
    // the reader agrees byte-for-byte with a direct plane read of record 999
    const raw = readFileSync(realPath('cifar-10-batches-bin', 'test_batch.bin'));
    const base = 999 * 3073;
    expect(ds.labels[999]).toBe(raw[base]);
    for (const p of [0, 517, 1023]) for (let c = 0; c < 3; c++) expect(ds.images[999 * 3072 + p * 3 + c]).toBe(raw[base + 1 + c * 1024 + p]);
  });
});
