/**
 * Synthetic CIFAR-10: small files in the official binary layout, made from a seed, for tests and smoke runs on a
 * machine without the real data. The images are learnable: each class has its own colour and stripe pattern
 * (orientation and period), with per-pixel Gaussian noise and a random brightness per image on top, so a few
 * training steps visibly lower the loss while no two images are equal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from './cifar.ts';
import { Rng } from './rng.ts';

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const RECORD = 1 + 3 * PIXELS;

/** Base colour (R, G, B) of each class: ten clearly different hues. */
const PALETTE: [number, number, number][] = [
  [220, 60, 60], [60, 200, 60], [60, 80, 220], [220, 200, 60], [200, 60, 200],
  [60, 200, 200], [240, 140, 40], [130, 70, 30], [150, 150, 150], [40, 40, 40],
];

/** Options of {@link syntheticCifar10Records} / {@link writeSyntheticCifar10}. */
export interface SyntheticCifarOptions {
  /** Seed of labels, brightness and noise (default 0; a non-negative safe integer). */
  seed?: number;
  /** Stream of the seed (default 0): equal seeds and different streams give different images of the same classes. */
  stream?: number;
  /** Standard deviation of the per-pixel noise in pixel levels 0..255 (default 24). */
  noise?: number;
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`synthetic CIFAR-10: ${what} must be a non-negative integer, got ${n}`);
}

/**
 * `n` CIFAR-10 binary records (3073 bytes each: label byte, then the R, G and B planes of 32×32 pixels). Labels are
 * balanced: every run of ten consecutive records holds each class once, in a seeded order.
 */
export function syntheticCifar10Records(n: number, opts: SyntheticCifarOptions = {}): Uint8Array {
  checkCount('the record count', n);
  const seed = opts.seed ?? 0;
  const noise = opts.noise ?? 24;
  if (!(noise >= 0)) throw new RangeError(`synthetic CIFAR-10: noise must be >= 0, got ${noise}`);
  const rng = Rng.derive(seed, opts.stream ?? 0);
  const out = new Uint8Array(n * RECORD);
  let order = rng.permutation(10);
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0 && i > 0) order = rng.permutation(10);
    const label = order[i % 10]!;
    const base = i * RECORD;
    out[base] = label;
    const colour = PALETTE[label]!;
    const vertical = label % 2 === 1;
    const period = 4 + 2 * (label % 5); // 4..12 pixels
    const phase = rng.int(period);
    const brightness = 0.85 + 0.3 * rng.next();
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const t = ((vertical ? x : y) + phase) % period;
        const stripe = t < period / 2 ? 1 : 0.45;
        const p = y * SIDE + x;
        for (let c = 0; c < 3; c++) {
          const v = colour[c]! * stripe * brightness + noise * rng.normal();
          out[base + 1 + c * PIXELS + p] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return out;
}

/** Files written by {@link writeSyntheticCifar10}. */
export interface SyntheticCifarFiles {
  /** The data directory (pass it as `dataDir` / `--data-dir`). */
  root: string;
  /** `<root>/cifar-10-batches-bin/...` files with their record counts, train batches first. */
  files: { file: string; records: number }[];
}

/**
 * Writes a synthetic CIFAR-10 in the official layout under `root`: `cifar-10-batches-bin/data_batch_1.bin` …
 * `data_batch_5.bin` (the `train` records spread over the five files in order, as in the real set), `test_batch.bin`
 * (`test` records) and `batches.meta.txt`. `loadCifar10(root, …)` reads it like the real data. Train and test use
 * different streams of the same seed, so they share the class patterns but no image.
 */
export function writeSyntheticCifar10(
  root: string,
  opts: { train: number; test: number } & SyntheticCifarOptions,
): SyntheticCifarFiles {
  checkCount('train', opts.train);
  checkCount('test', opts.test);
  const seed = opts.seed ?? 0;
  const dir = join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const train = syntheticCifar10Records(opts.train, { seed, stream: 0, noise: opts.noise });
  const test = syntheticCifar10Records(opts.test, { seed, stream: 1, noise: opts.noise });
  const files: { file: string; records: number }[] = [];
  let start = 0;
  for (let b = 0; b < 5; b++) {
    const end = Math.round(((b + 1) * opts.train) / 5);
    const file = join(dir, `data_batch_${b + 1}.bin`);
    writeFileSync(file, train.subarray(start * RECORD, end * RECORD));
    files.push({ file, records: end - start });
    start = end;
  }
  const testFile = join(dir, 'test_batch.bin');
  writeFileSync(testFile, test);
  files.push({ file: testFile, records: opts.test });
  writeFileSync(join(dir, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n') + '\n');
  return { root, files };
}
