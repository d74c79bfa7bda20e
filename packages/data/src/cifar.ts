/**
 * CIFAR-10 / CIFAR-100 readers for the official *binary version* (Krizhevsky 2009,
 * https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * Record layouts (no file header; record count = file size / record size):
 * - CIFAR-10:  3073 bytes = 1 label byte (0..9) + 1024 R + 1024 G + 1024 B (each plane 32x32 row-major).
 * - CIFAR-100: 3074 bytes = 1 coarse label (0..19) + 1 fine label (0..99) + 3072 pixel bytes as above.
 *
 * Output is HWC uint8 (pixel (y, x) channel c of image i at `((i*32 + y)*32 + x)*3 + c`).
 */
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataFormatError, DataNotFoundError, downloadCommand } from './errors.ts';
import { readTarEntries } from './tar.ts';

/** Image dataset in memory: HWC uint8 pixels. */
export interface ImageDataset {
  name: string;
  split: string;
  /** n * height * width * channels, HWC, row-major. */
  images: Uint8Array;
  /** n labels. */
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames: string[];
  /** Files actually read and how many records each contributed (partial data sets are common). */
  sources?: { file: string; records: number }[];
  /** Expected files that were not found (e.g. data_batch_3.bin when only some batches exist). */
  missing?: string[];
}

/** Per-channel mean of the CIFAR-10 training set, in [0,1] units (R, G, B). */
export const CIFAR10_MEAN: [number, number, number] = [0.4914, 0.4822, 0.4465];
/**
 * Per-channel standard deviation of the CIFAR-10 training pixels, in [0,1] units. (Many repositories use
 * (0.2023, 0.1994, 0.2010), which is the mean of per-image stds; pass it explicitly if you need that.)
 */
export const CIFAR10_STD: [number, number, number] = [0.247, 0.2435, 0.2616];
/** Per-channel mean of the CIFAR-100 training set, in [0,1] units. */
export const CIFAR100_MEAN: [number, number, number] = [0.5071, 0.4865, 0.4409];
/** Per-channel standard deviation of the CIFAR-100 training pixels, in [0,1] units. */
export const CIFAR100_STD: [number, number, number] = [0.2673, 0.2564, 0.2762];

/** CIFAR-10 class names in label order. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-100 fine class names in label order (alphabetical, as in `fine_label_names.txt`). */
export const CIFAR100_FINE_CLASSES = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish ' +
  'forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle ' +
  'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine ' +
  'possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar ' +
  'sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale ' +
  'willow_tree wolf woman worm'
).split(' ');

/** CIFAR-100 coarse (superclass) names in label order. */
export const CIFAR100_COARSE_CLASSES = (
  'aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture ' +
  'insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores ' +
  'medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2'
).split(' ');

const PIXELS = 32 * 32;
const IMG_BYTES = 3 * PIXELS;

/** Layout of one binary CIFAR variant. */
interface CifarLayout {
  recordSize: number;
  labelBytes: number;
  /** which label byte to use (0 = first) */
  labelIndex: number;
  numClasses: number;
}

/**
 * Decodes a buffer of binary CIFAR records into HWC pixels + labels, starting at record `firstOut` of the
 * output arrays. Validates every label. `file` is used in error messages.
 */
export function decodeCifarRecords(
  buf: Uint8Array,
  layout: CifarLayout,
  file: string,
  out: { images: Uint8Array; labels: Int32Array },
  firstOut: number,
  count: number,
): void {
  const { recordSize, labelBytes, labelIndex, numClasses } = layout;
  for (let r = 0; r < count; r++) {
    const base = r * recordSize;
    for (let k = 0; k < labelBytes; k++) {
      const v = buf[base + k] ?? 0;
      const lim = labelBytes === 2 && k === 0 ? 20 : labelBytes === 2 ? 100 : numClasses;
      if (v >= lim) {
        throw new DataFormatError(
          file,
          `record ${r} (byte offset ${base + k}): ${labelBytes === 2 ? (k === 0 ? 'coarse ' : 'fine ') : ''}label ${v} is out of range 0..${lim - 1}; the file is corrupt or not CIFAR-${labelBytes === 2 ? '100' : '10'} binary`,
        );
      }
    }
    out.labels[firstOut + r] = buf[base + labelIndex] ?? 0;
    const px = base + labelBytes;
    const dst = (firstOut + r) * IMG_BYTES;
    const img = out.images;
    for (let p = 0; p < PIXELS; p++) {
      const o = dst + p * 3;
      img[o] = buf[px + p] ?? 0;
      img[o + 1] = buf[px + PIXELS + p] ?? 0;
      img[o + 2] = buf[px + 2 * PIXELS + p] ?? 0;
    }
  }
}

function recordCount(size: number, recordSize: number, file: string): number {
  if (size % recordSize !== 0) {
    const whole = Math.floor(size / recordSize);
    throw new DataFormatError(
      file,
      `size ${size} bytes is not a multiple of the ${recordSize}-byte record size (${whole} whole records end at byte offset ${whole * recordSize}, then ${size % recordSize} stray bytes); the file is truncated or of another format. Re-download it.`,
    );
  }
  return size / recordSize;
}

interface CifarSpec {
  name: string;
  folder: string;
  tarball: string;
  files: string[];
  layout: CifarLayout;
  classNames: string[];
  metaFile: string;
  download: string;
}

