/**
 * Synthetic label noise for robustness experiments (as in the SAM paper's noisy-label CIFAR runs,
 * Foret et al. 2021 §3.3, following the standard setup of e.g. Jiang et al. 2020 / Han et al. 2018).
 *
 * - symmetric: a sample chosen for corruption gets a label drawn uniformly from the K-1 OTHER classes.
 * - pairflip: class c → (c + 1) mod K.
 *
 * Exactly round(rate · n_c) samples of every class c are corrupted (chosen uniformly without replacement),
 * so the realised rate equals `rate` up to rounding and is balanced across classes. The mask depends only
 * on (labels, numClasses, rate, kind, seed).
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { DataFormatError } from './errors.ts';
import { Rng } from './rng.ts';

/** Kind of synthetic label noise. */
export type LabelNoiseKind = 'symmetric' | 'pairflip';

/** Result of `labelNoise`. */
export interface LabelNoiseResult {
  /** noisy labels (a new array) */
  labels: Int32Array;
  /** 1 where the label was changed */
  flipped: Uint8Array;
  /** fraction of samples whose label was changed */
  realisedRate: number;
}

/**
 * Corrupts labels (see module doc). `rate` ∈ [0, 1); for symmetric noise K ≥ 2, for pairflip K ≥ 2.
 * Randomness: one Rng(seed); classes processed in order 0..K-1: shuffle that class's index list, flip the
 * first round(rate·n_c); then new labels are drawn in index order (symmetric: r = int(K-1), label = r < c ? r : r+1).
 */
export function labelNoise(
  labels: Int32Array,
  numClasses: number,
  o: { rate: number; kind: LabelNoiseKind; seed: number },
): LabelNoiseResult {
  const { rate, kind, seed } = o;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`labelNoise: numClasses must be an integer ≥ 2, got ${numClasses}`);
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`labelNoise: rate must be in [0, 1), got ${rate} (e.g. 0.2 ... 0.8)`);
  if (kind !== 'symmetric' && kind !== 'pairflip') throw new RangeError(`labelNoise: kind must be 'symmetric' or 'pairflip', got ${JSON.stringify(kind)}`);
  const n = labels.length;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    const l = labels[i] as number;
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) throw new RangeError(`labelNoise: labels[${i}] = ${l} is outside 0..${numClasses - 1}`);
    (byClass[l] as number[]).push(i);
  }
  const rng = new Rng(seed);
  const flipped = new Uint8Array(n);
  for (const idx of byClass) {
    rng.shuffle(idx);
    const k = Math.round(rate * idx.length);
    for (let j = 0; j < k; j++) flipped[idx[j] as number] = 1;
  }
  const out = labels.slice();
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!flipped[i]) continue;
    const c = labels[i] as number;
    if (kind === 'pairflip') out[i] = (c + 1) % numClasses;
    else {
      const r = rng.int(numClasses - 1);
      out[i] = r < c ? r : r + 1;
    }
    count++;
  }
  return { labels: out, flipped, realisedRate: n === 0 ? 0 : count / n };
}

/** What `saveLabelNoise` writes (JSON): enough to re-create and to verify the noisy labels of a run. */
export interface LabelNoiseFile {
  format: 'asam-label-noise/1';
  kind: LabelNoiseKind;
  rate: number;
  seed: number;
  numClasses: number;
  n: number;
  realisedRate: number;
  /** indices whose label changed, ascending */
  flippedIndices: number[];
  /** new label of each flipped index (same order) */
  newLabels: number[];
}

/** Writes the noise mask beside a run, atomically (temp file + rename). */
export async function saveLabelNoise(
  path: string,
  noise: LabelNoiseResult,
  meta: { kind: LabelNoiseKind; rate: number; seed: number; numClasses: number },
): Promise<void> {
  const flippedIndices: number[] = [];
  const newLabels: number[] = [];
  for (let i = 0; i < noise.flipped.length; i++) {
    if (noise.flipped[i]) {
      flippedIndices.push(i);
      newLabels.push(noise.labels[i] as number);
    }
  }
  const file: LabelNoiseFile = {
    format: 'asam-label-noise/1',
    ...meta,
    n: noise.labels.length,
    realisedRate: noise.realisedRate,
    flippedIndices,
    newLabels,
  };
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(file));
  await rename(tmp, path);
}

/**
 * Reads a file written by `saveLabelNoise` and applies it to `cleanLabels` (length must equal the saved n).
 * Returns the same shape as `labelNoise`.
 */
export async function loadLabelNoise(path: string, cleanLabels: Int32Array): Promise<LabelNoiseResult & { meta: LabelNoiseFile }> {
  if (!existsSync(path)) throw new DataFormatError(path, 'label-noise file does not exist');
  let f: LabelNoiseFile;
  try {
    f = JSON.parse(await readFile(path, 'utf8')) as LabelNoiseFile;
  } catch (e) {
    throw new DataFormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (f.format !== 'asam-label-noise/1') throw new DataFormatError(path, `format is ${JSON.stringify(f.format)}, expected 'asam-label-noise/1'`);
  if (f.n !== cleanLabels.length) throw new DataFormatError(path, `was made for n=${f.n} labels, but ${cleanLabels.length} were given (different dataset or limit?)`);
  if (!Array.isArray(f.flippedIndices) || !Array.isArray(f.newLabels) || f.flippedIndices.length !== f.newLabels.length) {
    throw new DataFormatError(path, 'flippedIndices and newLabels must be arrays of equal length');
  }
  const labels = cleanLabels.slice();
  const flipped = new Uint8Array(cleanLabels.length);
  f.flippedIndices.forEach((i, k) => {
    const l = f.newLabels[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= f.n) throw new DataFormatError(path, `flippedIndices[${k}] = ${i} is outside 0..${f.n - 1}`);
    if (!Number.isInteger(l) || l < 0 || l >= f.numClasses) throw new DataFormatError(path, `newLabels[${k}] = ${l} is outside 0..${f.numClasses - 1}`);
    labels[i] = l;
    flipped[i] = 1;
  });
  return { labels, flipped, realisedRate: f.flippedIndices.length / Math.max(1, f.n), meta: f };
}
