/**
 * ImageNet-style image folders (`<dir>/train/<wnid>/*.JPEG`, `<dir>/val/<wnid>/*.JPEG`), JPEG decoding and
 * the standard ImageNet transforms.
 *
 * Decoder: `jpeg-js` (pure JavaScript, deterministic on every platform, no native binary to fetch, works
 * wherever tfjs runs). `sharp`/libvips would decode faster, but the tfjs training step on CPU (tens of
 * images/s) is far slower than jpeg-js decoding, so decode speed is not the bottleneck here, and a pure-JS
 * decoder keeps results bit-identical across machines. Grayscale JPEGs are expanded to 3 channels (Y,Y,Y).
 *
 * Resampling is PIL's separable bilinear ("triangle") filter with antialiasing: when shrinking by factor s
 * the filter support widens to s, as in `PIL.Image.resize(..., BILINEAR)` used by torchvision's PIL path.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import jpeg from 'jpeg-js';
import { normalizationTable, transformInto } from './augment.ts';
import type { ImageDataset } from './cifar.ts';
import { DataFormatError, DataNotFoundError } from './errors.ts';
import type { JpegDecoderPool } from './jpeg-pool.ts';
import { Rng } from './rng.ts';

/** ImageNet per-channel mean and std in [0,1] units (torchvision convention). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** A decoded RGB image, HWC uint8. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One file of an image folder. */
export interface ImageFolderEntry {
  path: string;
  wnid: string;
  label: number;
}

/** Listing of an ImageNet split folder. */
export interface ImageFolderIndex {
  dir: string;
  split: string;
  entries: ImageFolderEntry[];
  /** wnid of each class index */
  wnids: string[];
  /** human-readable name of each class index (first lemma from LOC_synset_mapping.txt, else the wnid) */
  classNames: string[];
  numClasses: number;
  /** 'LOC_synset_mapping.txt' or 'sorted wnids' */
  classSource: string;
}

/**
 * Lists `<dir>/<split>/<wnid>/*.{JPEG,jpg,jpeg}` in sorted order. Class index: the line number in
 * `<dir>/LOC_synset_mapping.txt` (`<wnid> <names>` or `<wnid> : <names>`) when present (1000 classes), else the position of the wnid
 * among the sorted wnid folders of this split.
 */
