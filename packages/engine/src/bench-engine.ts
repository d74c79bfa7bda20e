/**
 * bench:engine — training throughput of every backend that loads, against PyTorch on CPU.
 *
 * Workloads: ResNet-20 (tfjs-layers, CIFAR 32x32, random data) and a compact encoder–decoder
 * Transformer (raw ops, V=8000, d=256, 4 heads, ffn 1024, 3+3 layers). Step kinds: forward only
 * (eval), SGD step (one forward+backward + base optimizer: momentum for ResNet, Adam for the
 * Transformer), SAM step and ASAM step (two forward+backward passes, via @asam/core's
 * `sharpnessAware`). Each kind: 1 warm-up step, then the median of `--steps` timed steps; a step
 * ends with `dataSync()` on the loss so all work is finished when the clock stops.
 *
 * Usage: pnpm bench:engine [--steps 3] [--batch 128] [--tfm-batch 32] [--seq 32]
 *        [--cpu-batch 8] [--cpu-tfm-batch 2] [--cpu-steps 1] [--backends wasm,cpu] [--no-torch] [--no-data-parallel] [--out file.json]
 * Prints a table; the last stdout line is one JSON summary; full results go to
 * packages/engine/bench-results/engine-<timestamp>.json.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharpnessAware } from '../../asam-core/src/index.ts';
import { createDataParallel, splitBatch } from './data-parallel.ts';
import type { Shard } from './data-parallel.ts';
import { BACKEND_NAMES, initEngine } from './engine.ts';
import type { BackendName, EngineInfo } from './engine.ts';
import { buildCifarResNet, classificationLoss, compactTransformer, randomTokens } from './models.ts';

const KINDS = ['forward', 'sgd', 'sam', 'asam'] as const;
type Kind = (typeof KINDS)[number];
interface Timing { medianMs: number; samplesMs: number[] }
interface WorkloadResult {
  batch: number; unitsPerStep: number; unit: 'img' | 'tok';
  steps: Record<Kind, Timing>;
  tensorsAfterEachStep: number[]; rssMiBAfterEachStep: number[];
  /** Per step kind: tensor count and RSS change from the end of the warm-up to the last step. */
  growthAfterWarmup: Record<Kind, { tensors: number; rssMiB: number }>;
}
interface BackendResult { backend: string; engine: EngineInfo; resnet20?: WorkloadResult; transformer?: WorkloadResult; error?: string }

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = join(here, '..');

