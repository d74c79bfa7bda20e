/**
 * The run of `soak:engine` (entry and flags: soak.ts, options.ts): memory over many training steps.
 *
 * Runs `steps` SGD steps and `steps` ASAM steps (method 'none' and 'asam' through @asam/core's
 * `sharpnessAware`, as the trainers run them) of ResNet-20 (@asam/vision, random images) and of the
 * Transformer (@asam/nmt `transformer_small`, V = 8000, random pairs); samples `tf.memory().numTensors`,
 * the backend's buffer count and process RSS every `every` steps. Growth is measured from the first
 * sample after warm-up (step `every`) to the last. Progress on stderr; results in `out` (default
 * benchmarks/runs/engine/soak-<time>.json, ignored by git); the last stdout line is one JSON summary.
 */
import { sharpnessAware } from '@asam/core';
import { collate, getPreset, trainStep, Transformer } from '@asam/nmt';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../args.ts';
import type { SoakOptions } from './options.ts';
import { initNamedBackend, randomPairs, STEP_CONFIGS, TRANSFORMER_BENCH } from './workloads.ts';

interface Sample { step: number; tensors: number; buffers: number; rssMiB: number; ms: number }
interface Run { workload: string; kind: string; samples: Sample[]; tensorGrowth: number; bufferGrowth: number; rssGrowthMiB: number; rssMaxMiB: number; medianStepMs: number }

const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const numBuffers = (): number => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

function soak(workload: string, kind: string, step: () => void, steps: number, every: number): Run {
  const samples: Sample[] = [];
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    const s0 = performance.now();
    step();
    times.push(performance.now() - s0);
    if (i % every === 0 || i === steps) {
      samples.push({ step: i, tensors: tf.memory().numTensors, buffers: numBuffers(), rssMiB: Math.round(rssMiB()), ms: times.at(-1)! });
      const left = ((performance.now() - t0) / i) * (steps - i) / 1000;
      const s = samples.at(-1)!;
      log(`  ${workload} ${kind} step ${i}/${steps}: tensors ${s.tensors}, buffers ${s.buffers}, RSS ${s.rssMiB} MiB, ${s.ms.toFixed(0)} ms/step, ~${left.toFixed(0)} s left`);
    }
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const sorted = [...times].sort((a, b) => a - b);
  return {
    workload, kind, samples,
    tensorGrowth: last.tensors - first.tensors, bufferGrowth: last.buffers - first.buffers,
    rssGrowthMiB: last.rssMiB - first.rssMiB, rssMaxMiB: Math.max(...samples.map((s) => s.rssMiB)),
    medianStepMs: sorted[Math.floor(sorted.length / 2)]!,
  };
}

/** Runs the soak with parsed options. */
export async function runSoak(o: SoakOptions): Promise<void> {
  const { steps, every, batch, tfmBatch, seq } = o;
  const engine = await initNamedBackend(o.backend);
  const runs: Run[] = [];
  {
    const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
    const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const onehot = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    for (const kind of ['sgd', 'asam'] as const) {
      const opt = sharpnessAware(tf.train.momentum(0.05, 0.9), STEP_CONFIGS[kind], { guard: built.bnStats });
      runs.push(soak(`resnet20 b${batch}`, kind, () => {
        const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(onehot, built.model.apply(x, { training: true }) as tf.Tensor2D) as tf.Scalar,
          true, built.trainable)!;
        loss.dataSync();
        loss.dispose();
      }, steps, every));
      opt.dispose();
    }
    tf.dispose([x, onehot]);
    built.dispose();
  }
  {
    const T = TRANSFORMER_BENCH;
    const model = new Transformer({ arch: getPreset(T.preset).arch, srcVocabSize: T.vocab, tgtVocabSize: T.vocab, padId: T.pad, seed: 3, name: 'soak_transformer' });
    const pairs = randomPairs(tfmBatch, seq, T.vocab, 1);
    const b = collate(pairs, pairs.map((_, i) => i), { pad: T.pad, bos: T.bos });
    let update = 0;
    for (const kind of ['sgd', 'asam'] as const) {
      const opt = sharpnessAware(tf.train.adam(1e-4, 0.9, 0.98, 1e-8), STEP_CONFIGS[kind]);
      runs.push(soak(`transformer_small b${tfmBatch}x${seq}`, kind, () => {
        trainStep(model, opt, b, { labelSmoothing: T.labelSmoothing, dropoutSeed: update++ });
      }, steps, every));
      opt.dispose();
    }
    tf.dispose([b.src, b.prevTokens, b.target]);
    model.dispose();
  }

  const summary = {
    backend: engine.backend, steps, every,
    runs: runs.map((r) => ({ workload: r.workload, kind: r.kind, tensorGrowth: r.tensorGrowth, bufferGrowth: r.bufferGrowth,
      rssGrowthMiB: r.rssGrowthMiB, rssMaxMiB: r.rssMaxMiB, medianStepMs: Math.round(r.medianStepMs) })),
  };
  const out = o.out ?? join(PACKAGE_ROOT, 'runs', 'engine', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify({ ...summary, engine, date: new Date().toISOString(), runs }, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.log('| workload | step | steps | Δ tensors | Δ backend buffers | Δ RSS MiB | max RSS MiB | median step ms |\n|---|---|---|---|---|---|---|---|');
  for (const r of summary.runs) {
    console.log(`| ${r.workload} | ${r.kind} | ${steps} | ${r.tensorGrowth} | ${r.bufferGrowth} | ${r.rssGrowthMiB} | ${r.rssMaxMiB} | ${r.medianStepMs} |`);
  }
  log(`results: ${out}`);
  console.log(JSON.stringify(summary));
}
