/** Helpers to carve subsets out of an in-memory image dataset (e.g. a held-out validation split). */
import type { ImageDataset } from './cifar.ts';
import { Rng } from './rng.ts';

/** A new dataset holding the images/labels at `indices` (in that order); pixels are copied. */
export function subsetDataset(ds: ImageDataset, indices: ArrayLike<number>, split = `${ds.split}-subset`): ImageDataset {
  const per = ds.height * ds.width * ds.channels;
  const images = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new RangeError(`subsetDataset: index ${i} (position ${k}) is outside 0..${ds.n - 1}`);
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i] as number;
  }
  const { sources: _s, missing: _m, ...rest } = ds;
  return { ...rest, split, images, labels, n: indices.length };
}

/**
 * Stratified split: from every class c, round(fraction · n_c) indices (chosen with Rng(seed)) go to `held`,
 * the rest to `kept`. Both lists ascending.
 */
export function stratifiedSplit(labels: Int32Array, numClasses: number, fraction: number, seed: number): { kept: Int32Array; held: Int32Array } {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`stratifiedSplit: fraction must be in [0, 1], got ${fraction}`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((l, i) => {
    if (l < 0 || l >= numClasses) throw new RangeError(`stratifiedSplit: labels[${i}] = ${l} is outside 0..${numClasses - 1}`);
    (byClass[l] as number[]).push(i);
  });
  const rng = new Rng(seed);
  const heldMask = new Uint8Array(labels.length);
  for (const idx of byClass) {
    rng.shuffle(idx);
    const k = Math.round(fraction * idx.length);
    for (let j = 0; j < k; j++) heldMask[idx[j] as number] = 1;
  }
  const kept: number[] = [], held: number[] = [];
  heldMask.forEach((h, i) => (h ? held : kept).push(i));
  return { kept: Int32Array.from(kept), held: Int32Array.from(held) };
}

/** Per-channel mean and (population) standard deviation of the pixels, in [0,1] units. */
export function channelStats(ds: ImageDataset): { mean: number[]; std: number[] } {
  const c = ds.channels;
  const sum = new Float64Array(c), sq = new Float64Array(c);
  for (let i = 0; i < ds.images.length; i++) {
    const v = (ds.images[i] as number) / 255;
    const k = i % c;
    sum[k] = (sum[k] as number) + v;
    sq[k] = (sq[k] as number) + v * v;
  }
  const n = ds.images.length / c;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(0, s / n - (mean[k] as number) ** 2)));
  return { mean, std };
}
