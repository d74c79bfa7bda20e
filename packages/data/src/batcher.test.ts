import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizationTable, sampleCifarAugment, transformInto } from './augment.ts';
import { ImageBatcher } from './batcher.ts';
import type { ImageDataset } from './cifar.ts';
import { Rng } from './rng.ts';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

/** identity LUT for 1 channel: value = pixel byte */
const ID1 = normalizationTable([0], [1 / 255], 1);
// 4x4 single-channel image with pixels 1..16
const IMG = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
function run(params: { top: number; left: number; flip: boolean; cy?: number; cx?: number }, pad = 1, cutout = 0): number[][] {
  const out = new Float32Array(16);
  transformInto(IMG, 0, 4, 4, 1, out, 0, ID1, { cy: 0, cx: 0, ...params }, pad, cutout);
  return [0, 1, 2, 3].map((y) => Array.from(out.subarray(y * 4, y * 4 + 4)).map((v) => Math.round(v * 1e4) / 1e4));
}

describe('CIFAR augmentation (hand-checked on a 4x4 image)', () => {
  it('pad + crop at (0,0) shifts the image down-right and fills zeros', () => {
    expect(run({ top: 0, left: 0, flip: false })).toEqual([
      [0, 0, 0, 0],
      [0, 1, 2, 3],
      [0, 5, 6, 7],
      [0, 9, 10, 11],
    ]);
  });
  it('crop at (pad, pad) is the identity; (2,2) shifts up-left', () => {
    expect(run({ top: 1, left: 1, flip: false })).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]);
    expect(run({ top: 2, left: 2, flip: false })).toEqual([[6, 7, 8, 0], [10, 11, 12, 0], [14, 15, 16, 0], [0, 0, 0, 0]]);
  });
  it('flip mirrors the crop left-right (crop first, then flip, as torchvision)', () => {
    expect(run({ top: 1, left: 1, flip: true })).toEqual([[4, 3, 2, 1], [8, 7, 6, 5], [12, 11, 10, 9], [16, 15, 14, 13]]);
    // crop at left=0 gives rows [0,a,b,c]; flipped: [c,b,a,0]
    expect(run({ top: 1, left: 0, flip: true })).toEqual([[3, 2, 1, 0], [7, 6, 5, 0], [11, 10, 9, 0], [15, 14, 13, 0]]);
  });
  it('cutout zeroes [c-L/2, c+L/2) clipped, after normalisation', () => {
    expect(run({ top: 1, left: 1, flip: false, cy: 0, cx: 3 }, 1, 2)).toEqual([[1, 2, 0, 0], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]);
    // with a real normalisation, padded pixels become -mean/std and cutout pixels exactly 0
    const lut = normalizationTable([0.5], [0.25], 1);
    const out = new Float32Array(16);
    transformInto(IMG, 0, 4, 4, 1, out, 0, lut, { top: 0, left: 0, flip: false, cy: 3, cx: 3 }, 1, 2);
    expect(out[0]).toBeCloseTo(-2, 6);
    expect(out[5]).toBeCloseTo((1 / 255 - 0.5) / 0.25, 6);
    expect(out[10]).toBe(0);
    expect(out[15]).toBe(0);
  });
  it('normalisation of 3-channel HWC: (p/255 - mean)/std per channel', () => {
    const lut = normalizationTable([0.1, 0.2, 0.3], [0.5, 0.25, 2], 3);
    const src = Uint8Array.from([255, 0, 51]);
    const out = new Float32Array(3);
    transformInto(src, 0, 1, 1, 3, out, 0, lut, null, 0, 0);
    expect(Array.from(out).map((v) => +v.toFixed(5))).toEqual([1.8, -0.8, -0.05]);
    expect(() => normalizationTable([0.1], [0.5], 3)).toThrow(/3 entries/);
  });
  it('sampled crop offsets cover 0..2·pad uniformly and flip ≈ 1/2', () => {
    const rng = new Rng(11);
    const tops = new Array(9).fill(0);
    let flips = 0;
    for (let i = 0; i < 9000; i++) {
      const p = sampleCifarAugment(rng, 32, 32, 4, 16);
      tops[p.top]++;
      if (p.flip) flips++;
      expect(p.left >= 0 && p.left <= 8 && p.cy >= 0 && p.cy < 32 && p.cx < 32).toBe(true);
    }
    for (const c of tops) expect(Math.abs(c - 1000)).toBeLessThan(130);
    expect(Math.abs(flips - 4500)).toBeLessThan(200);
  });
});

function synthDataset(n: number, h = 8, w = 8, c = 3): ImageDataset {
  const images = new Uint8Array(n * h * w * c);
  for (let i = 0; i < n; i++) images.fill(i % 256, i * h * w * c, (i + 1) * h * w * c);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { name: 'synth', split: 'train', images, labels, n, height: h, width: w, channels: c, numClasses: 10, classNames: [] };
}
const MEAN = [0.5, 0.5, 0.5], STD = [0.25, 0.25, 0.25];

