/**
 * Per-image transforms on HWC uint8 images, writing normalised float32 into a batch buffer.
 *
 * Normalisation: v = (p / 255 - mean_c) / std_c (torchvision ToTensor + Normalize), done through a
 * 256-entry lookup table per channel.
 *
 * CIFAR augmentation (He et al. 2016; the standard recipe of torchvision `RandomCrop(32, padding=4)` then
 * `RandomHorizontalFlip()`): zero-pad by `pad` pixels (pad value 0 *before* normalisation, so it becomes
 * -mean/std), take a random HxW crop at (top, left) ∈ [0, 2·pad]², flip left-right with probability ½.
 * Cutout (DeVries & Taylor 2017, arXiv 1708.04552): a square of side `L` centred at a uniform pixel
 * (cy, cx), clipped to the image, set to 0 *after* normalisation:
 * rows [max(0, cy - ⌊L/2⌋), min(H, cy + ⌊L/2⌋)), same for columns.
 */
import type { Rng } from './rng.ts';

/** Random choices for one image; drawn by `sampleCifarAugment` in the order top, left, flip, cy, cx. */
export interface AugmentParams {
  top: number;
  left: number;
  flip: boolean;
  /** cutout centre (only when cutout > 0) */
  cy: number;
  cx: number;
}

/** Builds the per-channel lookup table LUT[c*256 + p] = (p/255 - mean[c]) / std[c]. */
export function normalizationTable(mean: readonly number[], std: readonly number[], channels: number): Float32Array {
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`normalisation: mean and std need ${channels} entries (one per channel), got mean ${JSON.stringify(mean)}, std ${JSON.stringify(std)}`);
  }
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const m = mean[c] as number;
    const s = std[c] as number;
    if (!(s > 0) || !Number.isFinite(m)) throw new RangeError(`normalisation: channel ${c} needs finite mean and std > 0, got mean ${m}, std ${s}`);
    for (let p = 0; p < 256; p++) lut[c * 256 + p] = (p / 255 - m) / s;
  }
  return lut;
}

/** Draws the augmentation parameters of one image (order: top, left, flip, then cy, cx if cutout > 0). */
export function sampleCifarAugment(rng: Rng, h: number, w: number, pad: number, cutout: number): AugmentParams {
  const top = rng.int(2 * pad + 1);
  const left = rng.int(2 * pad + 1);
  const flip = rng.next() < 0.5;
  let cy = 0;
  let cx = 0;
  if (cutout > 0) {
    cy = rng.int(h);
    cx = rng.int(w);
  }
  return { top, left, flip, cy, cx };
}

/**
 * Writes image `src[srcOff ..]` (HWC uint8, h×w×c) normalised into `out[outOff ..]` (HWC float32), applying
 * pad+crop+flip (+cutout) when `params` is given, else a plain normalisation.
 * out(y, x) = padded(y + top, (flip ? w-1-x : x) + left), with padded(i, j) = src(i - pad, j - pad) or 0.
 */
export function transformInto(
  src: Uint8Array,
  srcOff: number,
  h: number,
  w: number,
  c: number,
  out: Float32Array,
  outOff: number,
  lut: Float32Array,
  params: AugmentParams | null,
  pad: number,
  cutout: number,
): void {
  if (params === null) {
    const n = h * w;
    for (let p = 0; p < n; p++) {
      for (let k = 0; k < c; k++) out[outOff + p * c + k] = lut[k * 256 + (src[srcOff + p * c + k] as number)] as number;
    }
    return;
  }
  const { top, left, flip } = params;
  for (let y = 0; y < h; y++) {
    const sy = y + top - pad;
    const rowOut = outOff + y * w * c;
    if (sy < 0 || sy >= h) {
      for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[rowOut + x * c + k] = lut[k * 256] as number;
      continue;
    }
    const rowSrc = srcOff + sy * w * c;
    for (let x = 0; x < w; x++) {
      const sx = (flip ? w - 1 - x : x) + left - pad;
      const o = rowOut + x * c;
      if (sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) out[o + k] = lut[k * 256] as number;
      } else {
        const s = rowSrc + sx * c;
        for (let k = 0; k < c; k++) out[o + k] = lut[k * 256 + (src[s + k] as number)] as number;
      }
    }
  }
  if (cutout > 0) {
    const half = Math.floor(cutout / 2);
    const y1 = Math.max(0, params.cy - half);
    const y2 = Math.min(h, params.cy + half);
    const x1 = Math.max(0, params.cx - half);
    const x2 = Math.min(w, params.cx + half);
    for (let y = y1; y < y2; y++) out.fill(0, outOff + (y * w + x1) * c, outOff + (y * w + x2) * c);
  }
}
