/**
 * `bench:engine` — training throughput of every tfjs backend that loads, against PyTorch on CPU.
 *
 * Workloads (see workloads.ts): ResNet-20 from @asam/vision's registry and @asam/nmt's Transformer
 * (`transformer_small`, V = 8000); step kinds forward / SGD / SAM / ASAM (SGD, SAM and ASAM through
 * @asam/core's `sharpnessAware`, as the trainers run them); @asam/train's worker_threads data-parallel
 * trainer with 1 and 2 wasm workers; the same workloads in PyTorch (scripts/torch_bench.py,
 * via a python3 that imports torch) with 2 threads and 1 thread.
 *
 * Usage: pnpm bench:engine [--steps 5] [--batch 128] [--tfm-batch 32] [--seq 32] [--cpu-batch 8]
 *        [--cpu-tfm-batch 2] [--cpu-steps 1] [--backends wasm,cpu] [--no-torch] [--no-data-parallel]
 *        [--out file.json] [--quick] [--help]
 * Prints a markdown table (progress goes to stderr); full results go to
 * benchmarks/runs/engine/engine-<time>.json, ignored by git (`--quick`: the OS temp folder; a run to publish
 * takes `--out benchmarks/results/engine/<name>.json`); the last stdout
 * line is one JSON summary. A bad flag is one line on stderr and exit code 2; the flags are read
 * before tfjs is loaded (bench-run.ts holds the run).
 */
import { runCli } from '@asam/cli';
import { parseEngineBenchArgs } from './options.ts';

void runCli(async () => {
  const args = parseEngineBenchArgs(process.argv.slice(2));
  const { runEngineBench } = await import('./bench-run.ts');
  await runEngineBench(args);
});
