/**
 * Mini-batches of normalised float32 NHWC tensors from an in-memory `ImageDataset`, with optional CIFAR
 * augmentation, reproducible from (seed, epoch) alone and with a bounded prefetch queue.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizationTable, sampleCifarAugment, transformInto } from './augment.ts';
import type { ImageDataset } from './cifar.ts';
import { Rng } from './rng.ts';

/** One batch. The caller owns (and must dispose) `x` and `y`. */
export interface ImageBatch {
  /** [size, H, W, C] float32, normalised (and augmented if requested). */
  x: tf.Tensor4D;
  /** [size] int32 labels. */
  y: tf.Tensor1D;
  size: number;
  /** dataset indices of the batch rows (e.g. to look up which samples carry noisy labels). */
  indices: Int32Array;
  /** step number within the epoch (0-based). */
  step: number;
}

/** Batch contents as plain arrays (what `prepare` computes before tensors are made). */
export interface PreparedBatch {
  x: Float32Array;
  y: Int32Array;
  size: number;
  indices: Int32Array;
  step: number;
}

/** Options of `ImageBatcher`. */
export interface ImageBatcherOptions {
  batchSize: number;
  /** reshuffle every epoch with Rng.derive(seed, epoch) */
  shuffle: boolean;
  seed: number;
  /** 'cifar': pad 4 + random crop + horizontal flip (training); 'none' (default): normalise only. */
  augment?: 'cifar' | 'none';
  /** zero padding of the random crop (default 4) */
  pad?: number;
  /** cutout side length in pixels (0 = off, default); needs augment 'cifar' */
  cutout?: number;
  /** per-channel mean and std in [0,1] units */
  mean: number[];
  std: number[];
  /** drop a final incomplete batch (default false) */
  dropLast?: boolean;
  /** how many batches to prepare ahead (default 2; 0 = prepare on demand) */
  prefetch?: number;
  /** labels to use instead of ds.labels (e.g. noisy labels); length ds.n */
  labels?: Int32Array;
}

/**
 * Produces batches for one epoch at a time.
 *
 * Determinism: the order of epoch e is `Rng.derive(seed, e).permutation(n)` (identity when shuffle is off) and
 * the augmentation of step t uses `Rng.derive(seed, e, t, 1)`, drawing per image in batch order. So a batch
 * depends only on (seed, epoch, step): runs resume mid-epoch (`startStep`) with identical batches, and
 * prefetch depth does not change results.
 *
 * Prefetch: up to `prefetch` future batches are prepared (as Float32Arrays, never tensors) in
 * `setImmediate` tasks, which run whenever the consumer yields to the event loop (e.g. while it awaits
 * `tensor.data()` or file I/O). Tensors are created only when a batch is handed out, so abandoning an
 * epoch early leaks no tensors.
 */
export class ImageBatcher {
  private readonly ds: ImageDataset;
  private readonly o: Required<Omit<ImageBatcherOptions, 'labels'>>;
  private readonly labels: Int32Array;
  private readonly lut: Float32Array;