async function collect(b: ImageBatcher, epoch: number, startStep = 0) {
  const xs: number[][] = [], ys: number[][] = [], idx: number[][] = [];
  for await (const batch of b.epoch(epoch, { startStep })) {
    xs.push(Array.from(await batch.x.data()));
    ys.push(Array.from(await batch.y.data()));
    idx.push(Array.from(batch.indices));
    expect(batch.x.dtype).toBe('float32');
    expect(batch.y.dtype).toBe('int32');
    expect(batch.x.shape).toEqual([batch.size, 8, 8, 3]);
    tf.dispose([batch.x, batch.y]);
  }
  return { xs, ys, idx };
}

describe('ImageBatcher', () => {
  const ds = synthDataset(50);
  const make = (o: Partial<ConstructorParameters<typeof ImageBatcher>[1]> = {}) =>
    new ImageBatcher(ds, { batchSize: 16, shuffle: true, seed: 123, augment: 'cifar', cutout: 4, mean: MEAN, std: STD, ...o });

  it('every index appears exactly once per epoch; labels follow the indices; last batch is partial', async () => {
    const b = make();
    expect(b.stepsPerEpoch()).toBe(4);
    const { ys, idx } = await collect(b, 0);
    expect(idx.map((i) => i.length)).toEqual([16, 16, 16, 2]);
    expect(idx.flat().sort((a, z) => a - z)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ys.flat()).toEqual(idx.flat().map((i) => i % 10));
    const dl = make({ dropLast: true });
    expect(dl.stepsPerEpoch()).toBe(3);
    expect((await collect(dl, 0)).idx.flat()).toHaveLength(48);
  });

  it('is deterministic given (seed, epoch), independent of prefetch depth, and resumable mid-epoch', async () => {
    const a = await collect(make({ prefetch: 0 }), 2);
    const b = await collect(make({ prefetch: 3 }), 2);
    expect(b).toEqual(a);
    const c = await collect(make(), 3);
    expect(c.idx).not.toEqual(a.idx);
    const d = await collect(make({ seed: 124 }), 2);
    expect(d.idx).not.toEqual(a.idx);
    const resumed = await collect(make(), 2, 2);
    expect(resumed.xs).toEqual(a.xs.slice(2));
    expect(resumed.idx).toEqual(a.idx.slice(2));
  });

  it('without shuffle/augment: identity order and plain normalisation', async () => {
    const b = make({ shuffle: false, augment: 'none', cutout: 0 });
    const { xs, idx } = await collect(b, 5);
    expect(idx.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // image 3 is constant 3: (3/255 - 0.5)/0.25
    expect(xs[0]?.[3 * 192]).toBeCloseTo((3 / 255 - 0.5) / 0.25, 5);
  });

  it('uses the labels override (e.g. noisy labels)', async () => {
    const noisy = Int32Array.from({ length: 50 }, () => 7);
    const { ys } = await collect(make({ labels: noisy }), 0);
    expect(new Set(ys.flat())).toEqual(new Set([7]));
    expect(() => make({ labels: new Int32Array(3) })).toThrow(/length 3.*n=50/);
  });

  it('prefetch: the next batches are prepared while the consumer awaits, bounded by the prefetch depth', async () => {
    const b = make({ prefetch: 2 });
    const prepared: number[] = [];
    const orig = b.prepare.bind(b);
    b.prepare = (e, s, o) => { prepared.push(s); return orig(e, s, o); };
    const it = b.epoch(0)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value.step).toBe(0);
    // the consumer "works" (yields to the event loop): steps 1 and 2 get prepared meanwhile, not step 3
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(prepared).toEqual([0, 1, 2]);
    tf.dispose([first.value.x, first.value.y]);
    const second = await it.next();
    expect(second.value.step).toBe(1);
    tf.dispose([second.value.x, second.value.y]);
    await it.return?.();
  });

  it('leaks no tensors, also when an epoch is abandoned early', async () => {
    const b = make();
    const before = tf.memory().numTensors;
    await collect(b, 0);
    expect(tf.memory().numTensors).toBe(before);
    for await (const batch of b.epoch(1)) {
      tf.dispose([batch.x, batch.y]);
      break;
    }
    await new Promise((r) => setImmediate(r));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates options with clear messages', () => {
    expect(() => make({ batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => make({ augment: 'none', cutout: 8 })).toThrow(/cutout=8 needs augment: 'cifar'/);
    expect(() => make({ mean: [0.5] })).toThrow(/3 entries/);
    expect(() => make().epoch(-1)).toThrow(/epoch must be/);
  });
});
