/**
 * Update-time micro-benchmark for translation, the counterpart of the vision step time: one Adam, Adam+SAM and
 * Adam+ASAM update (@asam/core around tf.train.adam) of the configured Transformer on real training batches of the
 * corpus, batched by target tokens as the nmt cells batch them, interleaved round-robin after warm-up rounds (round r
 * uses the r-th batch of the first epoch's plan for all three, weights reset before every update). It also records
 * what the sweep estimate needs for an epoch of such a cell: the number of updates in an epoch and the time of one
 * validation pass (label-smoothed loss and decoding of the validation sentences for BLEU).
 * Config: the nmt cell's fields (preset, corpus, maxTokens, vocabSize, maxLen, validLimit, search, …) plus
 * { warmup, repeats, rho: {sam, asam}, eta }.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware } from '@asam/core';
import { median } from '../stats.ts';
import type { TaskContext } from './types.ts';
import { RunFolder } from '@asam/train/run-folder';

interface Cfg {
  warmup: number;
  repeats: number;
  rho: { sam: number; asam: number };
  eta: number;
}

const NAMES = ['sgd', 'sam', 'asam'] as const;

/** Times interleaved Adam / SAM / ASAM updates and one validation pass; writes result.json. */
export async function runNmtStepTime(ctx: TaskContext): Promise<void> {
  const t0 = performance.now();
  const nmt = await import('@asam/nmt');
  const { kind: _kind, warmup = 1, repeats = 3, rho = { sam: 0.1, asam: 0.2 }, eta = 0.01, bench: _bench, ...rest } = ctx.config as Record<string, unknown> & Partial<Cfg>;
  const cfg: Cfg = { warmup, repeats, rho, eta };
  const cacheDir = (rest.cacheDir as string | undefined) ?? path.join(ctx.outDir, '..', '..', '.cache', 'nmt');
  const c = nmt.resolveTranslationConfig({ ...(rest as object), dataDir: ctx.dataDir, outDir: ctx.outDir, cacheDir });
  // the splits exactly as a translation cell tokenizes them
  const { tok, trainPairs: pairs, validPairs, validLossPairs } = await nmt.prepareTranslationData(c, nmt.defaultTranslationDeps());
  const ids = { pad: tok.pad, bos: tok.bos, eos: tok.eos };
  const plan = nmt.planBatches(pairs, { maxTokens: c.maxTokens, shuffle: true, seed: c.seed, epoch: 0 });
  const rounds = cfg.warmup + cfg.repeats;
  if (plan.length < rounds) throw new Error(`step_time (nmt): ${plan.length} batches in an epoch, fewer than warmup + repeats = ${rounds}; lower config.repeats`);
  const model = nmt.createTaskModel({
    arch: nmt.resolveArch(c), vocabSize: tok.vocabSize, padId: tok.pad, seed: c.seed, labelSmoothing: c.labelSmoothing, perturbedDropout: c.optimizer.perturbedDropout,
  });
  const core = nmt.sharpnessConfigOf(c.optimizer);
  const snapshot = model.trainable.map((v) => tf.clone(v));
  const opts = {
    // the cells' optimizer settings (weight decay, …) with each method and its ρ
    sgd: sharpnessAware(tf.train.adam(c.lr, c.beta1, c.beta2, c.adamEpsilon), { ...core, method: 'none', rho: 0 }),
    sam: sharpnessAware(tf.train.adam(c.lr, c.beta1, c.beta2, c.adamEpsilon), { ...core, method: 'sam', rho: cfg.rho.sam }),
    asam: sharpnessAware(tf.train.adam(c.lr, c.beta1, c.beta2, c.adamEpsilon), { ...core, method: 'asam', rho: cfg.rho.asam, eta: cfg.eta }),
  };
  const samples: Record<string, number[]> = { sgd: [], sam: [], asam: [] };
  const tokens: number[] = [];
  ctx.log(`${c.preset} (${model.trainableParams} trainable params), ${plan.length} updates per epoch of ≤ ${c.maxTokens} target tokens, backend ${tf.getBackend()}: ${cfg.warmup} warm-up + ${cfg.repeats} timed rounds`);
  for (let r = 0; r < rounds; r++) {
    const b = nmt.collate(pairs, plan[r]!, ids);
    const tensors = { src: b.src, prevTokens: b.prevTokens, target: tf.reshape(b.target, [b.rows, -1]) };
    if (r >= cfg.warmup) tokens.push(b.targetTokens);
    for (const n of NAMES) {
      model.trainable.forEach((v, i) => v.assign(snapshot[i]!));
      const s0 = performance.now();
      const l = opts[n].minimize((_part, pass) => model.forward(tensors, { step: r, pass, part: 0, parts: 1 }).loss, true, model.trainable)!;
      l.dataSync();
      const dt = (performance.now() - s0) / 1000;
      l.dispose();
      if (r >= cfg.warmup) samples[n]!.push(dt);
      ctx.log(`${r < cfg.warmup ? 'warm-up' : `round ${r - cfg.warmup + 1}/${cfg.repeats}`} ${n}: ${dt.toFixed(3)} s (${b.targetTokens} target tokens)`);
    }
    tf.dispose([b.src, b.prevTokens, b.target, tensors.target]);
  }
  // One validation pass, as a cell runs it after every epoch.
  const e0 = performance.now();
  nmt.evaluateLoss(model.transformer, validLossPairs, { maxTokens: c.maxTokens, labelSmoothing: c.labelSmoothing, bos: tok.bos });
  await nmt.translateIds(model.transformer, validPairs.map((p) => p.src), ids, c.search);
  const evalS = (performance.now() - e0) / 1000;
  ctx.log(`validation pass (${validPairs.length} sentences, ${c.search.kind} decoding): ${evalS.toFixed(1)} s`);
  const med = Object.fromEntries(NAMES.map((n) => [n, median(samples[n]!)])) as Record<string, number>;
  const min = Object.fromEntries(NAMES.map((n) => [n, Math.min(...samples[n]!)])) as Record<string, number>;
  const meanTokens = tokens.reduce((a, x) => a + x, 0) / tokens.length;
  const epochS = Object.fromEntries(NAMES.map((n) => [n, med[n]! * plan.length + evalS]));
  ctx.log(`median update: ${NAMES.map((n) => `${n} ${med[n]!.toFixed(3)} s (×${(med[n]! / med.sgd!).toFixed(2)})`).join(', ')}; an epoch ≈ ${NAMES.map((n) => `${n} ${(epochS[n]! / 60).toFixed(1)} min`).join(', ')}`);
  Object.values(opts).forEach((o) => o.dispose());
  tf.dispose(snapshot);
  model.dispose();
  new RunFolder(ctx.outDir).writeResultSync({
    status: 'completed', task: 'step_time', kind: 'nmt', backend: tf.getBackend(), trainableParams: model.trainableParams,
    config: { preset: c.preset, corpus: c.corpus, maxTokens: c.maxTokens, vocabSize: tok.vocabSize, maxLen: c.maxLen, validLimit: c.validLimit, search: c.search.kind, ...cfg },
    samplesS: samples, medianS: med, ratioToSgd: Object.fromEntries(NAMES.map((n) => [n, med[n]! / med.sgd!])), minS: min,
    minRatioToSgd: Object.fromEntries(NAMES.map((n) => [n, min[n]! / min.sgd!])),
    tokensPerS: Object.fromEntries(NAMES.map((n) => [n, meanTokens / med[n]!])), meanTargetTokens: meanTokens,
    updatesPerEpoch: plan.length, validationS: evalS, epochS,
    wallTimeS: (performance.now() - t0) / 1000,
  });
}