export async function listImageFolder(dir: string, split: 'train' | 'val'): Promise<ImageFolderIndex> {
  const splitDir = join(dir, split);
  if (!existsSync(splitDir)) {
    throw new DataNotFoundError(`ImageNet ${split} folder`, [splitDir], `ImageNet needs registration: download ILSVRC2012 from https://image-net.org, then arrange ${split}/<wnid>/*.JPEG under ${dir}`);
  }
  const folders = (await readdir(splitDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const mapping = join(dir, 'LOC_synset_mapping.txt');
  let wnids: string[];
  let classNames: string[];
  let classSource: string;
  if (existsSync(mapping)) {
    const lines = (await readFile(mapping, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    wnids = [];
    classNames = [];
    lines.forEach((l, i) => {
      const m = /^(n\d{8})\s*:?\s+(.*)$/.exec(l.trim());
      if (!m) throw new DataFormatError(mapping, `line ${i + 1}: expected "<wnid> <names>", got ${JSON.stringify(l.slice(0, 80))}`);
      wnids.push(m[1] as string);
      classNames.push((m[2] as string).split(',')[0]?.trim() ?? (m[1] as string));
    });
    classSource = 'LOC_synset_mapping.txt';
  } else {
    wnids = folders;
    classNames = folders.slice();
    classSource = 'sorted wnids';
  }
  const index = new Map(wnids.map((w, i) => [w, i]));
  const entries: ImageFolderEntry[] = [];
  for (const wnid of folders) {
    const label = index.get(wnid);
    if (label === undefined) throw new DataFormatError(join(splitDir, wnid), `folder ${wnid} is not a class in ${mapping}`);
    const files = (await readdir(join(splitDir, wnid))).filter((f) => /\.(jpe?g)$/i.test(f)).sort();
    for (const f of files) entries.push({ path: join(splitDir, wnid, f), wnid, label });
  }
  return { dir, split, entries, wnids, classNames, numClasses: wnids.length, classSource };
}

/** Decodes JPEG bytes to RGB (grayscale and CMYK/YCCK handled by jpeg-js). `file` names the source in errors. */
export function decodeJpeg(bytes: Uint8Array, file: string, o: { tolerant?: boolean } = {}): RgbImage {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: o.tolerant ?? false, maxResolutionInMP: 200, maxMemoryUsageInMB: 2048 });
    if (!(img.width > 0 && img.height > 0)) throw new Error('no image data');
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    throw new DataFormatError(file, `unreadable JPEG: ${(e as Error).message}`);
  }
}

/** Reads and decodes a JPEG file. */
export async function readJpeg(path: string, o: { tolerant?: boolean } = {}): Promise<RgbImage> {
  return decodeJpeg(await readFile(path), path, o);
}

/** PIL-style resampling coefficients along one axis for the source interval [x0, x0 + inSize) → outSize. */
function coeffs(x0: number, inSize: number, outSize: number, limit: number): { lo: Int32Array; n: Int32Array; w: Float64Array; k: number } {
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const support = fs; // bilinear: radius 1 scaled
  const k = Math.ceil(support) * 2 + 1;
  const lo = new Int32Array(outSize);
  const n = new Int32Array(outSize);
  const w = new Float64Array(outSize * k);
  for (let o = 0; o < outSize; o++) {
    const center = x0 + (o + 0.5) * scale;
    let xmin = Math.max(0, Math.floor(center - support + 0.5));
    const xmax = Math.min(limit, Math.floor(center + support + 0.5));
    let total = 0;
    const cnt = xmax - xmin;
    for (let j = 0; j < cnt; j++) {
      const t = Math.abs((j + xmin - center + 0.5) / fs);
      const v = t < 1 ? 1 - t : 0;
      w[o * k + j] = v;
      total += v;
    }
    if (total > 0) for (let j = 0; j < cnt; j++) w[o * k + j] = (w[o * k + j] as number) / total;
    if (cnt <= 0) xmin = Math.min(limit - 1, Math.max(0, Math.floor(center)));
    lo[o] = xmin;
    n[o] = Math.max(cnt, 0);
  }
  return { lo, n, w, k };
}

/**
 * Resizes the box (left, top, boxW, boxH) of `img` to outW×outH with the antialiased bilinear filter
 * (horizontal pass, then vertical; values rounded and clamped to 0..255).
 */
export function resizeBox(img: RgbImage, box: { left: number; top: number; width: number; height: number }, outW: number, outH: number): RgbImage {
  const { width: W, height: H, data } = img;
  const cx = coeffs(box.left, box.width, outW, W);
  const cy = coeffs(box.top, box.height, outH, H);
  // rows needed for the vertical pass
  let r0 = H, r1 = 0;
  for (let o = 0; o < outH; o++) { r0 = Math.min(r0, cy.lo[o] as number); r1 = Math.max(r1, (cy.lo[o] as number) + (cy.n[o] as number)); }
  const rows = Math.max(0, r1 - r0);
  // the horizontal pass is rounded to 8 bits, as PIL does for 8-bit images
  const tmp = new Uint8Array(rows * outW * 3);
  for (let y = 0; y < rows; y++) {
    const src = (y + r0) * W * 3;
    for (let x = 0; x < outW; x++) {
      const l = cx.lo[x] as number, cnt = cx.n[x] as number, base = x * cx.k;
      let a = 0, b = 0, c = 0;
      for (let j = 0; j < cnt; j++) {
        const wt = cx.w[base + j] as number;
        const p = src + (l + j) * 3;
        a += wt * (data[p] as number); b += wt * (data[p + 1] as number); c += wt * (data[p + 2] as number);
      }
      const t = (y * outW + x) * 3;
      tmp[t] = clamp8(a); tmp[t + 1] = clamp8(b); tmp[t + 2] = clamp8(c);
    }
  }
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const l = (cy.lo[y] as number) - r0, cnt = cy.n[y] as number, base = y * cy.k;
    for (let x = 0; x < outW; x++) {
      let a = 0, b = 0, c = 0;
      for (let j = 0; j < cnt; j++) {
        const wt = cy.w[base + j] as number;
        const p = ((l + j) * outW + x) * 3;
        a += wt * (tmp[p] as number); b += wt * (tmp[p + 1] as number); c += wt * (tmp[p + 2] as number);
      }
      const t = (y * outW + x) * 3;
      out[t] = clamp8(a); out[t + 1] = clamp8(b); out[t + 2] = clamp8(c);
    }
  }
  return { width: outW, height: outH, data: out };
}

function clamp8(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** Mirrors an RGB image left-right (new array). */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const s = (y * W + x) * 3, d = (y * W + (W - 1 - x)) * 3;
    out[d] = data[s] as number; out[d + 1] = data[s + 1] as number; out[d + 2] = data[s + 2] as number;
  }
  return { width: W, height: H, data: out };
}

