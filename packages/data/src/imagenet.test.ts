import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataFormatError, DataNotFoundError } from './errors.ts';
import { decodeJpeg, evalTransform, ImageFolderBatcher, listImageFolder, loadImageFolderDataset, loadImageNet, randomResizedCropBox, readJpeg, resizeBox, trainTransform, type RgbImage } from './imagenet.ts';
import { JpegDecoderPool } from './jpeg-pool.ts';
import { Rng } from './rng.ts';
import { DATA_DIR, NO_DATA, SKIP_REASON, realPath } from '../test/real-data.ts';

interface Fixture {
  decode: { path: string; mode: string; width: number; height: number; mean: number[]; grid: number[][][] }[];
  resize: { size: [number, number]; box: [number, number, number, number] | null; data: number[] }[];
}
const fx = JSON.parse(readFileSync(new URL('../test/fixtures/pil-images.json', import.meta.url), 'utf8')) as Fixture;

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

function synth(): RgbImage {
  const W = 37, H = 23, data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const o = (y * W + x) * 3;
    data[o] = (7 * x + 3 * y) % 256; data[o + 1] = (x * y) % 256; data[o + 2] = (((255 - 5 * x + 11 * y) % 256) + 256) % 256;
  }
  return { width: W, height: H, data };
}

describe('resampling (against PIL Image.resize BILINEAR)', () => {
  for (const r of fx.resize) {
    it(`37x23 → ${r.size.join('x')}${r.box ? ` box ${r.box.join(',')}` : ''}: within ±1 of PIL`, () => {
      const b = r.box ?? [0, 0, 37, 23];
      const out = resizeBox(synth(), { left: b[0], top: b[1], width: b[2] - b[0], height: b[3] - b[1] }, r.size[0], r.size[1]);
      let maxd = 0;
      out.data.forEach((v, i) => (maxd = Math.max(maxd, Math.abs(v - (r.data[i] as number)))));
      expect(maxd).toBeLessThanOrEqual(1);
    });
  }
});

describe('transforms', () => {
  it('randomResizedCrop boxes stay inside the image, with area in [8%, 100%] and aspect in [3/4, 4/3] (or the fallback)', () => {
    const rng = new Rng(4);
    for (let i = 0; i < 500; i++) {
      const W = 50 + rng.int(400), H = 50 + rng.int(400);
      const b = randomResizedCropBox(W, H, rng);
      expect(b.left >= 0 && b.top >= 0 && b.left + b.width <= W && b.top + b.height <= H).toBe(true);
      expect(b.width * b.height).toBeGreaterThanOrEqual(Math.floor(0.08 * W * H * 0.9));
    }
    // a 1000x10 strip: no try fits the aspect range → centre crop clamped to ratio 4/3
    expect(randomResizedCropBox(1000, 10, new Rng(1))).toEqual({ left: 493, top: 0, width: 13, height: 10 });
  });
  it('evalTransform: shorter side to 256 then the centre 224x224 crop', () => {
    const img = synth();
    const big = resizeBox(img, { left: 0, top: 0, width: 37, height: 23 }, 411, 256); // ⌊256·37/23⌋ = 411
    const e = evalTransform(img);
    expect([e.width, e.height]).toEqual([224, 224]);
    const left = Math.round((411 - 224) / 2), top = 16;
    for (const [x, y] of [[0, 0], [100, 50], [223, 223]] as const) {
      for (let c = 0; c < 3; c++) expect(e.data[(y * 224 + x) * 3 + c]).toBe(big.data[((y + top) * 411 + x + left) * 3 + c]);
    }
  });
  it('trainTransform is deterministic given the rng and outputs size x size', () => {
    const a = trainTransform(synth(), new Rng(9), 32), b = trainTransform(synth(), new Rng(9), 32);
    expect(a.width).toBe(32);
    expect(a.data).toEqual(b.data);
  });
});

