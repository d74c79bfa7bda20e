/**
 * Step-time micro-benchmark: one SGD, SAM and ASAM step (the @asam/core optimizer around
 * tf.train.momentum) on the same model (@asam/vision registry) and the same batch of real CIFAR-10
 * images, measured in one process. Steps are interleaved round-robin (SGD, SAM, ASAM, SGD, ...)
 * after warm-up steps, so drift in machine load affects all three alike; each step ends with
 * `dataSync()` on the loss, so the work is finished when the timer stops. Weights are reset to the
 * same snapshot before every step. Reports the median and the minimum per optimizer and their ratios to SGD.
 * Config: { model, batchSize, warmup, repeats, rho: {sam, asam}, eta }.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware } from '@asam/core';
import { CIFAR10_MEAN, CIFAR10_STD, loadCifar10 } from '@asam/data';
import { buildModel } from '@asam/vision';
import { median } from '../stats.ts';
import type { TaskConfig } from '../experiment.ts';
import { dataFiles as nmtFiles } from './nmt.ts';
import { dataFiles as cifarFiles } from './sharpness-gap.ts';
import { runNmtStepTime } from './step-time-nmt.ts';
import type { TaskContext } from './types.ts';
import { RunFolder } from '@asam/train/run-folder';

interface Cfg {
  model: string;
  batchSize: number;
  warmup: number;
  repeats: number;
  rho: { sam: number; asam: number };
  eta: number;
  seed: number;
}

const DEFAULTS: Cfg = { model: 'resnet20', batchSize: 64, warmup: 1, repeats: 3, rho: { sam: 0.05, asam: 0.5 }, eta: 0.01, seed: 0 };

/** The one CIFAR-10 file the timed batch comes from (a translation step time: the corpus files). */
export function dataFiles(config: TaskConfig, dataDir: string): string[] {
  if (config.kind === 'nmt') return nmtFiles(config, dataDir);
  return cifarFiles(config, dataDir).filter((f) => f.endsWith('data_batch_1.bin'));
}

/**
 * Times interleaved SGD / SAM / ASAM steps and writes result.json (samples, medians, minima, ratios). A config with
 * `kind: 'nmt'` times translation updates instead (step-time-nmt.ts).
 */
export async function run(ctx: TaskContext): Promise<void> {
  if (ctx.config.kind === 'nmt') return runNmtStepTime(ctx);
  const t0 = performance.now();
  const cfg: Cfg = { ...DEFAULTS, ...(ctx.config as Partial<Cfg>) };
  const ds = await loadCifar10(ctx.dataDir, 'train', { limit: cfg.batchSize });
  if (ds.n < cfg.batchSize) throw new Error(`step_time: batchSize ${cfg.batchSize} > ${ds.n} images available in ${ctx.dataDir}; lower config.batchSize`);
  const px = new Float32Array(ds.images.length);
  for (let i = 0; i < px.length; i++) px[i] = (ds.images[i]! / 255 - CIFAR10_MEAN[i % 3]!) / CIFAR10_STD[i % 3]!;
  const x = tf.tensor4d(px, [ds.n, ds.height, ds.width, ds.channels]);
  const y = tf.oneHot(tf.tensor1d(ds.labels, 'int32'), ds.numClasses);
  const built = buildModel(cfg.model, { numClasses: ds.numClasses, seed: cfg.seed });
  const snapshot = built.all.map((v) => tf.clone(v));
  const loss = () => tf.losses.softmaxCrossEntropy(y, built.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const names = ['sgd', 'sam', 'asam'] as const;
  const opts = {
    sgd: sharpnessAware(tf.train.momentum(0.01, 0.9), { method: 'none', rho: 0 }, { guard: built.bnStats }),
    sam: sharpnessAware(tf.train.momentum(0.01, 0.9), { method: 'sam', rho: cfg.rho.sam }, { guard: built.bnStats }),
    asam: sharpnessAware(tf.train.momentum(0.01, 0.9), { method: 'asam', rho: cfg.rho.asam, eta: cfg.eta }, { guard: built.bnStats }),
  };
  const samples: Record<string, number[]> = { sgd: [], sam: [], asam: [] };
  ctx.log(`model ${cfg.model} (${built.trainableParams} trainable params), batch ${cfg.batchSize}, backend ${tf.getBackend()}: ${cfg.warmup} warm-up + ${cfg.repeats} timed rounds`);
  for (let r = 0; r < cfg.warmup + cfg.repeats; r++) {
    for (const n of names) {
      built.all.forEach((v, i) => v.assign(snapshot[i]!));
      const s0 = performance.now();
      const l = opts[n].minimize(loss, true, built.trainable)!;
      l.dataSync();
      const dt = (performance.now() - s0) / 1000;
      l.dispose();
      if (r >= cfg.warmup) samples[n]!.push(dt);
      ctx.log(`${r < cfg.warmup ? 'warm-up' : `round ${r - cfg.warmup + 1}/${cfg.repeats}`} ${n}: ${dt.toFixed(3)} s`);
    }
  }
  const med = Object.fromEntries(names.map((n) => [n, median(samples[n]!)])) as Record<string, number>;
  const ratio = Object.fromEntries(names.map((n) => [n, med[n]! / med.sgd!]));
  // The fastest sample is the least disturbed by other load on a shared machine.
  const min = Object.fromEntries(names.map((n) => [n, Math.min(...samples[n]!)])) as Record<string, number>;
  const minRatio = Object.fromEntries(names.map((n) => [n, min[n]! / min.sgd!]));
  ctx.log(`median step: ${names.map((n) => `${n} ${med[n]!.toFixed(3)} s (×${ratio[n]!.toFixed(2)})`).join(', ')}`);
  Object.values(opts).forEach((o) => o.dispose());
  tf.dispose([x, y, ...snapshot]);
  built.dispose();
  new RunFolder(ctx.outDir).writeResultSync({
    status: 'completed', task: 'step_time', config: cfg, backend: tf.getBackend(), trainableParams: built.trainableParams,
    samplesS: samples, medianS: med, ratioToSgd: ratio, minS: min, minRatioToSgd: minRatio, imagesPerS: Object.fromEntries(names.map((n) => [n, cfg.batchSize / med[n]!])),
    wallTimeS: (performance.now() - t0) / 1000,
  });
}
