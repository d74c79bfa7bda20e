/**
 * Workloads of `bench:engine`, built from the project's own models and training steps so that the
 * figures describe what the trainers run:
 *
 * - ResNet-20: `buildModel('resnet20')` from @asam/vision (CIFAR 32x32x3, option-A shortcuts), random
 *   images; softmax cross-entropy as in vision's trainer; momentum 0.9 wrapped by @asam/core's
 *   `sharpnessAware` with the BatchNorm moving statistics guarded (the trainer's code path).
 * - Transformer: @asam/nmt's `Transformer` with the `transformer_small` preset (3+3 layers, d 256,
 *   4 heads, FFN 1024, all embeddings shared) and a joint vocabulary of 8000; random sentence pairs;
 *   one update is nmt's `trainStep` (mean label-smoothed loss, ε = 0.1) with Adam wrapped by
 *   `sharpnessAware`.
 *
 * Step kinds: `forward` (eval mode, no gradient), `sgd` (method 'none': one forward+backward and the
 * base optimizer step), `sam` and `asam` (two forward+backward passes). Each kind: 1 warm-up step,
 * then `steps` timed steps; every step reads the loss back (`dataSync`) so all work has finished when
 * the clock stops.
 */
import { sharpnessAware, type SharpnessConfig } from '@asam/core';
import { UsageError } from '@asam/cli';
import { initEngine, nativeKernels, type BackendRequest, type EngineInfo } from '@asam/engine';
import { collate, getPreset, meanLabelSmoothedLoss, trainStep, Transformer, type TokenizedPair } from '@asam/nmt';
import { createDataParallel } from '@asam/train';
import { buildModel } from '@asam/vision';
import * as tf from '@tensorflow/tfjs-core';
import { KINDS, median, type DataParallelTiming, type Kind, type Timing, type WorkloadResult } from './common.ts';
import { createTaskModel, type ResNetReplicaOptions } from './resnet-replica.ts';

/** Sharpness-aware settings of the SAM / ASAM steps (CIFAR-10 values of Kwon et al. 2021). */
export const STEP_CONFIGS: Record<Exclude<Kind, 'forward'>, SharpnessConfig> = {
  sgd: { method: 'none', rho: 0 },
  sam: { method: 'sam', rho: 0.05 },
  asam: { method: 'asam', rho: 0.5, eta: 0.01 },
};

/** The Transformer preset and vocabulary used by the bench (ids: 0 pad, 1 BOS, 2 EOS). */
export const TRANSFORMER_BENCH = { preset: 'transformer_small', vocab: 8000, pad: 0, bos: 1, eos: 2, labelSmoothing: 0.1 } as const;

/**
 * `initEngine` for the backend named by `--backend`: one that does not load on this machine is a UsageError
 * (one line: which backend, why), as the user can name another.
 */
