import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from './cifar.ts';
import { syntheticCifar10Records, writeSyntheticCifar10 } from './synthetic.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-synth-'));

describe('synthetic CIFAR-10', () => {
  it('writes the official binary layout that loadCifar10 reads: five train batches, a test batch, class names', async () => {
    const root = tmp();
    const w = writeSyntheticCifar10(root, { train: 48, test: 20, seed: 3 });
    expect(w.files.map((f) => f.file.slice(root.length + 1))).toEqual([
      ...[1, 2, 3, 4, 5].map((i) => `cifar-10-batches-bin/data_batch_${i}.bin`), 'cifar-10-batches-bin/test_batch.bin']);
    expect(w.files.map((f) => f.records)).toEqual([10, 9, 10, 9, 10, 20]);
    for (const f of w.files) expect(statSync(f.file).size).toBe(f.records * 3073);
    const train = await loadCifar10(root, 'train');
    const test = await loadCifar10(root, 'test');
    expect([train.n, test.n]).toEqual([48, 20]);
    expect(train.sources!.map((s) => s.records)).toEqual([10, 9, 10, 9, 10]);
    expect(train.missing).toEqual([]);
    expect(train.classNames[0]).toBe('airplane');
    // balanced labels: each block of ten records holds every class once
    for (let b = 0; b + 10 <= 48; b += 10) expect([...train.labels.subarray(b, b + 10)].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // the R plane of the file is channel 0 of the decoded HWC image
    const raw = readFileSync(w.files[0]!.file);
    expect(train.labels[0]).toBe(raw[0]);
    expect(train.images[(5 * 32 + 7) * 3]).toBe(raw[1 + 5 * 32 + 7]);
    expect(train.images[(5 * 32 + 7) * 3 + 2]).toBe(raw[1 + 2048 + 5 * 32 + 7]);
  });

  it('is a function of the seed; train and test share no image', () => {
    const a = syntheticCifar10Records(12, { seed: 1 });
    expect(Buffer.from(syntheticCifar10Records(12, { seed: 1 })).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(syntheticCifar10Records(12, { seed: 2 })).equals(Buffer.from(a))).toBe(false);
    const t = syntheticCifar10Records(12, { seed: 1, stream: 1 });
    const img = (buf: Uint8Array, i: number) => Buffer.from(buf.subarray(i * 3073 + 1, (i + 1) * 3073)).toString('hex');
    const trainImgs = new Set(Array.from({ length: 12 }, (_, i) => img(a, i)));
    expect(trainImgs.size).toBe(12);
    for (let i = 0; i < 12; i++) expect(trainImgs.has(img(t, i))).toBe(false);
    expect(() => syntheticCifar10Records(-1)).toThrow(/non-negative integer, got -1/);
    expect(() => writeSyntheticCifar10(tmp(), { train: 1.5, test: 1 })).toThrow(/train must be a non-negative integer/);
  });

  it('is learnable: nearest class mean from 100 train images labels held-out test images far above chance', () => {
    const n = 100;
    const tr = syntheticCifar10Records(n, { seed: 0 });
    const te = syntheticCifar10Records(50, { seed: 0, stream: 1 });
    const D = 3072;
    const means = Array.from({ length: 10 }, () => new Float64Array(D));
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      const c = tr[i * 3073]!;
      counts[c]!++;
      for (let d = 0; d < D; d++) means[c]![d]! += tr[i * 3073 + 1 + d]!;
    }
    means.forEach((m, c) => m.forEach((v, d) => { m[d] = v / counts[c]!; }));
    let correct = 0;
    for (let i = 0; i < 50; i++) {
      let best = -1;
      let bestDist = Infinity;
      for (let c = 0; c < 10; c++) {
        let dist = 0;
        for (let d = 0; d < D; d++) { const e = te[i * 3073 + 1 + d]! - means[c]![d]!; dist += e * e; }
        if (dist < bestDist) { bestDist = dist; best = c; }
      }
      if (best === te[i * 3073]) correct++;
    }
    expect(correct / 50).toBeGreaterThan(0.8);
    // and not trivially: the images of one class differ (noise, brightness, stripe phase)
    const sameClass = Array.from({ length: 20 }, (_, i) => i).filter((i) => tr[i * 3073] === tr[0]);
    expect(sameClass.length).toBe(2);
    const [p, q] = sameClass.map((i) => tr.subarray(i * 3073 + 1, (i + 1) * 3073));
    let diff = 0;
    for (let d = 0; d < D; d++) diff += Math.abs(p![d]! - q![d]!);
    expect(diff / D).toBeGreaterThan(10);
  });
});