function parseArgs(argv: string[]) {
  const o = { steps: 3, batch: 128, tfmBatch: 32, seq: 32, cpuBatch: 8, cpuTfmBatch: 2, cpuSteps: 1,
    backends: undefined as string[] | undefined, torch: true, dataParallel: true, out: undefined as string | undefined };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got '${v}'.`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--steps': o.steps = num(a, v, 1); i++; break;
      case '--batch': o.batch = num(a, v, 1); i++; break;
      case '--tfm-batch': o.tfmBatch = num(a, v, 1); i++; break;
      case '--seq': o.seq = num(a, v, 2); i++; break;
      case '--cpu-batch': o.cpuBatch = num(a, v, 1); i++; break;
      case '--cpu-tfm-batch': o.cpuTfmBatch = num(a, v, 1); i++; break;
      case '--cpu-steps': o.cpuSteps = num(a, v, 1); i++; break;
      case '--backends': {
        o.backends = (v ?? '').split(',').filter((s) => s.length > 0);
        for (const b of o.backends) {
          if (!(BACKEND_NAMES as readonly string[]).includes(b)) throw new Error(`--backends: unknown backend '${b}'; valid: ${BACKEND_NAMES.join(', ')}.`);
        }
        i++;
        break;
      }
      case '--no-torch': o.torch = false; break;
      case '--no-data-parallel': o.dataParallel = false; break;
      case '--out': o.out = v; i++; break;
      case '--': break;
      default: throw new Error(`Unknown argument '${a}'. Valid: --steps --batch --tfm-batch --seq --cpu-batch --cpu-tfm-batch --cpu-steps --backends --no-torch --no-data-parallel --out.`);
    }
  }
  return o;
}

const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/** Times each step kind: warm-up, then `steps` timed runs; records tensors / RSS after each step. */
function timeKinds(run: Record<Kind, () => void>, steps: number, log: (s: string) => void) {
  const out = {} as Record<Kind, Timing>;
  const growth = {} as Record<Kind, { tensors: number; rssMiB: number }>;
  const tensors: number[] = [];
  const rss: number[] = [];
  for (const kind of KINDS) {
    const samples: number[] = [];
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      run[kind]();
      const ms = performance.now() - t0;
      if (i > 0) samples.push(ms);
      tensors.push(tf.memory().numTensors);
      rss.push(rssMiB());
      log(`    ${kind} ${i === 0 ? 'warm-up' : `step ${i}/${steps}`}: ${(ms / 1000).toFixed(2)} s`);
    }
    const n = steps + 1;
    growth[kind] = { tensors: tensors.at(-1)! - tensors.at(-n)!, rssMiB: rss.at(-1)! - rss.at(-n)! };
    const sorted = [...samples].sort((a, b) => a - b);
    out[kind] = { medianMs: sorted[Math.floor((sorted.length - 1) / 2)]!, samplesMs: samples };
  }
  return { steps: out, tensorsAfterEachStep: tensors, rssMiBAfterEachStep: rss, growthAfterWarmup: growth };
}

function benchResNet(batch: number, steps: number, log: (s: string) => void): WorkloadResult {
  const model = buildCifarResNet({ depth: 20 });
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const guard = model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
  const x = tf.randomNormal([batch, 32, 32, 3]) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const lossFn = () => classificationLoss(model.apply(x, { training: true }) as tf.Tensor, labels, 10);
  const sgd = tf.train.momentum(0.05, 0.9);
  const sam = sharpnessAware(tf.train.momentum(0.05, 0.9), { method: 'sam', rho: 0.05 }, { guard });
  const asam = sharpnessAware(tf.train.momentum(0.05, 0.9), { method: 'asam', rho: 0.5, eta: 0.01 }, { guard });
  const minimize = (opt: tf.Optimizer) => () => {
    const loss = opt.minimize(lossFn, true, trainable)!;
    loss.dataSync();
    loss.dispose();
  };
  const r = timeKinds({
    forward: () => tf.tidy(() => { (model.apply(x, { training: false }) as tf.Tensor).dataSync(); }),
    sgd: minimize(sgd), sam: minimize(sam), asam: minimize(asam),
  }, steps, log);
  tf.dispose([x, labels]);
  model.dispose();
  for (const o of [sgd, sam, asam]) o.dispose();
  return { batch, unitsPerStep: batch, unit: 'img', ...r };
}

const TFM = { vocab: 8000, dModel: 256, heads: 4, ffn: 1024, layers: 3, dropout: 0.1 };

function benchTransformer(batch: number, seq: number, steps: number, log: (s: string) => void): WorkloadResult {
  const m = compactTransformer(TFM, 3);
  const src = randomTokens(batch, seq, TFM.vocab, 1);
  const tgt = randomTokens(batch, seq, TFM.vocab, 2);
  const tokens = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(tgt, 0), 'int32')).dataSync()[0]!);
  const lossFn = () => m.loss(src, tgt, tgt, true);
  const adam = tf.train.adam(1e-4);
  const sam = sharpnessAware(tf.train.adam(1e-4), { method: 'sam', rho: 0.05 });
  const asam = sharpnessAware(tf.train.adam(1e-4), { method: 'asam', rho: 0.5, eta: 0.01 });
  const minimize = (opt: tf.Optimizer) => () => {
    const loss = opt.minimize(lossFn, true, m.vars)!;
    loss.dataSync();
    loss.dispose();
  };
  const r = timeKinds({
    forward: () => tf.tidy(() => { m.loss(src, tgt, tgt, false).dataSync(); }),
    sgd: minimize(adam), sam: minimize(sam), asam: minimize(asam),
  }, steps, log);
  tf.dispose([src, tgt, ...m.vars]);
  for (const o of [adam, sam, asam]) o.dispose();
  return { batch, unitsPerStep: tokens, unit: 'tok', ...r };
}

/**
 * ResNet-20 SGD steps through the worker_threads data-parallel trainer (wasm): the same global
 * batch on 1 worker and split over 2 workers; returns images/s per worker count.
 */
async function benchDataParallel(batch: number, steps: number, log: (s: string) => void): Promise<Record<string, { medianMs: number; imgPerSec: number; samplesMs: number[] }>> {
  const xv = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < xv.length; i++) xv[i] = Math.sin(i * 12.9898) * 0.5;
  const full: Shard = {
    x: { values: xv, shape: [batch, 32, 32, 3], dtype: 'float32' },
    y: { values: Int32Array.from({ length: batch }, (_, i) => i % 10), shape: [batch], dtype: 'int32' },
  };
  const out: Record<string, { medianMs: number; imgPerSec: number; samplesMs: number[] }> = {};
  for (const workers of [1, 2]) {
    const dp = await createDataParallel({ replica: new URL('./resnet-replica.ts', import.meta.url), workers });
    try {
      const samples: number[] = [];
      for (let i = 0; i <= steps; i++) {
        const t0 = performance.now();
        await dp.step(splitBatch(full, workers));
        const ms = performance.now() - t0;
        if (i > 0) samples.push(ms);
        log(`    ${workers} worker(s) ${i === 0 ? 'warm-up' : `step ${i}/${steps}`}: ${(ms / 1000).toFixed(2)} s`);
      }
      await dp.checkSync();
      const sorted = [...samples].sort((a, b) => a - b);
      const medianMs = sorted[Math.floor((sorted.length - 1) / 2)]!;
      out[`workers${workers}`] = { medianMs, imgPerSec: batch / (medianMs / 1000), samplesMs: samples };
    } finally {
      await dp.close();
    }
  }
  return out;
}

/** A python3 that can import torch (Debian's python3-torch lives under /usr/bin/python3). */
function findTorchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** Non-padding target tokens of randomTokens(b, seq): row i has seq − (i mod 3) tokens. */
function tokensFor(b: number, seq: number): number {
  let n = 0;
  for (let i = 0; i < b; i++) n += seq - (i % 3);
  return n;
}

/** Units (images or target tokens) per step of the PyTorch run of a workload. */
function torchUnits(t: Record<string, unknown>, wl: 'resnet20' | 'transformer'): number {
  return wl === 'resnet20' ? (t['resnetBatch'] as number) : tokensFor(t['tfmBatch'] as number, t['seqLen'] as number);
}

function perSec(w: WorkloadResult | undefined, kind: Kind): number | null {
  if (w === undefined) return null;
  return w.unitsPerStep / (w.steps[kind].medianMs / 1000);
}
function torchPerSec(t: Record<string, unknown> | null, workload: 'resnet20' | 'transformer', kind: Kind): number | null {
  const w = t?.[workload] as Record<Kind, Timing> | undefined;
  return t === null || w === undefined ? null : torchUnits(t, workload) / (w[kind].medianMs / 1000);
}
const fmt = (v: number | null, d = 1) => (v === null ? '–' : v.toFixed(d));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const auto = await initEngine({ backend: 'auto' });
  const loadable = auto.attempts.filter((a) => a.ok).map((a) => a.name);
  // auto stops at the first backend that loads; wasm and cpu always load where tfjs does.
  const wanted: BackendName[] = args.backends as BackendName[] | undefined ??
    [...new Set<BackendName>([...loadable, 'wasm', 'cpu'])];
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
    log(`  ResNet-20, batch ${slow ? args.cpuBatch : args.batch}`);
    res.resnet20 = benchResNet(slow ? args.cpuBatch : args.batch, steps, log);
    log(`  Transformer, batch ${slow ? args.cpuTfmBatch : args.tfmBatch} x ${args.seq}`);
    res.transformer = benchTransformer(slow ? args.cpuTfmBatch : args.tfmBatch, args.seq, steps, log);
    results.push(res);
  }

  let dataParallel: Awaited<ReturnType<typeof benchDataParallel>> | null = null;
  if (args.dataParallel && results.some((r) => r.backend === 'wasm')) {
    log(`== data-parallel ResNet-20 SGD on wasm workers, global batch ${args.batch}`);
    dataParallel = await benchDataParallel(args.batch, args.steps, log);
  }

  let torch: Record<string, unknown> | null = null;
  let torch1: Record<string, unknown> | null = null;
  const py = args.torch ? findTorchPython() : null;
  if (py !== null) {
    const script = join(pkgRoot, 'scripts', 'torch_bench.py');
    const cfg = { steps: args.steps, resnetBatch: args.batch, tfmBatch: args.tfmBatch, seqLen: args.seq };
    log(`== PyTorch (${py}), 2 threads`);
    torch = JSON.parse(execFileSync(py, [script, JSON.stringify({ ...cfg, threads: 2 })], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop()!);
    log('== PyTorch, 1 thread');
    torch1 = JSON.parse(execFileSync(py, [script, JSON.stringify({ ...cfg, threads: 1 })], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop()!);
  } else {
    log(args.torch ? '== PyTorch: no python3 with torch found (apt-get install python3-torch); torch columns are null' : '== PyTorch skipped (--no-torch)');
  }

  // Table.
  const lines: string[] = [];
  lines.push('| backend | workload | batch | forward /s | SGD /s | SAM /s | ASAM /s | SGD÷fwd time | SAM÷SGD | ASAM÷SGD | SGD vs torch 2thr | SGD vs torch 1thr | Δtensors after warm-up fwd/sgd/sam/asam | ΔRSS MiB after warm-up |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const wl of ['resnet20', 'transformer'] as const) {
      const w = r[wl];
      if (w === undefined) continue;
      const s = w.steps;
      const ours = perSec(w, 'sgd')!;
      const t2 = torchPerSec(torch, wl, 'sgd');
      const t1 = torchPerSec(torch1, wl, 'sgd');
      const vs2 = t2 === null ? null : ours / t2;
      const vs1 = t1 === null ? null : ours / t1;
      lines.push(`| ${r.backend} | ${wl} | ${w.batch} | ${fmt(perSec(w, 'forward'))} ${w.unit} | ${fmt(perSec(w, 'sgd'))} | ${fmt(perSec(w, 'sam'))} | ${fmt(perSec(w, 'asam'))} | ` +
        `${fmt(s.sgd.medianMs / s.forward.medianMs, 2)} | ${fmt(s.sam.medianMs / s.sgd.medianMs, 2)} | ${fmt(s.asam.medianMs / s.sgd.medianMs, 2)} | ` +
        `${fmt(vs2, 3)} | ${fmt(vs1, 3)} | ${KINDS.map((k) => w.growthAfterWarmup[k].tensors).join('/')} | ${KINDS.map((k) => w.growthAfterWarmup[k].rssMiB).join('/')} |`);
    }
  }
  for (const [label, t] of [['torch 2 threads', torch], ['torch 1 thread', torch1]] as const) {
    if (t === null) continue;
    for (const wl of ['resnet20', 'transformer'] as const) {
      const w = t[wl] as Record<Kind, Timing> | undefined;
      if (w === undefined) continue;
      const units = torchUnits(t, wl);
      const ps = (k: Kind) => units / (w[k].medianMs / 1000);
      lines.push(`| ${label} | ${wl} | ${wl === 'resnet20' ? t['resnetBatch'] : t['tfmBatch']} | ${fmt(ps('forward'))} | ${fmt(ps('sgd'))} | ${fmt(ps('sam'))} | ${fmt(ps('asam'))} | ` +
        `${fmt(w.sgd.medianMs / w.forward.medianMs, 2)} | ${fmt(w.sam.medianMs / w.sgd.medianMs, 2)} | ${fmt(w.asam.medianMs / w.sgd.medianMs, 2)} | 1 | – | – | – |`);
    }
  }
  if (dataParallel !== null) {
    const w1 = dataParallel['workers1']!;
    const w2 = dataParallel['workers2']!;
    lines.push('', `data-parallel ResNet-20 SGD (wasm, worker_threads, global batch ${args.batch}): ` +
      `1 worker ${w1.imgPerSec.toFixed(1)} img/s, 2 workers ${w2.imgPerSec.toFixed(1)} img/s (x${(w2.imgPerSec / w1.imgPerSec).toFixed(2)})`);
  }
  console.log(lines.join('\n'));

  const main = results.find((r) => r.backend === auto.backend && r.resnet20 !== undefined) ?? results.find((r) => r.resnet20 !== undefined);
  const rn = main?.resnet20;
  const torchImg = torchPerSec(torch, 'resnet20', 'sgd');
  const summary = {
    backend: main?.backend ?? null,
    batch: rn?.batch ?? null,
    forwardImgPerSec: rn ? perSec(rn, 'forward') : null,
    sgdImgPerSec: rn ? perSec(rn, 'sgd') : null,
    samImgPerSec: rn ? perSec(rn, 'sam') : null,
    asamImgPerSec: rn ? perSec(rn, 'asam') : null,
    torchImgPerSec: torchImg,
    torch1ThreadImgPerSec: torchPerSec(torch1, 'resnet20', 'sgd'),
    torchAsamImgPerSec: torchPerSec(torch, 'resnet20', 'asam'),
    sgdOverForwardTime: rn ? rn.steps.sgd.medianMs / rn.steps.forward.medianMs : null,
    asamOverSgdTime: rn ? rn.steps.asam.medianMs / rn.steps.sgd.medianMs : null,
    sgdVsTorch: rn && torchImg ? perSec(rn, 'sgd')! / torchImg : null,
    tensorGrowthAfterWarmup: rn ? KINDS.map((k) => rn.growthAfterWarmup[k].tensors) : null,
    dataParallel2WorkersImgPerSec: dataParallel?.['workers2']?.imgPerSec ?? null,
    dataParallel1WorkerImgPerSec: dataParallel?.['workers1']?.imgPerSec ?? null,
    transformerSgdTokPerSec: main?.transformer ? perSec(main.transformer, 'sgd') : null,
    transformerAsamTokPerSec: main?.transformer ? perSec(main.transformer, 'asam') : null,
    torchTransformerSgdTokPerSec: torchPerSec(torch, 'transformer', 'sgd'),
  };
  const full = {
    date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null,
    memGiB: Math.round(totalmem() / 2 ** 30), loadavgAtEnd: loadavg(), args, auto, results, dataParallel, torch, torch1, summary,
  };
  const out = args.out ?? join(pkgRoot, 'bench-results', `engine-${full.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, JSON.stringify(full, null, 2));
  renameSync(`${out}.tmp`, out);
  log(`results written to ${out}`);
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:engine failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