export async function initNamedBackend(backend: BackendRequest): Promise<EngineInfo> {
  try {
    return await initEngine({ backend });
  } catch (e) {
    throw new UsageError(`--backend ${backend} does not load here: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const rssMiB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);

/**
 * Times the step kinds side by side: one warm-up step of each kind, then `steps` rounds that run every
 * kind once in turn (forward, SGD, SAM, ASAM), so slow drifts of the machine affect all kinds alike and
 * the ratios compare neighbouring steps. Records tensors and RSS after each step; growth is counted per
 * kind from its first timed step (all kinds warmed up) to its last.
 */
function timeKinds(run: Record<Kind, () => void>, steps: number, log: (s: string) => void) {
  const samples = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
  const after = Object.fromEntries(KINDS.map((k) => [k, [] as { tensors: number; rss: number }[]])) as Record<Kind, { tensors: number; rss: number }[]>;
  const tensors: number[] = [];
  const rss: number[] = [];
  for (let round = 0; round <= steps; round++) {
    for (const kind of KINDS) {
      const t0 = performance.now();
      run[kind]();
      const ms = performance.now() - t0;
      if (round > 0) samples[kind].push(ms);
      const t = tf.memory().numTensors;
      const r = rssMiB();
      tensors.push(t);
      rss.push(r);
      after[kind].push({ tensors: t, rss: r });
      log(`    ${kind} ${round === 0 ? 'warm-up' : `step ${round}/${steps}`}: ${(ms / 1000).toFixed(2)} s`);
    }
  }
  const out = {} as Record<Kind, Timing>;
  const growth = {} as Record<Kind, { tensors: number; rssMiB: number }>;
  for (const kind of KINDS) {
    const a = after[kind];
    // from the first timed round (every kind has warmed up by then: optimizer state exists) to the last
    const first = a[Math.min(1, a.length - 1)]!;
    growth[kind] = { tensors: a.at(-1)!.tensors - first.tensors, rssMiB: a.at(-1)!.rss - first.rss };
    out[kind] = { medianMs: median(samples[kind]), samplesMs: samples[kind] };
  }
  return { steps: out, tensorsAfterEachStep: tensors, rssMiBAfterEachStep: rss, growthAfterWarmup: growth };
}

/** ResNet-20 (@asam/vision) at `batch` random 32x32x3 images: forward / SGD / SAM / ASAM step times. */
export function benchResNet(batch: number, steps: number, log: (s: string) => void): WorkloadResult {
  const built = buildModel('resnet20', { numClasses: 10, seed: 1 });
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const onehot = tf.oneHot(labels, 10);
  const lossFn = (): tf.Scalar =>
    tf.losses.softmaxCrossEntropy(onehot, built.model.apply(x, { training: true }) as tf.Tensor2D) as tf.Scalar;
  const opts = {
    sgd: sharpnessAware(tf.train.momentum(0.05, 0.9), STEP_CONFIGS.sgd, { guard: built.bnStats }),
    sam: sharpnessAware(tf.train.momentum(0.05, 0.9), STEP_CONFIGS.sam, { guard: built.bnStats }),
    asam: sharpnessAware(tf.train.momentum(0.05, 0.9), STEP_CONFIGS.asam, { guard: built.bnStats }),
  };
  const minimize = (opt: tf.Optimizer) => (): void => {
    const loss = opt.minimize(lossFn, true, built.trainable);
    if (!loss) throw new Error('optimizer.minimize returned no loss');
    loss.dataSync();
    loss.dispose();
  };
  try {
    const r = timeKinds({
      forward: () => tf.tidy(() => { (built.model.apply(x, { training: false }) as tf.Tensor).dataSync(); }),
      sgd: minimize(opts.sgd), sam: minimize(opts.sam), asam: minimize(opts.asam),
    }, steps, log);
    return { batch, unitsPerStep: batch, unit: 'img', ...r };
  } finally {
    tf.dispose([x, labels, onehot]);
    for (const o of Object.values(opts)) o.dispose();
    built.dispose();
  }
}

/**
 * `b` random sentence pairs: row i has seq − (i mod 3) source and target ids (ids in [3, vocab) then
 * EOS), so a collated batch is [b, seq] with 0–2 trailing pads per row.
 */
export function randomPairs(b: number, seq: number, vocab: number, seed: number): TokenizedPair[] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return 3 + (a % (vocab - 3));
  };
  return Array.from({ length: b }, (_, i) => {
    const len = seq - (i % 3);
    const row = (): Int32Array => {
      const v = Int32Array.from({ length: len }, next);
      v[len - 1] = TRANSFORMER_BENCH.eos;
      return v;
    };
    return { src: row(), tgt: row() };
  });
}

/** @asam/nmt Transformer (`transformer_small`, V = 8000) at `batch` pairs of length `seq`: step times. */
export function benchTransformer(batch: number, seq: number, steps: number, log: (s: string) => void): WorkloadResult {
  const T = TRANSFORMER_BENCH;
  const model = new Transformer({ arch: getPreset(T.preset).arch, srcVocabSize: T.vocab, tgtVocabSize: T.vocab, padId: T.pad, seed: 3, name: 'bench_transformer' });
  const pairs = randomPairs(batch, seq, T.vocab, 1);
  const b = collate(pairs, pairs.map((_, i) => i), { pad: T.pad, bos: T.bos });
  const mk = (k: Exclude<Kind, 'forward'>) => sharpnessAware(tf.train.adam(1e-4, 0.9, 0.98, 1e-8), STEP_CONFIGS[k]);
  const opts = { sgd: mk('sgd'), sam: mk('sam'), asam: mk('asam') };
  let update = 0;
  const step = (opt: tf.Optimizer) => (): void => {
    trainStep(model, opt, b, { labelSmoothing: T.labelSmoothing, dropoutSeed: update++ });
  };
  try {
    const r = timeKinds({
      forward: () => tf.tidy(() => {
        meanLabelSmoothedLoss(model.forward(b.src, b.prevTokens, false), b.target, { epsilon: T.labelSmoothing, padId: T.pad }).dataSync();
      }),
      sgd: step(opts.sgd), sam: step(opts.sam), asam: step(opts.asam),
    }, steps, log);
    return { batch, unitsPerStep: b.targetTokens, unit: 'tok', ...r };
  } finally {
    tf.dispose([b.src, b.prevTokens, b.target]);
    for (const o of Object.values(opts)) o.dispose();
    model.dispose();
  }
}

/**
 * ResNet-20 steps through @asam/train's data-parallel trainer (`createDataParallel`: wasm worker threads, each
 * building `resnet-replica.ts`; the main thread keeps weights, BatchNorm statistics and the optimizer and sends them
 * with every shard): momentum SGD with the global batch on 1 worker and split over 2 workers, and ASAM (ε from the
 * averaged clean gradient, CIFAR-10 settings) over 2 workers. Keys: `workers1`, `workers2`, `asamWorkers2`. The main
 * thread runs on wasm, as a `train()` run with workers does; after the timed steps its weights must be finite.
 */
export async function benchDataParallel(batch: number, steps: number, log: (s: string) => void): Promise<Record<string, DataParallelTiming>> {
  await initNamedBackend('wasm');
  const xv = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < xv.length; i++) xv[i] = Math.sin(i * 12.9898) * 0.5;
  const x = tf.tensor4d(xv, [batch, 32, 32, 3]);
  const y = tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const replica = { module: new URL('./resnet-replica.ts', import.meta.url), options: { seed: 1 } satisfies ResNetReplicaOptions };
  const out: Record<string, DataParallelTiming> = {};
  const runs: { key: string; workers: number; sharpness: SharpnessConfig }[] = [
    { key: 'workers1', workers: 1, sharpness: STEP_CONFIGS.sgd },
    { key: 'workers2', workers: 2, sharpness: STEP_CONFIGS.sgd },
    { key: 'asamWorkers2', workers: 2, sharpness: STEP_CONFIGS.asam },
  ];
  try {
    for (const { key, workers, sharpness } of runs) {
      const model = createTaskModel(replica.options);
      const optimizer = sharpnessAware(tf.train.momentum(0.05, 0.9), sharpness);
      const dp = await createDataParallel(model, optimizer, replica, workers, 'wasm');
      try {
        const samples: number[] = [];
        for (let i = 0; i <= steps; i++) {
          const t0 = performance.now();
          await dp.step({ tensors: { x, y }, rows: batch, weight: batch }, i);
          const ms = performance.now() - t0;
          if (i > 0) samples.push(ms);
          log(`    ${key} ${i === 0 ? 'warm-up' : `step ${i}/${steps}`}: ${(ms / 1000).toFixed(2)} s`);
        }
        const bad = model.trainable.find((v) => !tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0]));
        if (bad !== undefined) throw new Error(`data-parallel ${key}: weight '${bad.name}' is not finite after ${steps + 1} steps`);
        const medianMs = median(samples);
        out[key] = { medianMs, imgPerSec: batch / (medianMs / 1000), samplesMs: samples, native: nativeKernels() !== undefined };
      } finally {
        await dp.close();
        optimizer.dispose();
        model.dispose();
      }
    }
  } finally {
    tf.dispose([x, y]);
  }
  return out;
}