describe('JPEG decoding errors', () => {
  it('unreadable / truncated JPEG → DataFormatError naming the file', async () => {
    expect(() => decodeJpeg(Buffer.from('not a jpeg at all'), '/x/bad.JPEG')).toThrow(/\/x\/bad\.JPEG: unreadable JPEG/);
    const good = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 128) }, 90).data;
    expect(decodeJpeg(good, 'ok').width).toBe(16);
    const dir = mkdtempSync(join(tmpdir(), 'asam-jpeg-'));
    const f = join(dir, 'trunc.JPEG');
    writeFileSync(f, good.subarray(0, Math.floor(good.length / 2)));
    await expect(readJpeg(f)).rejects.toThrow(DataFormatError);
    await expect(readJpeg(f)).rejects.toThrow(/trunc\.JPEG: unreadable JPEG/);
  });
  it('folder without the split → DataNotFoundError; without mapping → sorted wnids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asam-inet-'));
    await expect(listImageFolder(dir, 'val')).rejects.toThrow(DataNotFoundError);
    for (const w of ['n02', 'n01']) {
      mkdirSync(join(dir, 'train', w), { recursive: true });
      writeFileSync(join(dir, 'train', w, 'a.JPEG'), jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 9) }, 90).data);
    }
    const idx = await listImageFolder(dir, 'train');
    expect(idx.classSource).toBe('sorted wnids');
    expect(idx.entries.map((e) => [e.wnid, e.label])).toEqual([['n01', 0], ['n02', 1]]);
  });
});

describe('JpegDecoderPool (worker threads)', () => {
  it('decodes identically to the main thread and names the file on errors', async () => {
    const pool = new JpegDecoderPool(2);
    try {
      const imgs = [0, 1, 2].map((k) => {
        const data = Buffer.alloc(24 * 16 * 4);
        for (let i = 0; i < data.length; i++) data[i] = (i * (7 + k)) % 251;
        return jpeg.encode({ width: 24, height: 16, data }, 85).data;
      });
      const viaPool = await Promise.all(imgs.map((b, i) => pool.decode(b, `img${i}.JPEG`)));
      imgs.forEach((b, i) => expect(viaPool[i]).toEqual(decodeJpeg(b, 'x')));
      await expect(pool.decode(Buffer.from('garbage'), '/d/bad.JPEG')).rejects.toThrow(/\/d\/bad\.JPEG: unreadable JPEG/);
    } finally {
      await pool.close();
    }
  });
});

