/**
 * The run of `profile:engine` (entry and flags: profile.ts, options.ts): where the time of one training step
 * goes, kernel by kernel (`tf.profile`).
 *
 * resnet20: ResNet-20 from @asam/vision on random 32x32x3 images, momentum 0.9 (SGD = method 'none');
 * transformer: @asam/nmt's `transformer_small` (V = 8000) on random pairs of 32 tokens, Adam, as bench:engine
 * builds it. Prints the step and forward-only wall times (median of 3), then kernel milliseconds summed over one
 * profiled step, by kernel name (`byShape`: by name and input shapes). Kernel times are measured per kernel call
 * and include nothing of the JS between calls; the gap to the wall time is that overhead. `out` gets the same
 * rows as JSON.
 */
import { sharpnessAware } from '@asam/core';
import { collate, getPreset, meanLabelSmoothedLoss, trainStep, Transformer } from '@asam/nmt';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { median } from './common.ts';
import type { ProfileOptions } from './options.ts';
import { initNamedBackend, randomPairs, STEP_CONFIGS, TRANSFORMER_BENCH } from './workloads.ts';

/** Profiles one step and prints the kernel table (and writes it to `o.out`). */
export async function runProfile(o: ProfileOptions): Promise<void> {
  const { model: modelName, batch, kind, top } = o;
  const engine = await initNamedBackend(o.backend);
  let step: () => void;
  let forward: () => void;
  let label: string;
  let units: number;
  if (modelName === 'resnet20') {
    const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
    const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const onehot = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    const opt = sharpnessAware(tf.train.momentum(0.05, 0.9), STEP_CONFIGS[kind], { guard: built.bnStats });
    step = () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(onehot, built.model.apply(x, { training: true }) as tf.Tensor2D) as tf.Scalar,
        true, built.trainable)!;
      loss.dataSync();
      loss.dispose();
    };
    forward = () => tf.tidy(() => { (built.model.apply(x, { training: false }) as tf.Tensor).dataSync(); });
    label = `ResNet-20, batch ${batch}`;
    units = batch;
  } else {
    const T = TRANSFORMER_BENCH;
    const model = new Transformer({ arch: getPreset(T.preset).arch, srcVocabSize: T.vocab, tgtVocabSize: T.vocab, padId: T.pad, seed: 3, name: 'profile_transformer' });
    const pairs = randomPairs(batch, 32, T.vocab, 1);
    const b = collate(pairs, pairs.map((_, i) => i), { pad: T.pad, bos: T.bos });
    const opt = sharpnessAware(tf.train.adam(1e-4, 0.9, 0.98, 1e-8), STEP_CONFIGS[kind]);
    let update = 0;
    step = () => { trainStep(model, opt, b, { labelSmoothing: T.labelSmoothing, dropoutSeed: update++ }); };
    forward = () => tf.tidy(() => {
      meanLabelSmoothedLoss(model.forward(b.src, b.prevTokens, false), b.target, { epsilon: T.labelSmoothing, padId: T.pad }).dataSync();
    });
    label = `${T.preset}, ${batch} pairs x 32 tokens (${b.targetTokens} target tokens)`;
    units = b.targetTokens;
  }
  const time = (f: () => void): number => { const t0 = performance.now(); f(); return performance.now() - t0; };
  step();
  forward();
  const stepMs = median([time(step), time(step), time(step)]);
  const forwardMs = median([time(forward), time(forward), time(forward)]);
  const info = await tf.profile(step);
  const rows = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue; // op wrappers around a kernel: counted in the kernel
    const key = o.byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const r = rows.get(key) ?? { ms: 0, calls: 0 };
    r.ms += Number(k.kernelTimeMs);
    r.calls++;
    rows.set(key, r);
  }
  const sorted = [...rows].map(([kernel, r]) => ({ kernel, ...r })).sort((a, b) => b.ms - a.ms);
  const total = sorted.reduce((s, r) => s + r.ms, 0);
  console.log(`backend ${engine.backend}, ${label}, ${kind} step ${stepMs.toFixed(0)} ms (${(units / stepMs * 1000).toFixed(1)} ${modelName === 'resnet20' ? 'img' : 'tok'}/s), ` +
    `forward ${forwardMs.toFixed(0)} ms, step/forward ${(stepMs / forwardMs).toFixed(2)}`);
  console.log(`kernel time in the profiled step ${total.toFixed(0)} ms; JS and bookkeeping between kernels about ${(stepMs - total).toFixed(0)} ms`);
  console.log('| kernel | ms | share | calls |\n|---|---|---|---|');
  for (const r of sorted.slice(0, top)) console.log(`| ${r.kernel} | ${r.ms.toFixed(1)} | ${(100 * r.ms / total).toFixed(1)}% | ${r.calls} |`);
  if (o.out === undefined) return;
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ backend: engine.backend, model: modelName, batch, kind, stepMs, forwardMs, kernelMs: total, rows: sorted }, null, 2)}\n`);
}
