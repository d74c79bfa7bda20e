/**
 * `bench:engine` — training throughput of every tfjs backend that loads, against PyTorch on CPU.
 *
 * Workloads (see workloads.ts): ResNet-20 from @asam/vision's registry and @asam/nmt's Transformer
 * (`transformer_small`, V = 8000); step kinds forward / SGD / SAM / ASAM (SGD, SAM and ASAM through
 * @asam/core's `sharpnessAware`, as the trainers run them); the worker_threads data-parallel trainer
 * of @asam/engine with 1 and 2 wasm workers; the same workloads in PyTorch (scripts/torch_bench.py,
 * via a python3 that imports torch) with 2 threads and 1 thread.
 *
 * Usage: pnpm bench:engine [--steps 5] [--batch 128] [--tfm-batch 32] [--seq 32] [--cpu-batch 8]
 *        [--cpu-tfm-batch 2] [--cpu-steps 1] [--backends wasm,cpu] [--no-torch] [--no-data-parallel]
 *        [--out file.json] [--quick] [--help]
 * Prints a markdown table (progress goes to stderr); full results go to
 * benchmarks/results/engine/engine-<time>.json (`--quick`: the OS temp folder); the last stdout
 * line is one JSON summary.
 */
import { initEngine, type BackendName, type EngineInfo } from '@asam/engine';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { helpText, PACKAGE_ROOT } from '../args.ts';
import { ENGINE_BENCH_FLAGS, parseEngineBenchArgs } from './options.ts';
import { formatTable, summarize, type BackendResult, type TorchResult } from './report.ts';
import { benchDataParallel, benchResNet, benchTransformer } from './workloads.ts';

/** A python3 that can import torch (Debian's python3-torch lives under /usr/bin/python3). */
function findTorchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** Runs the PyTorch peer; its last stdout line is one JSON object. */
function runTorch(py: string, cfg: Record<string, number>): TorchResult {
  const script = join(PACKAGE_ROOT, 'scripts', 'torch_bench.py');
  const out = execFileSync(py, [script, JSON.stringify(cfg)], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
}

async function main(): Promise<void> {
  const args = parseEngineBenchArgs(process.argv.slice(2));
  if (args === null) {
    console.log(helpText('Usage: pnpm bench:engine [flags]   (or: pnpm --filter @asam/benchmarks run bench:engine [flags])', ENGINE_BENCH_FLAGS));
    return;
  }
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  if (args.quick) log('== --quick: a short verification run; its figures are not measurements');
  const auto = await initEngine({ backend: 'auto' });
  const loadable = auto.attempts.filter((a) => a.ok).map((a) => a.name);
  // auto stops at the first backend that loads; wasm and cpu always load where tfjs does.
  const wanted: BackendName[] = args.backends ?? [...new Set<BackendName>([...loadable, 'wasm', 'cpu'])];
  const results: BackendResult[] = [];
  for (const name of wanted) {
    log(`== backend ${name}`);
    let engine: EngineInfo;
    try {
      engine = await initEngine({ backend: name });
    } catch (e) {
      log(`   not available: ${(e as Error).message}`);
      results.push({ backend: name, engine: auto, error: (e as Error).message });
      continue;
    }
    const slow = engine.backend === 'cpu';
    const steps = slow ? args.cpuSteps : args.steps;
    const res: BackendResult = { backend: engine.backend, engine };
    const batch = slow ? args.cpuBatch : args.batch;
    log(`  ResNet-20 (@asam/vision resnet20), batch ${batch}`);
    res.resnet20 = benchResNet(batch, steps, log);
    const tfmBatch = slow ? args.cpuTfmBatch : args.tfmBatch;
    log(`  Transformer (@asam/nmt transformer_small), batch ${tfmBatch} x ${args.seq}`);
    res.transformer = benchTransformer(tfmBatch, args.seq, steps, log);
    results.push(res);
  }

  let dataParallel: Awaited<ReturnType<typeof benchDataParallel>> | null = null;
  if (args.dataParallel && results.some((r) => r.backend === 'wasm' && r.error === undefined)) {
    log(`== data-parallel ResNet-20 SGD on wasm workers, global batch ${args.batch}`);
    dataParallel = await benchDataParallel(args.batch, args.steps, log);
  }

  let torch: TorchResult | null = null;
  let torch1: TorchResult | null = null;
  const py = args.torch ? findTorchPython() : null;
  if (py !== null) {
    const cfg = { steps: args.steps, resnetBatch: args.batch, tfmBatch: args.tfmBatch, seqLen: args.seq };
    log(`== PyTorch (${py}), 2 threads`);
    torch = runTorch(py, { ...cfg, threads: 2 });
    log('== PyTorch, 1 thread');
    torch1 = runTorch(py, { ...cfg, threads: 1 });
  } else {
    log(args.torch ? '== PyTorch: no python3 with torch found (apt-get install python3-torch); torch columns are null' : '== PyTorch skipped (--no-torch or --quick)');
  }

  console.log(formatTable(results, torch, torch1, dataParallel, args.batch));
  const summary = summarize(results, auto.backend, torch, torch1, dataParallel, args.quick);
  const date = new Date().toISOString();
  const full = {
    date, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null,
    memGiB: Math.round(totalmem() / 2 ** 30), loadavgAtEnd: loadavg(), args, auto, results, dataParallel, torch, torch1, summary,
  };
  const stamp = date.replace(/[:.]/g, '-');
  const out = args.out ?? (args.quick
    ? join(tmpdir(), 'asam-bench-engine', `engine-quick-${stamp}.json`)
    : join(PACKAGE_ROOT, 'results', 'engine', `engine-${stamp}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(full, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  log(`results written to ${out}`);
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:engine failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