/**
 * Box of torchvision's `RandomResizedCrop(scale=[0.08,1], ratio=[3/4,4/3])`: up to 10 tries of area fraction
 * U(scale) and aspect exp(U(log ratio)), w = round(√(A·r)), h = round(√(A/r)), position uniform; else a
 * centre crop with the aspect ratio clamped to the range. Draw order per try: area, log-aspect, top, left.
 */
export function randomResizedCropBox(
  W: number,
  H: number,
  rng: Rng,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): { left: number; top: number; width: number; height: number } {
  const area = W * H;
  const lr0 = Math.log(ratio[0]), lr1 = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.next());
    const aspect = Math.exp(lr0 + (lr1 - lr0) * rng.next());
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= W && h <= H) {
      const top = rng.int(H - h + 1);
      const left = rng.int(W - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  const inRatio = W / H;
  let w: number, h: number;
  if (inRatio < ratio[0]) { w = W; h = Math.round(w / ratio[0]); }
  else if (inRatio > ratio[1]) { h = H; w = Math.round(h * ratio[1]); }
  else { w = W; h = H; }
  return { left: Math.floor((W - w) / 2), top: Math.floor((H - h) / 2), width: w, height: h };
}

/** Training transform: random-resized-crop to size×size (default 224), then horizontal flip with p = ½. */
export function trainTransform(img: RgbImage, rng: Rng, size = 224): RgbImage {
  const box = randomResizedCropBox(img.width, img.height, rng);
  const out = resizeBox(img, box, size, size);
  return rng.next() < 0.5 ? flipHorizontal(out) : out;
}

/**
 * Evaluation transform: resize so the shorter side is `resize` (256; longer side ⌊resize·long/short⌋ as
 * torchvision), then centre crop `size` (224) at round((dim - size)/2).
 */
export function evalTransform(img: RgbImage, resize = 256, size = 224): RgbImage {
  const { width: W, height: H } = img;
  const short = Math.min(W, H), long = Math.max(W, H);
  const nl = Math.floor((resize * long) / short);
  const [nw, nh] = W <= H ? [resize, nl] : [nl, resize];
  const r = resizeBox(img, { left: 0, top: 0, width: W, height: H }, nw, nh);
  const top = Math.round((nh - size) / 2), left = Math.round((nw - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) out.set(r.data.subarray(((y + top) * nw + left) * 3, ((y + top) * nw + left + size) * 3), y * size * 3);
  return { width: size, height: size, data: out };
}

/**
 * Decodes every image of an index with `evalTransform` into an in-memory `ImageDataset` (size×size×3) —
 * for small evaluation sets; use `ImageFolderBatcher` for training.
 */
export async function loadImageFolderDataset(index: ImageFolderIndex, o: { size?: number; resize?: number; limit?: number } = {}): Promise<ImageDataset> {
  const size = o.size ?? 224;
  const entries = index.entries.slice(0, o.limit ?? index.entries.length);
  const images = new Uint8Array(entries.length * size * size * 3);
  const labels = new Int32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as ImageFolderEntry;
    images.set(evalTransform(await readJpeg(e.path), o.resize ?? 256, size).data, i * size * size * 3);
    labels[i] = e.label;
  }
  return { name: 'imagenet', split: index.split, images, labels, n: entries.length, height: size, width: size, channels: 3, numClasses: index.numClasses, classNames: index.classNames, sources: [{ file: join(index.dir, index.split), records: entries.length }] };
}

/**
 * ImageNet as an in-memory `ImageDataset` (like `loadCifar10`): lists `<root>/<folder>/<split>/<wnid>/*.JPEG`
 * (folder default 'imagenet'; the shared samples live in 'imagenet-samples') and decodes each image with the
 * eval transform (shorter side `resize`, centre crop `size`). Meant for small subsets — it holds
 * n·size²·3 bytes; for full-scale training with random-resized-crop use `ImageFolderBatcher`.
 * `limit` keeps the first `limit` files in sorted (class, file) order.
 */
export async function loadImageNet(
  root: string,
  split: 'train' | 'val',
  o: { folder?: string; size?: number; resize?: number; limit?: number } = {},
): Promise<ImageDataset> {
  const index = await listImageFolder(join(root, o.folder ?? 'imagenet'), split);
  return loadImageFolderDataset(index, o);
}

/**
 * Batches of an image folder, decoded on the fly: 'train' mode = random-resized-crop + flip, 'eval' = resize
 * 256 + centre crop; normalised with mean/std (ImageNet constants by default); float32 NHWC + int32 labels.
 * Deterministic given (seed, epoch, step) like `ImageBatcher`. The next `prefetch` batches are started while
 * the current one is in use: files are read asynchronously and, with a `JpegDecoderPool`, decoded in worker
 * threads in parallel with training (without a pool, decoding runs on the main thread when it is idle).
 */
export class ImageFolderBatcher {
  private readonly lut: Float32Array;
  constructor(
    private readonly index: ImageFolderIndex,
    private readonly o: {
      batchSize: number; shuffle: boolean; seed: number; mode: 'train' | 'eval'; size?: number; mean?: number[]; std?: number[]; dropLast?: boolean; prefetch?: number;
      /** decode in worker threads (true parallelism); default: decode on the main thread */
      decoder?: JpegDecoderPool;
    },
  ) {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`ImageFolderBatcher: batchSize must be a positive integer, got ${o.batchSize}`);
    if (o.mode !== 'train' && o.mode !== 'eval') throw new RangeError(`ImageFolderBatcher: mode must be 'train' or 'eval', got ${JSON.stringify(o.mode)}`);
    this.lut = normalizationTable(o.mean ?? IMAGENET_MEAN, o.std ?? IMAGENET_STD, 3);
  }
  /** ⌈n/B⌉ (⌊n/B⌋ with dropLast). */
  stepsPerEpoch(): number {
    const n = this.index.entries.length;
    return this.o.dropLast ? Math.floor(n / this.o.batchSize) : Math.ceil(n / this.o.batchSize);
  }
  private async prepare(epoch: number, step: number, order: Int32Array): Promise<{ x: Float32Array; y: Int32Array; size: number }> {
    const S = this.o.size ?? 224;
    const start = step * this.o.batchSize;
    const size = Math.min(this.o.batchSize, this.index.entries.length - start);
    const batchEntries = Array.from({ length: size }, (_, i) => this.index.entries[order[start + i] as number] as ImageFolderEntry);
    const files = await Promise.all(batchEntries.map((e) => readFile(e.path)));
    const pool = this.o.decoder;
    const imgs = pool ? await Promise.all(files.map((f, i) => pool.decode(f, (batchEntries[i] as ImageFolderEntry).path))) : null;
    const rng = Rng.derive(this.o.seed, epoch, step, 2);
    const x = new Float32Array(size * S * S * 3);
    const y = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const e = batchEntries[i] as ImageFolderEntry;
      const img = imgs ? (imgs[i] as RgbImage) : decodeJpeg(files[i] as Buffer, e.path);
      const t = this.o.mode === 'train' ? trainTransform(img, rng, S) : evalTransform(img, Math.round((S * 256) / 224), S);
      transformInto(t.data, 0, S, S, 3, x, i * S * S * 3, this.lut, null, 0, 0);
      y[i] = e.label;
    }
    return { x, y, size };
  }
  /**
   * Batches of one epoch; the caller disposes x and y. `startStep` resumes mid-epoch: the batches before it are
   * neither read nor decoded, and the rest equal those of a full pass (the order and every batch's augmentation
   * depend on (seed, epoch, step) only). `step` is the batch's index in the epoch.
   */
  epoch(epoch: number, opts: { startStep?: number } = {}): AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D; size: number; step: number }> {
    const self = this;
    const S = this.o.size ?? 224;
    const steps = this.stepsPerEpoch();
    const startStep = opts.startStep ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`ImageFolderBatcher.epoch: epoch must be an integer >= 0, got ${epoch}`);
    if (!Number.isInteger(startStep) || startStep < 0 || startStep > steps) {
      throw new RangeError(`ImageFolderBatcher.epoch: startStep must be an integer in [0, ${steps}] (steps per epoch), got ${startStep}`);
    }
    return {
      [Symbol.asyncIterator]: async function* () {
        const n = self.index.entries.length;
        const order = self.o.shuffle ? Rng.derive(self.o.seed, epoch).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
        const depth = Math.max(1, self.o.prefetch ?? 2);
        const queue: Promise<{ x: Float32Array; y: Int32Array; size: number }>[] = [];
        let next = startStep;
        let step = startStep;
        const fill = () => { while (queue.length < depth && next < steps) queue.push(self.prepare(epoch, next++, order)); };
        fill();
        try {
          while (queue.length) {
            const b = await (queue.shift() as Promise<{ x: Float32Array; y: Int32Array; size: number }>);
            fill();
            yield { x: tf.tensor4d(b.x, [b.size, S, S, 3], 'float32'), y: tf.tensor1d(b.y, 'int32'), size: b.size, step: step++ };
          }
        } finally {
          for (const p of queue) p.catch(() => undefined);
        }
      },
    };
  }
}
