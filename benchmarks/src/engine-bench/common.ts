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
export interface DataParallelTiming { medianMs: number; imgPerSec: number; samplesMs: number[] }

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

/**
 * `--name value` readers over process.argv for the small engine scripts (profile:engine, soak:engine);
 * errors name the tool and the flag.
 */
export function argvFlags(tool: string, argv: string[] = process.argv) {
  const flag = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${tool}: --${name} needs a value.`);
    return v;
  };
  const intFlag = (name: string, fallback: number): number => {
    const raw = flag(name, String(fallback));
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${tool}: --${name} must be a positive integer, got '${raw}'.`);
    return v;
  };
  return { flag, intFlag, has: (name: string): boolean => argv.includes(`--${name}`) };
}