  constructor(ds: ImageDataset, o: ImageBatcherOptions) {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`ImageBatcher: batchSize must be a positive integer, got ${o.batchSize}`);
    const augment = o.augment ?? 'none';
    if (augment !== 'cifar' && augment !== 'none') throw new RangeError(`ImageBatcher: augment must be 'cifar' or 'none', got ${JSON.stringify(augment)}`);
    const cutout = o.cutout ?? 0;
    if (!Number.isInteger(cutout) || cutout < 0) throw new RangeError(`ImageBatcher: cutout must be a non-negative integer (pixels), got ${cutout}`);
    if (cutout > 0 && augment !== 'cifar') throw new RangeError(`ImageBatcher: cutout=${cutout} needs augment: 'cifar'`);
    const pad = o.pad ?? 4;
    if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`ImageBatcher: pad must be a non-negative integer, got ${pad}`);
    const prefetch = o.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`ImageBatcher: prefetch must be a non-negative integer, got ${prefetch}`);
    if (o.labels && o.labels.length !== ds.n) throw new RangeError(`ImageBatcher: labels override has length ${o.labels.length}, dataset ${ds.name}/${ds.split} has n=${ds.n}`);
    if (ds.images.length !== ds.n * ds.height * ds.width * ds.channels) {
      throw new RangeError(`ImageBatcher: dataset ${ds.name}/${ds.split} images has ${ds.images.length} bytes, expected n*H*W*C = ${ds.n * ds.height * ds.width * ds.channels}`);
    }
    this.ds = ds;
    this.labels = o.labels ?? ds.labels;
    this.lut = normalizationTable(o.mean, o.std, ds.channels);
    this.o = { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, augment, pad, cutout, mean: o.mean, std: o.std, dropLast: o.dropLast ?? false, prefetch };
    new Rng(o.seed); // validates the seed
  }

  /** Number of batches per epoch: ⌊n/B⌋ with dropLast, else ⌈n/B⌉. */
  stepsPerEpoch(): number {
    const { n } = this.ds;
    const b = this.o.batchSize;
    return this.o.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** Sample order of an epoch (a permutation of 0..n-1, identity without shuffle). */
  order(epoch: number): Int32Array {
    if (!this.o.shuffle) {
      const p = new Int32Array(this.ds.n);
      for (let i = 0; i < p.length; i++) p[i] = i;
      return p;
    }
    return Rng.derive(this.o.seed, epoch).permutation(this.ds.n);
  }

  /** Computes batch `step` of `epoch` synchronously as plain arrays (`order` may be passed to skip recomputing it). */
  prepare(epoch: number, step: number, order: Int32Array = this.order(epoch)): PreparedBatch {
    const steps = this.stepsPerEpoch();
    if (!Number.isInteger(step) || step < 0 || step >= steps) throw new RangeError(`ImageBatcher.prepare: step must be in [0, ${steps - 1}], got ${step}`);
    const { batchSize, augment, pad, cutout } = this.o;
    const { height: h, width: w, channels: c, images } = this.ds;
    const start = step * batchSize;
    const size = Math.min(batchSize, this.ds.n - start);
    const per = h * w * c;
    const x = new Float32Array(size * per);
    const y = new Int32Array(size);
    const indices = order.slice(start, start + size);
    const rng = augment === 'cifar' ? Rng.derive(this.o.seed, epoch, step, 1) : null;
    for (let i = 0; i < size; i++) {
      const idx = indices[i] as number;
      y[i] = this.labels[idx] as number;
      const params = rng ? sampleCifarAugment(rng, h, w, pad, cutout) : null;
      transformInto(images, idx * per, h, w, c, x, i * per, this.lut, params, pad, cutout);
    }
    return { x, y, size, indices, step };
  }

  /**
   * Batches of one epoch, from `startStep` (default 0). Deterministic given (seed, epoch). The caller disposes
   * `x` and `y` of every batch it receives.
   */
  epoch(epoch: number, opts: { startStep?: number } = {}): AsyncIterable<ImageBatch> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`ImageBatcher.epoch: epoch must be a non-negative integer, got ${epoch}`);
    const steps = this.stepsPerEpoch();
    const startStep = opts.startStep ?? 0;
    if (!Number.isInteger(startStep) || startStep < 0 || startStep > steps) throw new RangeError(`ImageBatcher.epoch: startStep must be in [0, ${steps}], got ${startStep}`);
    const { prefetch } = this.o;
    const { height: h, width: w, channels: c } = this.ds;
    const self = this;
    return {
      [Symbol.asyncIterator]: async function* () {
        const order = self.order(epoch);
        const queue: Promise<PreparedBatch>[] = [];
        let scheduled = startStep;
        const schedule = (): void => {
          while (queue.length < Math.max(1, prefetch) && scheduled < steps) {
            const s = scheduled++;
            queue.push(
              prefetch === 0
                ? Promise.resolve().then(() => self.prepare(epoch, s, order))
                : new Promise<PreparedBatch>((res, rej) => setImmediate(() => { try { res(self.prepare(epoch, s, order)); } catch (e) { rej(e as Error); } })),
            );
          }
        };
        schedule();
        try {
          while (queue.length > 0) {
            const b = await (queue.shift() as Promise<PreparedBatch>);
            schedule(); // keep `prefetch` batches in flight while the consumer works on this one
            const x = tf.tensor4d(b.x, [b.size, h, w, c], 'float32');
            const y = tf.tensor1d(b.y, 'int32');
            yield { x, y, size: b.size, indices: b.indices, step: b.step };
          }
        } finally {
          // the consumer stopped early: pending batches are plain arrays; just silence their outcome
          for (const p of queue) p.catch(() => undefined);
        }
      },
    };
  }
}
