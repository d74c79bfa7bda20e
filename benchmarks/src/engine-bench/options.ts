/** Command-line options of `bench:engine` (strict: unknown flags and bad values are refused). */
import { BACKEND_NAMES, type BackendName } from '@asam/engine';
import { parseFlags, type FlagSpec } from '../args.ts';

/** Resolved options of one `bench:engine` run. */
export interface EngineBenchOptions {
  /** Timed steps per step kind (after one warm-up step) on the fast backends. */
  steps: number;
  /** ResNet-20 batch (images) on the fast backends; also the global batch of the data-parallel figure. */
  batch: number;
  /** Transformer batch (sentence pairs) on the fast backends. */
  tfmBatch: number;
  /** Source / target length of the Transformer batch (rows are right-padded by 0–2 tokens). */
  seq: number;
  /** ResNet-20 batch on the slow `cpu` backend. */
  cpuBatch: number;
  /** Transformer batch on the `cpu` backend. */
  cpuTfmBatch: number;
  /** Timed steps per kind on the `cpu` backend. */
  cpuSteps: number;
  /** Backends to measure; undefined = every backend that loads, plus wasm and cpu. */
  backends: BackendName[] | undefined;
  /** Run the PyTorch peer (scripts/torch_bench.py) when a python3 with torch is found. */
  torch: boolean;
  /** Measure the worker_threads data-parallel trainer (1 vs 2 wasm workers). */
  dataParallel: boolean;
  /** Results file; undefined = the default location (see `defaultOutPath`). */
  out: string | undefined;
  /** A short verification run (`--quick`): its figures are not measurements. */
  quick: boolean;
}

/** The flags of `bench:engine`. */
export const ENGINE_BENCH_FLAGS: FlagSpec[] = [
  { name: 'steps', value: true, help: 'timed rounds (each runs every step kind once, in turn) after 1 warm-up round (default 5; --quick: 1)' },
  { name: 'batch', value: true, help: 'ResNet-20 batch, also the data-parallel global batch (default 128; --quick: 8)' },
  { name: 'tfm-batch', value: true, help: 'Transformer batch in sentence pairs (default 32; --quick: 2)' },
  { name: 'seq', value: true, help: 'Transformer source/target length, >= 4 (default 32; --quick: 8)' },
  { name: 'cpu-batch', value: true, help: 'ResNet-20 batch on the cpu backend (default 8)' },
  { name: 'cpu-tfm-batch', value: true, help: 'Transformer batch on the cpu backend (default 2)' },
  { name: 'cpu-steps', value: true, help: 'timed steps per kind on the cpu backend (default 1)' },
  { name: 'backends', value: true, help: `comma-separated subset of ${BACKEND_NAMES.join(', ')} (default: every backend that loads, plus wasm and cpu; --quick: wasm)` },
  { name: 'no-torch', value: false, help: 'skip the PyTorch peer (--quick implies it)' },
  { name: 'no-data-parallel', value: false, help: 'skip the 1- vs 2-worker data-parallel figure' },
  { name: 'out', value: true, help: 'results JSON path (default benchmarks/results/engine/engine-<time>.json; --quick: the OS temp folder)' },
  { name: 'quick', value: false, help: 'short verification run: batch 8, Transformer 2x8, 1 step, wasm only, no torch (figures are not measurements)' },
  { name: 'help', value: false, help: 'this text' },
];

function int(flag: string, v: string | true | undefined, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < min) {
    throw new Error(`--${flag} = "${String(v)}" is invalid: expected an integer >= ${min}.`);
  }
  return n;
}

/**
 * Parses `argv` into options. `--quick` changes the defaults only; flags given explicitly win
 * (`--quick --backends wasm,cpu` measures both). Returns null for `--help`.
 */
export function parseEngineBenchArgs(argv: string[]): EngineBenchOptions | null {
  const f = parseFlags(argv, ENGINE_BENCH_FLAGS);
  if (f.help) return null;
  const quick = f.quick === true;
  let backends: BackendName[] | undefined;
  if (f.backends !== undefined) {
    const names = String(f.backends).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (names.length === 0) throw new Error(`--backends = "${String(f.backends)}" names no backend; valid: ${BACKEND_NAMES.join(', ')}.`);
    for (const b of names) {
      if (!(BACKEND_NAMES as readonly string[]).includes(b)) throw new Error(`--backends: unknown backend "${b}"; valid: ${BACKEND_NAMES.join(', ')}.`);
    }
    backends = [...new Set(names)] as BackendName[];
  } else if (quick) {
    backends = ['wasm'];
  }
  const batch = int('batch', f.batch, 1, quick ? 8 : 128);
  const dataParallel = f['no-data-parallel'] !== true;
  if (dataParallel && batch % 2 !== 0) {
    throw new Error(`--batch = ${batch} cannot be split over 2 data-parallel workers; use an even batch or --no-data-parallel.`);
  }
  return {
    steps: int('steps', f.steps, 1, quick ? 1 : 5),
    batch,
    tfmBatch: int('tfm-batch', f['tfm-batch'], 1, quick ? 2 : 32),
    seq: int('seq', f.seq, 4, quick ? 8 : 32),
    cpuBatch: int('cpu-batch', f['cpu-batch'], 1, 8),
    cpuTfmBatch: int('cpu-tfm-batch', f['cpu-tfm-batch'], 1, 2),
    cpuSteps: int('cpu-steps', f['cpu-steps'], 1, 1),
    backends,
    torch: !(quick || f['no-torch'] === true),
    dataParallel,
    out: f.out === undefined ? undefined : String(f.out),
    quick,
  };
}