async function readClassNames(path: string, fallback: string[], expected: number): Promise<string[]> {
  if (!existsSync(path)) return fallback;
  const names = (await readFile(path, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length !== expected) throw new DataFormatError(path, `has ${names.length} class names, expected ${expected}`);
  return names;
}

async function loadCifar(root: string, spec: CifarSpec, split: string, limit: number | undefined): Promise<ImageDataset> {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`loadCifar: limit must be a non-negative integer, got ${limit}`);
  }
  const dir = join(root, spec.folder);
  const tarPath = join(root, spec.tarball);
  const { recordSize } = spec.layout;
  const chunks: { file: string; buf: Uint8Array | null; records: number }[] = [];
  const missing: string[] = [];
  let classNames = spec.classNames;
  if (existsSync(dir)) {
    for (const f of spec.files) {
      const p = join(dir, f);
      if (!existsSync(p)) { missing.push(p); continue; }
      const st = await stat(p);
      chunks.push({ file: p, buf: null, records: recordCount(st.size, recordSize, p) });
    }
    classNames = await readClassNames(join(dir, spec.metaFile), spec.classNames, spec.classNames.length);
  }
  if (chunks.length === 0 && existsSync(tarPath)) {
    missing.length = 0;
    const wantNames = new Set(spec.files.map((f) => `${spec.folder}/${f}`));
    const entries = await readTarEntries(tarPath, (n) => wantNames.has(n) || n === `${spec.folder}/${spec.metaFile}`);
    for (const f of spec.files) {
      const e = entries.get(`${spec.folder}/${f}`);
      const label = `${tarPath}:${spec.folder}/${f}`;
      if (!e) { missing.push(label); continue; }
      chunks.push({ file: label, buf: e, records: recordCount(e.length, recordSize, label) });
    }
    const meta = entries.get(`${spec.folder}/${spec.metaFile}`);
    if (meta) {
      const names = meta.toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
      if (names.length === spec.classNames.length) classNames = names;
    }
  }
  if (chunks.length === 0) {
    throw new DataNotFoundError(
      `${spec.name} ${split} split (${spec.files.join(', ')})`,
      [...spec.files.map((f) => join(dir, f)), tarPath],
      downloadCommand(spec.download, root),
    );
  }
  const total = chunks.reduce((s, c) => s + c.records, 0);
  const n = limit === undefined ? total : Math.min(limit, total);
  const images = new Uint8Array(n * IMG_BYTES);
  const labels = new Int32Array(n);
  const sources: { file: string; records: number }[] = [];
  let done = 0;
  for (const c of chunks) {
    if (done >= n) break;
    const take = Math.min(c.records, n - done);
    let buf = c.buf;
    if (!buf) {
      const fh = await open(c.file, 'r');
      try {
        buf = Buffer.alloc(take * recordSize);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        if (bytesRead !== buf.length) throw new DataFormatError(c.file, `short read: got ${bytesRead} of ${buf.length} bytes`);
      } finally {
        await fh.close();
      }
    }
    decodeCifarRecords(buf, spec.layout, c.file, { images, labels }, done, take);
    sources.push({ file: c.file, records: take });
    done += take;
  }
  return {
    name: spec.download,
    split,
    images,
    labels,
    n,
    height: 32,
    width: 32,
    channels: 3,
    numClasses: spec.layout.numClasses,
    classNames,
    sources,
    missing,
  };
}

/**
 * Loads CIFAR-10 (binary version). `root` is the data directory containing `cifar-10-batches-bin/`
 * (`data_batch_1..5.bin`, `test_batch.bin`; whichever exist are read, in order, and listed in `sources`;
 * absent ones in `missing`) or the official `cifar-10-binary.tar.gz` (read directly, no extraction).
 * Record counts come from file sizes, so partial files work. `limit` keeps the first `limit` records.
 */
export async function loadCifar10(root: string, split: 'train' | 'test', opts: { limit?: number } = {}): Promise<ImageDataset> {
  checkSplit(split);
  return loadCifar(
    root,
    {
      name: 'CIFAR-10',
      folder: 'cifar-10-batches-bin',
      tarball: 'cifar-10-binary.tar.gz',
      files: split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'],
      layout: { recordSize: 3073, labelBytes: 1, labelIndex: 0, numClasses: 10 },
      classNames: CIFAR10_CLASSES,
      metaFile: 'batches.meta.txt',
      download: 'cifar10',
    },
    split,
    opts.limit,
  );
}

/**
 * Loads CIFAR-100 (binary version): `root/cifar-100-binary/{train,test}.bin` or `root/cifar-100-binary.tar.gz`.
 * `label: 'fine'` (default, 100 classes) or `'coarse'` (20 superclasses); both bytes are range-checked.
 */
export async function loadCifar100(
  root: string,
  split: 'train' | 'test',
  opts: { label?: 'fine' | 'coarse'; limit?: number } = {},
): Promise<ImageDataset> {
  checkSplit(split);
  const label = opts.label ?? 'fine';
  if (label !== 'fine' && label !== 'coarse') throw new RangeError(`loadCifar100: label must be 'fine' or 'coarse', got ${JSON.stringify(label)}`);
  const fine = label === 'fine';
  return loadCifar(
    root,
    {
      name: 'CIFAR-100',
      folder: 'cifar-100-binary',
      tarball: 'cifar-100-binary.tar.gz',
      files: [`${split}.bin`],
      layout: { recordSize: 3074, labelBytes: 2, labelIndex: fine ? 1 : 0, numClasses: fine ? 100 : 20 },
      classNames: fine ? CIFAR100_FINE_CLASSES : CIFAR100_COARSE_CLASSES,
      metaFile: fine ? 'fine_label_names.txt' : 'coarse_label_names.txt',
      download: 'cifar100',
    },
    split,
    opts.limit,
  );
}

function checkSplit(split: string): void {
  if (split !== 'train' && split !== 'test') throw new RangeError(`CIFAR split must be 'train' or 'test', got ${JSON.stringify(split)}`);
}
