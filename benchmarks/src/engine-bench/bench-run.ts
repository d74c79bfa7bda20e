/**
 * The run of `bench:engine` (entry and flags: cli.ts, options.ts): every tfjs backend that loads, the
 * data-parallel trainer, the PyTorch peer; a markdown table on stdout, progress on stderr, every timing in a JSON
 * file, and one JSON summary as the last stdout line.
 */
import { initEngine, type BackendName, type EngineInfo, type EngineOptions } from '@asam/engine';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../args.ts';
import type { EngineBenchOptions } from './options.ts';
import { formatTable, replaceReadmeBlock, summarize, type BackendResult, type TorchResult } from './report.ts';
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

/** Runs the benchmark with parsed options. */
export async function runEngineBench(args: EngineBenchOptions): Promise<void> {
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  if (args.quick) log('== --quick: a short verification run; its figures are not measurements');
  const auto = await initEngine({ backend: 'auto' });
  const loadable = auto.attempts.filter((a) => a.ok).map((a) => a.name);
  // auto stops at the first backend that loads; wasm and cpu always load where tfjs does.
  const wanted: BackendName[] = args.backends ?? [...new Set<BackendName>([...loadable, 'wasm', 'cpu'])];
  const results: BackendResult[] = [];
  // wasm is measured on each kernel tier: WebAssembly SIMD, and native oneDNN with one and with two threads in the process.
  const runs = wanted.flatMap((name): { name: BackendName; native: EngineOptions['nativeKernels']; label: string }[] => name !== 'wasm'
    ? [{ name, native: true, label: name }]
    : [
      { name, native: false, label: 'wasm (SIMD kernels)' },
      { name, native: { threads: 1 }, label: 'wasm + native (1 thread)' },
      { name, native: { threads: 2 }, label: 'wasm + native (2 threads)' },
    ]);
  for (const { name, native, label } of runs) {
    log(`== backend ${label}`);
    let engine: EngineInfo;
    try {
      engine = await initEngine({ backend: name, nativeKernels: native });
    } catch (e) {
      log(`   not available: ${(e as Error).message}`);
      results.push({ backend: label, engine: auto, error: (e as Error).message });
      continue;
    }
    if (native !== false && engine.backend === 'wasm' && engine.native?.loaded !== true) {
      log(`   native tier not available: ${engine.native?.reason ?? 'unknown'}`);
      results.push({ backend: label, engine, error: `native tier not available: ${engine.native?.reason ?? 'unknown'}` });
      continue;
    }
    const slow = engine.backend === 'cpu';
    const steps = slow ? args.cpuSteps : args.steps;
    const res: BackendResult = { backend: label, engine };
    const batch = slow ? args.cpuBatch : args.batch;
    log(`  ResNet-20 (@asam/vision resnet20), batch ${batch}`);
    res.resnet20 = benchResNet(batch, steps, log);
    const tfmBatch = slow ? args.cpuTfmBatch : args.tfmBatch;
    log(`  Transformer (@asam/nmt transformer_small), batch ${tfmBatch} x ${args.seq}`);
    res.transformer = benchTransformer(tfmBatch, args.seq, steps, log);
    results.push(res);
  }

  let dataParallel: Awaited<ReturnType<typeof benchDataParallel>> | null = null;
  if (args.dataParallel && results.some((r) => r.engine.backend === 'wasm' && r.error === undefined)) {
    // Workers take the kernel tier of this thread: native (one oneDNN thread each) where it loads.
    const dp = await initEngine({ backend: 'wasm', nativeKernels: { threads: 1 } });
    log(`== data-parallel ResNet-20 SGD on wasm workers (${dp.native?.loaded ? 'native' : 'SIMD'} kernels), global batch ${args.batch}`);
    dataParallel = await benchDataParallel(args.batch, args.steps, log);
  }

  let torch: TorchResult | null = null;
  let torch1: TorchResult | null = null;
  const py = args.torch ? findTorchPython() : null;
  if (py !== null) {
    const cfg = { steps: args.steps, resnetBatch: args.batch, tfmBatch: args.tfmBatch, seqLen: args.seq };
    // ResNet-20 in both memory formats; the faster one counts (channels-last keeps NHWC activations, as tfjs does).
    const best = (threads: number): TorchResult => {
      log(`== PyTorch (${py}), ${threads} thread(s), NCHW`);
      const nchw = runTorch(py, { ...cfg, threads });
      log(`== PyTorch, ${threads} thread(s), channels-last (ResNet-20 only)`);
      const cl = runTorch(py, { ...cfg, threads, channelsLast: 1, skipTransformer: 1 });
      return cl.resnet20!.sgd.medianMs < nchw.resnet20!.sgd.medianMs ? { ...nchw, resnet20: cl.resnet20, channelsLast: true } : { ...nchw, channelsLast: false };
    };
    torch = best(2);
    torch1 = best(1);
  } else {
    log(args.torch ? '== PyTorch: no python3 with torch found (apt-get install python3-torch); torch columns are null' : '== PyTorch skipped (--no-torch or --quick)');
  }

  const table = formatTable(results, torch, torch1, dataParallel, args.batch);
  console.log(table);
  const summary = summarize(results, auto.backend, torch, torch1, dataParallel, args.quick);
  const date = new Date().toISOString();
  const full = {
    date, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null,
    memGiB: Math.round(totalmem() / 2 ** 30), loadavgAtEnd: loadavg(), args, auto, results, dataParallel, torch, torch1, summary,
  };
  const stamp = date.replace(/[:.]/g, '-');
  const out = args.out ?? (args.quick
    ? join(tmpdir(), 'asam-bench-engine', `engine-quick-${stamp}.json`)
    : join(PACKAGE_ROOT, 'runs', 'engine', `engine-${stamp}.json`)); // the ignored working folder; publish with --out benchmarks/results/engine/…
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(full, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  log(`results written to ${out}`);
  if (args.readme.length > 0) {
    const header = `Generated by \`pnpm bench:engine\` on ${date.slice(0, 16).replace('T', ' ')} UTC (${cpus().length}× ${cpus()[0]?.model ?? '?'}, ` +
      `Node ${process.version}, load average at the end ${loadavg()[0]!.toFixed(2)}; every timing: \`${path.relative(path.join(PACKAGE_ROOT, '..'), out)}\`).`;
    for (const f of args.readme) {
      writeFileSync(f, replaceReadmeBlock(readFileSync(f, 'utf8'), `${header}\n\n${table}`, f));
      log(`table written into ${f}`);
    }
  }
  console.log(JSON.stringify(summary));
}
