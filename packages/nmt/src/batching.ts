/**
 * Token-count batching for translation, as fairseq's `batch_by_size`: sentences are shuffled, stably sorted by
 * (source length, target length) so that a batch holds similar lengths (little padding), cut greedily into batches
 * whose padded size `rows x max(longest source, longest target)` stays within `maxTokens`, and the batch order is
 * shuffled. Everything random comes from `Rng.derive(seed, epoch)`, so an epoch's batches can be regenerated
 * exactly (for resume) without replaying earlier epochs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@asam/data';

/** One tokenized sentence pair: source ids (ending in EOS) and target ids (ending in EOS, no BOS). */
export interface TokenizedPair {
  src: Int32Array;
  tgt: Int32Array;
}

/** Options of {@link planBatches}. */
export interface BatchPlanOptions {
  /** Upper bound on rows x padded length of a batch (fairseq `--max-tokens`). */
  maxTokens: number;
  /** Optional cap on sentences per batch (fairseq `--batch-size`). */
  maxSentences?: number;
  /** Shuffle sentences and batch order (training); false keeps a deterministic length-sorted order (evaluation). */
  shuffle: boolean;
  seed: number;
  epoch: number;
}

/** Cost of one pair in a batch: its longer side, the padded width it forces. */
function pairLen(p: TokenizedPair): number {
  return Math.max(p.src.length, p.tgt.length);
}

/**
 * Groups pair indices into batches. Returns a list of index lists; every index appears exactly once. Throws if a
 * single pair is longer than `maxTokens` (filter long sentences first, e.g. with `maxLen`).
 */
export function planBatches(pairs: readonly TokenizedPair[], o: BatchPlanOptions): number[][] {
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) {
    throw new Error(`planBatches: maxTokens = ${o.maxTokens} is invalid; expected an integer >= 1 (e.g. 4096).`);
  }
  if (o.maxSentences !== undefined && (!Number.isInteger(o.maxSentences) || o.maxSentences < 1)) {
    throw new Error(`planBatches: maxSentences = ${o.maxSentences} is invalid; expected an integer >= 1 or undefined.`);
  }
  const n = pairs.length;
  const rng = Rng.derive(o.seed, o.epoch);
  const order = o.shuffle ? Array.from(rng.permutation(n)) : Array.from({ length: n }, (_, i) => i);
  // Array.prototype.sort is stable: ties keep the shuffled order.
  order.sort((a, b) => pairs[a]!.src.length - pairs[b]!.src.length || pairs[a]!.tgt.length - pairs[b]!.tgt.length);
  const batches: number[][] = [];
  let cur: number[] = [];
  let curMax = 0;
  for (const i of order) {
    const len = pairLen(pairs[i]!);
    if (len > o.maxTokens) {
      throw new Error(
        `planBatches: sentence pair ${i} has ${len} tokens, more than maxTokens = ${o.maxTokens}; raise maxTokens or lower maxLen.`,
      );
    }
    const newMax = Math.max(curMax, len);
    const full = newMax * (cur.length + 1) > o.maxTokens || (o.maxSentences !== undefined && cur.length >= o.maxSentences);
    if (cur.length > 0 && full) {
      batches.push(cur);
      cur = [];
      curMax = 0;
    }
    cur.push(i);
    curMax = Math.max(curMax, len);
  }
  if (cur.length > 0) batches.push(cur);
  if (o.shuffle) rng.shuffle(batches);
  return batches;
}

/** A padded batch as tensors (caller disposes `src`, `prevTokens`, `target`). */
export interface TranslationBatch {
  /** int32 [rows, srcLen], right-padded. */
  src: tf.Tensor2D;
  /** int32 [rows, tgtLen]: BOS followed by the target without its final EOS (teacher forcing input). */
  prevTokens: tf.Tensor2D;
  /** int32 [rows * tgtLen]: the target (ending in EOS), right-padded, flattened row-major. */
  target: tf.Tensor1D;
  rows: number;
  /** Non-pad target tokens. */
  targetTokens: number;
  /** Non-pad source tokens. */
  sourceTokens: number;
}

/** Host-side padded arrays of a batch (no tensors). */
export interface PaddedBatch {
  src: Int32Array;
  prevTokens: Int32Array;
  target: Int32Array;
  rows: number;
  srcLen: number;
  tgtLen: number;
  targetTokens: number;
  sourceTokens: number;
}

/** Pads the pairs `indices` of `pairs` into flat row-major arrays. */
export function padBatch(pairs: readonly TokenizedPair[], indices: readonly number[], ids: { pad: number; bos: number }): PaddedBatch {
  if (indices.length === 0) throw new Error('padBatch: empty batch (indices is empty).');
  const rows = indices.length;
  const sel = indices.map((i) => {
    const p = pairs[i];
    if (!p) throw new Error(`padBatch: index ${i} is outside the ${pairs.length} pairs.`);
    return p;
  });
  const srcLen = Math.max(...sel.map((p) => p.src.length));
  const tgtLen = Math.max(...sel.map((p) => p.tgt.length));
  const src = new Int32Array(rows * srcLen).fill(ids.pad);
  const prevTokens = new Int32Array(rows * tgtLen).fill(ids.pad);
  const target = new Int32Array(rows * tgtLen).fill(ids.pad);
  let targetTokens = 0;
  let sourceTokens = 0;
  sel.forEach((p, r) => {
    src.set(p.src, r * srcLen);
    target.set(p.tgt, r * tgtLen);
    prevTokens[r * tgtLen] = ids.bos;
    prevTokens.set(p.tgt.subarray(0, p.tgt.length - 1), r * tgtLen + 1);
    targetTokens += p.tgt.length;
    sourceTokens += p.src.length;
  });
  return { src, prevTokens, target, rows, srcLen, tgtLen, targetTokens, sourceTokens };
}

/** Pads a batch and uploads it as int32 tensors. */
export function collate(pairs: readonly TokenizedPair[], indices: readonly number[], ids: { pad: number; bos: number }): TranslationBatch {
  const b = padBatch(pairs, indices, ids);
  return {
    src: tf.tensor2d(b.src, [b.rows, b.srcLen], 'int32'),
    prevTokens: tf.tensor2d(b.prevTokens, [b.rows, b.tgtLen], 'int32'),
    target: tf.tensor1d(b.target, 'int32'),
    rows: b.rows,
    targetTokens: b.targetTokens,
    sourceTokens: b.sourceTokens,
  };
}
