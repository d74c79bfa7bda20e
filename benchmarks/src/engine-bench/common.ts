/** Types and small helpers shared by the `bench:engine` modules (no tfjs imports). */

/** The step kinds, in the order they are run. */
export const KINDS = ['forward', 'sgd', 'sam', 'asam'] as const;
export type Kind = (typeof KINDS)[number];

/** Median and raw samples of one step kind (milliseconds). */
export interface Timing { medianMs: number; samplesMs: number[] }

/** Timings of one workload on one backend. */
export interface WorkloadResult {
  /** Images (ResNet-20) or sentence pairs (Transformer) per step. */
  batch: number;
  /** Units per step: images, or non-padding target tokens. */
  unitsPerStep: number;
  unit: 'img' | 'tok';
  steps: Record<Kind, Timing>;
  tensorsAfterEachStep: number[];
  rssMiBAfterEachStep: number[];
  /** Per step kind: tensor count and RSS change from the end of the warm-up to the last step. */
  growthAfterWarmup: Record<Kind, { tensors: number; rssMiB: number }>;
}

/** Throughput of the data-parallel trainer for one worker count. */
export interface DataParallelTiming {
  medianMs: number; imgPerSec: number; samplesMs: number[];
  /** Whether the workers ran the native kernel tier (absent in results from before the tier existed). */
  native?: boolean;
}

/** Median of a non-empty list (lower middle element for even lengths). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/**
 * Non-padding target tokens of `randomPairs(b, seq)`: row i has seq − (i mod 3) tokens. The PyTorch
 * peer pads its rows the same way, so both sides count the same tokens.
 */
export function tokensFor(b: number, seq: number): number {
  let n = 0;
  for (let i = 0; i < b; i++) n += seq - (i % 3);
  return n;
}