describe.skipIf(NO_DATA)(`ImageNet samples (${NO_DATA ? SKIP_REASON : DATA_DIR})`, () => {
  it('lists 42 images with class indices from LOC_synset_mapping.txt', async () => {
    const dir = realPath('imagenet-samples', 'LOC_synset_mapping.txt').replace(/\/LOC_synset_mapping\.txt$/, '');
    const idx = await listImageFolder(dir, 'train');
    expect(idx.entries).toHaveLength(42);
    expect(idx.numClasses).toBe(1000);
    expect(idx.classSource).toBe('LOC_synset_mapping.txt');
    const csv = readFileSync(realPath('imagenet-samples', 'labels.csv'), 'utf8').trim().split('\n').slice(1);
    const byWnid = new Map(csv.map((l) => l.split(',')).map((c) => [c[1], Number(c[2])]));
    for (const e of idx.entries) expect(e.label).toBe(byWnid.get(e.wnid));
    expect(idx.classNames[0]).toBe('tench');
  });

  it('decodes all 42 (incl. 2 grayscale) close to libjpeg/PIL: channel means within 1, 8x8 block means within 3', async () => {
    for (const ref of fx.decode) {
      const img = await readJpeg(realPath('imagenet-samples', ref.path));
      expect([img.width, img.height], ref.path).toEqual([ref.width, ref.height]);
      const W = img.width, H = img.height;
      const sums = [0, 0, 0];
      const grid = Array.from({ length: 8 }, () => Array.from({ length: 8 }, () => [0, 0, 0, 0]));
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const g = grid[Math.floor((y * 8) / H)]![Math.floor((x * 8) / W)]!;
        for (let c = 0; c < 3; c++) { const v = img.data[(y * W + x) * 3 + c] as number; sums[c]! += v; g[c]! += v; }
        g[3]!++;
      }
      for (let c = 0; c < 3; c++) expect(Math.abs(sums[c]! / (W * H) - ref.mean[c]!), ref.path).toBeLessThan(1);
      let worst = 0;
      for (let gy = 0; gy < 8; gy++) for (let gx = 0; gx < 8; gx++) for (let c = 0; c < 3; c++) {
        const g = grid[gy]![gx]!;
        worst = Math.max(worst, Math.abs(g[c]! / g[3]! - ref.grid[gy]![gx]![c]!));
      }
      expect(worst, ref.path).toBeLessThan(3);
      if (ref.mode === 'L') {
        for (let p = 0; p < W * H; p += 97) expect(img.data[p * 3]).toBe(img.data[p * 3 + 2]);
      }
    }
  }, 240_000); // decodes 4.4 MB of JPEG in pure JS: slow on a loaded machine

  it('batches of 224x224 float32 in train and eval mode, no tensor leak', async () => {
    const dir = realPath('imagenet-samples');
    const idx = await listImageFolder(dir, 'train');
    const small = { ...idx, entries: idx.entries.slice(0, 6) };
    const before = tf.memory().numTensors;
    for (const mode of ['train', 'eval'] as const) {
      const b = new ImageFolderBatcher(small, { batchSize: 4, shuffle: true, seed: 1, mode });
      const sizes: number[] = [];
      for await (const batch of b.epoch(0)) {
        expect(batch.x.shape.slice(1)).toEqual([224, 224, 3]);
        sizes.push(batch.size);
        tf.dispose([batch.x, batch.y]);
      }
      expect(sizes).toEqual([4, 2]);
    }
    expect(tf.memory().numTensors).toBe(before);
    // decoding in worker threads gives the same batches
    const pool = new JpegDecoderPool(2);
    try {
      const grab = async (decoder?: JpegDecoderPool) => {
        const b = new ImageFolderBatcher(small, { batchSize: 4, shuffle: true, seed: 3, mode: 'train', size: 64, ...(decoder ? { decoder } : {}) });
        const xs: Float32Array[] = [];
        for await (const batch of b.epoch(1)) { xs.push(batch.x.dataSync() as Float32Array); tf.dispose([batch.x, batch.y]); }
        return xs;
      };
      expect(await grab(pool)).toEqual(await grab());
    } finally {
      await pool.close();
    }
    // mid-epoch resume: startStep 1 yields exactly the full pass's batches from step 1 on, without decoding step 0
    const four = { ...idx, entries: idx.entries.slice(0, 6) };
    const full: { step: number; x: Float32Array; y: number[] }[] = [];
    let decoded = 0;
    const counting = { decode: async (buf: Buffer, path: string) => { decoded++; return decodeJpeg(buf, path); } } as unknown as JpegDecoderPool;
    const b = new ImageFolderBatcher(four, { batchSize: 2, shuffle: true, seed: 5, mode: 'train', size: 32, decoder: counting });
    for await (const batch of b.epoch(2)) { full.push({ step: batch.step, x: batch.x.dataSync() as Float32Array, y: Array.from(batch.y.dataSync()) }); tf.dispose([batch.x, batch.y]); }
    expect(decoded).toBe(6);
    const resumed: typeof full = [];
    for await (const batch of b.epoch(2, { startStep: 1 })) { resumed.push({ step: batch.step, x: batch.x.dataSync() as Float32Array, y: Array.from(batch.y.dataSync()) }); tf.dispose([batch.x, batch.y]); }
    expect(decoded).toBe(6 + 4); // the two images of step 0 were not decoded again
    expect(full.map((f) => f.step)).toEqual([0, 1, 2]);
    expect(resumed).toEqual(full.slice(1));
    const none: unknown[] = [];
    for await (const batch of b.epoch(2, { startStep: 3 })) none.push(batch);
    expect(none).toEqual([]);
    expect(() => b.epoch(2, { startStep: 4 })).toThrow(/startStep must be an integer in \[0, 3\]/);
    expect(() => b.epoch(-1)).toThrow(/epoch must be an integer >= 0/);
    const ds = await loadImageFolderDataset(small, { limit: 2 });
    expect(ds.images.length).toBe(2 * 224 * 224 * 3);
    const viaRoot = await loadImageNet(DATA_DIR as string, 'train', { folder: 'imagenet-samples', size: 32, resize: 36, limit: 3 });
    expect([viaRoot.n, viaRoot.height, viaRoot.numClasses]).toEqual([3, 32, 1000]);
    expect(Array.from(viaRoot.labels)).toEqual([0, 25, 50]);
    await expect(loadImageNet(DATA_DIR as string, 'val', { folder: 'imagenet-samples' })).rejects.toThrow(DataNotFoundError);
  });
});
