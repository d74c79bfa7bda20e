/**
 * One training loop for SGD, SAM and ASAM (Foret et al. 2021; Kwon et al. 2021): the base optimizer is SGD with
 * momentum, wrapped by `sharpnessAware` from @asam/core with the BatchNorm moving statistics as guarded state, so
 * the statistics come from the clean pass only. `model.fit` is never used: it would run the two-pass step's
 * closure in a way that updates BN statistics and metrics twice.
 *
 * A run directory holds `config.json` (resolved config), `metrics.csv` (one row per epoch), `result.json`,
 * `test-predictions-last.json` / `test-predictions-best.json` (per-image predicted and true labels of the last and
 * the best epoch),
 * `checkpoint.bin` (atomic; every epoch and optionally every N steps) and `label-noise.json` for noisy-label runs.
 * Data order and augmentation depend only on (seed, epoch, step), so a run resumes mid-epoch by skipping consumed
 * batches; on the deterministic cpu backend a resumed run ends bit-identical to an uninterrupted one.
 *
 * CIFAR is held in memory (`ImageBatcher`); ImageNet folders are decoded on the fly (`ImageFolderBatcher` of
 * @asam/data: random-resized-crop + flip for training, resize + centre crop for evaluation).
 */
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware, type SharpnessAwareOptimizer } from '@asam/core';
import {
  CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, IMAGENET_MEAN as DATA_IMAGENET_MEAN, IMAGENET_STD as DATA_IMAGENET_STD,
  ImageBatcher, ImageFolderBatcher, labelNoise, listImageFolder, loadCifar10, loadCifar100, resolveDataDir, Rng, saveLabelNoise,
  type ImageDataset, type ImageFolderIndex, type JpegDecoderPool, type RngState,
} from '@asam/data';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel, getModelSpec, type BuiltModel } from '../models/registry.ts';
import { learningRateAt, resolveConfig, type PartialTrainConfig, type TrainConfig } from './config.ts';
import { createParallelTrainer, type ParallelTrainer } from './parallel.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { writeFileAtomic } from '@asam/train';

/** ImageNet channel statistics in [0,1] units (torchvision; the constants of @asam/data). */
export const IMAGENET_MEAN: number[] = [...DATA_IMAGENET_MEAN];
export const IMAGENET_STD: number[] = [...DATA_IMAGENET_STD];

/** Progress report (per `progressEvery` steps and at the end of each epoch / evaluation). */
export interface TrainProgress {
  phase: 'train' | 'eval' | 'epoch_end';
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  /** Running mean train loss / accuracy of the current epoch. */
  loss: number;
  acc: number;
  lr: number;
  imagesPerSec: number;
  etaSeconds: number;
}

/** One row of metrics.csv. */
export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  test_top5: number | null;
  seconds: number;
  images_per_sec: number;
}

/** result.json. */
export interface TrainResult {
  /** 'stopped': `hooks.shouldStop` asked to stop; the checkpoint holds the last step and the run resumes from it. */
  status: 'completed' | 'diverged' | 'stopped';
  model: string;
  method: string;
  rho: number;
  epochs: number;
  epochsCompleted: number;
  steps: number;
  bestTestAcc: number | null;
  bestEpoch: number | null;
  finalTestAcc: number | null;
  finalTestTop5: number | null;
  /** Top-5 accuracy of the epoch with the best top-1 (ImageNet runs; null otherwise). */
  bestTestTop5: number | null;
  /** Output classes of the model (ImageNet: the lines of LOC_synset_mapping.txt when present, i.e. 1000). */
  numClasses: number;
  /** Images per epoch actually used for training and evaluation. */
  trainImages: number;
  evalImages: number;
  finalTestLoss: number | null;
  wallSeconds: number;
  meanStepSeconds: number | null;
  trainableParams: number;
  backend: string | null;
  resumedFrom: { epoch: number; step: number } | null;
  divergedAt: { epoch: number; step: number; loss: number } | null;
  outDir: string;
}

/** Caller-side options and callbacks (the library reads no environment itself). */
export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (m: EpochMetrics) => void;
  /** Backend name to record in result.json (the caller chose it). */
  backend?: string;
  /** Data directory (default: `resolveDataDir()` without env, i.e. the per-user cache). */
  dataDir?: string;
  /**
   * What to do when the run dir already holds a checkpoint: 'auto' (default) resumes it, 'never' refuses
   * (error), 'require' errors when there is none.
   */
  resume?: 'auto' | 'never' | 'require';
  /**
   * Supply in-memory datasets directly (batched by `ImageBatcher`; augment 'cifar' or 'none'); otherwise CIFAR is
   * loaded from dataDir, and ImageNet is read from `<dataDir>/<imagenetFolder>/{train,<evalSplit>}` on the fly.
   */
  datasets?: { train: ImageDataset; test: ImageDataset };
  /** ImageNet folders: decode JPEGs in these worker threads (default: on the main thread, between steps). */
  decoder?: JpegDecoderPool;
  /**
   * Asked after every step (e.g. set by a SIGTERM handler): when it returns true the run writes a checkpoint at that
   * step and returns with status 'stopped'; the same config resumes it from there.
   */
  shouldStop?: () => boolean;
}

/** One training batch with its index in the epoch. */
interface StepBatch { x: tf.Tensor4D; y: tf.Tensor1D; size: number; step: number }
/** What the loop needs from a batcher: a fixed number of steps per epoch, resumable at any step. */
interface BatchSource {
  stepsPerEpoch(): number;
  epoch(epoch: number, o: { startStep: number }): AsyncIterable<StepBatch>;
}

/** Adapts `ImageFolderBatcher` to the loop (its batches depend only on (seed, epoch, step)). */
function folderSource(b: ImageFolderBatcher): BatchSource {
  return {
    stepsPerEpoch: () => b.stepsPerEpoch(),
    // a mid-epoch resume reads and decodes only the remaining batches (they equal a full pass's)
    epoch: (epoch, { startStep }) => b.epoch(epoch, { startStep }),
  };
}

/** Where the images come from: in-memory datasets (CIFAR, `hooks.datasets`) or ImageNet folder indexes. */
type DataSource =
  | { kind: 'memory'; train: ImageDataset; test: ImageDataset }
  | { kind: 'folder'; train: ImageFolderIndex; test: ImageFolderIndex };

/** Training state stored in the checkpoint header. */
interface RunState {
  modelId: string;
  config: TrainConfig;
  /** Epoch in progress (0-based) and the number of its steps already taken. */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  rows: EpochMetrics[];
  /** Running sums of the epoch in progress. */
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  epochTrainSeconds: number;
  dropoutRng: RngState;
  wallSeconds: number;
  stepSecondsSum: number;
  stepsTimed: number;
}

/** Renders metrics rows as CSV (the top-5 column only for ImageNet runs). */
export function metricsCsv(rows: EpochMetrics[], withTop5: boolean): string {
  const cols = ['epoch', 'lr', 'train_loss', 'train_acc', 'test_loss', 'test_acc', ...(withTop5 ? ['test_top5'] : []), 'seconds', 'images_per_sec'];
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => { const v = r[c as keyof EpochMetrics]; return v === null ? '' : String(v); }).join(','));
  return lines.join('\n') + '\n';
}

function stripPrefix(name: string, prefix: string): string {
  return name.startsWith(`${prefix}.`) ? name.slice(prefix.length + 1) : name;
}

function diffFields(a: unknown, b: unknown, path = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffFields((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return a === b ? [] : [`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

/** Keeps the first `limit` files of a folder index (sorted (class, file) order, as `loadImageNet`'s limit). */
function limitIndex(ix: ImageFolderIndex, limit: number | null): ImageFolderIndex {
  return limit === null ? ix : { ...ix, entries: ix.entries.slice(0, limit) };
}

async function loadData(cfg: TrainConfig, hooks: TrainHooks): Promise<DataSource> {
  if (hooks.datasets) {
    if (cfg.augment === 'imagenet') throw new Error(`config.augment = "imagenet" needs an ImageNet folder; hooks.datasets (in memory) supports augment "cifar" or "none"`);
    return { kind: 'memory', ...hooks.datasets };
  }
  const root = hooks.dataDir ?? resolveDataDir();
  const tl = cfg.trainLimit === null ? {} : { limit: cfg.trainLimit };
  const vl = cfg.testLimit === null ? {} : { limit: cfg.testLimit };
  if (cfg.dataset === 'cifar10') return { kind: 'memory', train: await loadCifar10(root, 'train', tl), test: await loadCifar10(root, 'test', vl) };
  if (cfg.dataset === 'cifar100') return { kind: 'memory', train: await loadCifar100(root, 'train', tl), test: await loadCifar100(root, 'test', vl) };
  const dir = join(root, cfg.imagenetFolder);
  const train = limitIndex(await listImageFolder(dir, 'train'), cfg.trainLimit);
  const test = limitIndex(await listImageFolder(dir, cfg.evalSplit), cfg.testLimit);
  if (train.wnids.join(' ') !== test.wnids.join(' ')) {
    throw new Error(`${dir}: the class lists of train (${train.numClasses} classes, ${train.classSource}) and ${cfg.evalSplit} ` +
      `(${test.numClasses}, ${test.classSource}) differ; add LOC_synset_mapping.txt to ${dir} so both splits share one class index`);
  }
  for (const [name, ix] of [['train', train], [cfg.evalSplit, test]] as const) {
    if (ix.entries.length === 0) throw new Error(`${join(dir, name)}: no .JPEG/.jpg files in its <wnid> folders; check config.imagenetFolder (${JSON.stringify(cfg.imagenetFolder)})`);
  }
  return { kind: 'folder', train, test };
}

/**
 * A wasm abort inside a step is almost always the 4 GiB wasm heap running out: say so, with the fix.
 * (The wasm instance cannot continue after an abort; the last checkpoint is untouched.)
 */
export function explainStepError(e: unknown, cfg: TrainConfig, batchSize: number): Error {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/Aborted\(|out of memory|Cannot enlarge memory/i.test(msg)) return e instanceof Error ? e : new Error(msg);
  const suggest = Math.max(1, Math.floor(batchSize / 4));
  return new Error(`training step on a batch of ${batchSize} images (${cfg.model}) ran out of backend memory (${msg.split('\n')[0]}); ` +
    `the wasm heap is capped at 4 GiB: set microBatch (e.g. ${suggest}, CLI --micro-batch ${suggest}) to accumulate gradients over smaller slices, ` +
    `or lower batchSize. The last checkpoint in ${cfg.out} is unchanged: resume it with microBatch set (microBatch and workers may change on resume).`);
}

/** Serialises model variables (names without the instance prefix) and optimizer state. */
async function snapshot(built: BuiltModel, opt: SharpnessAwareOptimizer) {
  const tensors: { group: 'model' | 'optimizer'; name: string; shape: number[]; data: Float32Array | Int32Array }[] = [];
  let finite = true;
  for (const v of built.all) {
    const data = (await v.data()) as Float32Array;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) { finite = false; break; }
    tensors.push({ group: 'model', name: stripPrefix(v.name, built.prefix), shape: v.shape.slice(), data: Float32Array.from(data) });
  }
  const ow = await opt.getWeights();
  for (const w of ow) {
    const raw = await w.tensor.data();
    const data = w.tensor.dtype === 'int32' ? Int32Array.from(raw as Int32Array) : Float32Array.from(raw as Float32Array);
    tensors.push({ group: 'optimizer', name: w.name, shape: w.tensor.shape.slice(), data });
    if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose(); // fresh scalars (iteration counters); variables are live state
  }
  return { tensors, finite };
}

/** A run folder that cannot be started or resumed as asked (a user error: the message says what to do). */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

/**
 * Trains an image classifier with SGD / SAM / ASAM (one code path) and evaluates it every epoch.
 *
 * Per step t (global), with lr_t from the cosine schedule:
 *   L(w) = CE_smooth(f(x; w, BN in training mode), y),  w ← SharpnessAware(momentum SGD)(∇L at w + ε(w))
 * where ε is 0 (none), ρ g/‖g‖ (SAM) or ρ T_w² g/‖T_w g‖ (ASAM, T_w = |w| + η), computed by @asam/core.
 * Data: CIFAR in memory; ImageNet (`dataset: 'imagenet'`) from `<dataDir>/<imagenetFolder>/train` decoded on the fly
 * (random-resized-crop to imageSize + flip, or the eval transform with augment 'none') and evaluated on
 * `<evalSplit>` with resize ⌊imageSize·256/224⌉ + centre crop; ImageNet runs also record top-5 accuracy
 * (fraction of images whose label is among the 5 largest logits).
 * Writes config.json, metrics.csv, result.json and checkpoint.bin into `config.out`; resumes from the checkpoint
 * found there (see `TrainHooks.resume`). Returns the result (also in result.json). A non-finite loss stops the run
 * with status 'diverged' and leaves the last good checkpoint in place.
 */
export async function trainClassifier(partial: PartialTrainConfig | TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const cfg = resolveConfig(partial as PartialTrainConfig);
  const spec = getModelSpec(cfg.model); // unknown ids: error listing the valid ones
  if (cfg.dropout > 0 && !spec.hasDropout) throw new Error(`config.dropout = ${cfg.dropout}: model '${cfg.model}' has no dropout option; use 0`);
  const out = cfg.out;
  await mkdir(out, { recursive: true });
  const ckptPath = join(out, 'checkpoint.bin');
  const resumeMode = hooks.resume ?? 'auto';
  const hasCkpt = existsSync(ckptPath);
  if (hasCkpt && resumeMode === 'never') throw new ResumeError(`${ckptPath} exists; resume it, or choose another output directory`);
  if (!hasCkpt && resumeMode === 'require') throw new ResumeError(`cannot resume: no checkpoint at ${ckptPath}`);
  if (hasCkpt && existsSync(join(out, 'config.json'))) {
    // resolveConfig fills fields added since the run started with their defaults (and validates)
    const saved = resolveConfig(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as PartialTrainConfig);
    // microBatch and workers change how a step is computed, not what it computes (up to BatchNorm slicing): a run
    // may resume with other values, e.g. after running out of memory.
    const diff = diffFields({ ...saved, microBatch: null, workers: 1, progressEvery: 0 }, { ...cfg, microBatch: null, workers: 1, progressEvery: 0 });
    if (diff.length) throw new ResumeError(`cannot resume ${out}: its config.json differs from this config (${diff.join('; ')}); use the same settings or a new output directory`);
  }
  await writeFileAtomic(join(out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');

  const data = await loadData(cfg, hooks);
  const numClasses = data.train.numClasses;
  const isImageNet = cfg.dataset === 'imagenet';
  const mean = isImageNet ? IMAGENET_MEAN : cfg.dataset === 'cifar100' ? [...CIFAR100_MEAN] : [...CIFAR10_MEAN];
  const std = isImageNet ? IMAGENET_STD : cfg.dataset === 'cifar100' ? [...CIFAR100_STD] : [...CIFAR10_STD];

  const cleanTrainLabels = data.kind === 'memory' ? data.train.labels : Int32Array.from(data.train.entries, (e) => e.label);
  let trainLabels = cleanTrainLabels;
  if (cfg.labelNoise) {
    const noise = labelNoise(cleanTrainLabels, numClasses, { rate: cfg.labelNoise.rate, kind: cfg.labelNoise.kind, seed: cfg.seed });
    trainLabels = noise.labels;
    const p = join(out, 'label-noise.json');
    if (!existsSync(p)) await saveLabelNoise(p, noise, { kind: cfg.labelNoise.kind, rate: cfg.labelNoise.rate, seed: cfg.seed, numClasses });
  }

  let inputShape: [number, number, number];
  if (data.kind === 'memory') {
    inputShape = [data.train.height, data.train.width, data.train.channels];
    if (cfg.imageSize !== null && (data.train.height !== cfg.imageSize || data.train.width !== cfg.imageSize)) {
      throw new Error(`config.imageSize = ${cfg.imageSize} but hooks.datasets holds ${data.train.height}×${data.train.width} images; set imageSize to ${data.train.height} (square images) or supply images of that size`);
    }
  } else {
    const s = cfg.imageSize as number; // validated: an integer for ImageNet
    inputShape = [s, s, 3];
  }
  const built = buildModel(cfg.model, { numClasses, inputShape, seed: cfg.seed, dropout: cfg.dropout });
  const base = tf.train.momentum(cfg.lr, cfg.momentum, cfg.nesterov);
  const o = cfg.optimizer;
  const opt = sharpnessAware(base, {
    method: o.method, rho: o.rho, eta: o.eta, p: o.p, normalization: o.normalization, weightDecay: o.weightDecay,
    weightDecayInAscent: o.weightDecayInAscent, clipNorm: o.clipNorm, every: o.every,
  }, { guard: built.bnStats });
  let parallel: ParallelTrainer | null = null;

  try {
    if (cfg.workers > 1) {
      const backendName = tf.getBackend();
      if (backendName !== 'wasm' && backendName !== 'cpu') {
        throw new Error(`config.workers = ${cfg.workers} needs the wasm or cpu backend (worker_threads each run their own); this run is on '${backendName}': use workers 1`);
      }
      parallel = await createParallelTrainer(built, opt, cfg.workers, {
        model: cfg.model, numClasses, inputShape, seed: cfg.seed, dropout: cfg.dropout, labelSmoothing: cfg.labelSmoothing,
        sharpness: { method: o.method, rho: o.rho, eta: o.eta, p: o.p, normalization: o.normalization, weightDecay: o.weightDecay,
          weightDecayInAscent: o.weightDecayInAscent },
      }, backendName);
    }
    let batcher: BatchSource;
    let evalBatcher: { epoch(e: number): AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D; size: number }> };
    if (data.kind === 'memory') {
      const augment = cfg.augment === 'cifar' ? 'cifar' : 'none';
      batcher = new ImageBatcher(data.train, { batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed, augment, cutout: cfg.cutout, mean, std, labels: trainLabels });
      evalBatcher = new ImageBatcher(data.test, { batchSize: cfg.evalBatchSize, shuffle: false, seed: cfg.seed, augment: 'none', mean, std });
    } else {
      const size = cfg.imageSize as number;
      const trainIndex: ImageFolderIndex = trainLabels === cleanTrainLabels ? data.train
        : { ...data.train, entries: data.train.entries.map((e, i) => ({ ...e, label: trainLabels[i] as number })) };
      const decoder = hooks.decoder ? { decoder: hooks.decoder } : {};
      batcher = folderSource(new ImageFolderBatcher(trainIndex, {
        batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed, mode: cfg.augment === 'imagenet' ? 'train' : 'eval', size, mean, std, ...decoder,
      }));
      evalBatcher = new ImageFolderBatcher(data.test, { batchSize: cfg.evalBatchSize, shuffle: false, seed: cfg.seed, mode: 'eval', size, mean, std, ...decoder });
    }
    const trainImages = data.kind === 'memory' ? data.train.n : data.train.entries.length;
    const evalImages = data.kind === 'memory' ? data.test.n : data.test.entries.length;
    const stepsPerEpoch = Math.min(batcher.stepsPerEpoch(), cfg.maxStepsPerEpoch ?? Infinity);
    const totalSteps = cfg.epochs * stepsPerEpoch;

    let st: RunState = {
      modelId: cfg.model, config: cfg, epoch: 0, stepInEpoch: 0, globalStep: 0, rows: [],
      epochLossSum: 0, epochCorrect: 0, epochSeen: 0, epochTrainSeconds: 0,
      dropoutRng: Rng.derive(cfg.seed, 0x0d70).getState(), wallSeconds: 0, stepSecondsSum: 0, stepsTimed: 0,
    };
    let resumedFrom: TrainResult['resumedFrom'] = null;
    if (hasCkpt) {
      const ck = await readCheckpoint<RunState>(ckptPath);
      const byName = new Map(ck.tensors.filter((t) => t.meta.group === 'model').map((t) => [t.meta.name, t]));
      for (const v of built.all) {
        const key = stripPrefix(v.name, built.prefix);
        const t = byName.get(key);
        if (!t) throw new Error(`${ckptPath}: no tensor '${key}' (checkpoint of another model?)`);
        if (t.data.length !== v.size) throw new Error(`${ckptPath}: tensor '${key}' has ${t.data.length} values, model needs ${v.size}`);
        const val = tf.tensor(t.data, v.shape, 'float32');
        v.assign(val);
        val.dispose();
      }
      const ow = ck.tensors.filter((t) => t.meta.group === 'optimizer')
        .map((t) => ({ name: t.meta.name, tensor: tf.tensor(t.data, t.meta.shape, t.meta.dtype) }));
      await opt.setWeights(ow);
      for (const w of ow) w.tensor.dispose();
      st = ck.state;
      resumedFrom = { epoch: st.epoch, step: st.stepInEpoch };
    }

    const dropoutRng = Rng.fromState(st.dropoutRng);
    built.setDropoutSeeds({ nextSeed: () => dropoutRng.nextU32() });
    const wallStart = performance.now() - st.wallSeconds * 1000;
    const nowWall = () => (performance.now() - wallStart) / 1000;

    const saveCheckpoint = async (): Promise<boolean> => {
      const snap = await snapshot(built, opt);
      if (!snap.finite) return false;
      st.dropoutRng = dropoutRng.getState();
      st.wallSeconds = nowWall();
      await writeCheckpoint(ckptPath, st, snap.tensors);
      return true;
    };

    const finish = async (status: TrainResult['status'], divergedAt: TrainResult['divergedAt']): Promise<TrainResult> => {
      let best: EpochMetrics | null = null;
      for (const r of st.rows) if (!best || r.test_acc > best.test_acc) best = r;
      const last = st.rows[st.rows.length - 1] ?? null;
      const result: TrainResult = {
        status, model: cfg.model, method: o.method, rho: o.rho, epochs: cfg.epochs, epochsCompleted: st.rows.length,
        steps: st.globalStep, bestTestAcc: best?.test_acc ?? null, bestEpoch: best?.epoch ?? null,
        finalTestAcc: last?.test_acc ?? null, finalTestTop5: last?.test_top5 ?? null, bestTestTop5: best?.test_top5 ?? null,
        numClasses, trainImages, evalImages, finalTestLoss: last?.test_loss ?? null,
        wallSeconds: nowWall(), meanStepSeconds: st.stepsTimed ? st.stepSecondsSum / st.stepsTimed : null,
        trainableParams: built.trainableParams, backend: hooks.backend ?? null, resumedFrom, divergedAt, outDir: out,
      };
      await writeFileAtomic(join(out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
      return result;
    };

    const lossOf = (logits: tf.Tensor, y: tf.Tensor1D): tf.Scalar => {
      const onehot = tf.oneHot(y, numClasses);
      return tf.losses.softmaxCrossEntropy(onehot, logits as tf.Tensor2D, undefined, cfg.labelSmoothing) as tf.Scalar;
    };

    for (; st.epoch < cfg.epochs; ) {
      const epoch = st.epoch;
      let lr = learningRateAt(cfg, st.globalStep, totalSteps);
      if (st.stepInEpoch < stepsPerEpoch) {
        for await (const batch of batcher.epoch(epoch, { startStep: st.stepInEpoch })) {
          if (batch.step >= stepsPerEpoch) { batch.x.dispose(); batch.y.dispose(); break; }
          const t0 = performance.now();
          lr = learningRateAt(cfg, st.globalStep, totalSteps);
          opt.setLearningRate(lr);
          // Correct predictions of the clean pass, one count per slice (the first call for a slice is its clean pass).
          const cleanCorrect = new Map<number, tf.Tensor>();
          let lossT: tf.Scalar | null = null;
          let lossV = NaN;
          let correct = 0;
          const n = batch.size;
          const slices = cfg.microBatch === null ? 1 : Math.min(n, Math.ceil(n / cfg.microBatch));
          if (opt.config.microBatches !== slices) opt.setMicroBatches(slices);
          try {
            if (parallel !== null) {
              const r = await parallel.step(batch.x as tf.Tensor4D, batch.y, () => dropoutRng.nextU32());
              lossV = r.loss;
              correct = r.correct;
            } else {
              lossT = opt.minimize((part) => {
                let x: tf.Tensor = batch.x;
                let y: tf.Tensor1D = batch.y;
                let weight = 1;
                if (part !== undefined) {
                  // Slice `index` of `count` near-equal slices, its loss weighted by size·count/n so that the mean over
                  // slices is the whole-batch mean loss.
                  const lo = Math.floor((part.index * n) / part.count);
                  const hi = Math.floor(((part.index + 1) * n) / part.count);
                  x = tf.slice(batch.x, [lo, 0, 0, 0], [hi - lo, -1, -1, -1]);
                  y = tf.slice(batch.y, [lo], [hi - lo]);
                  weight = ((hi - lo) * part.count) / n;
                }
                const logits = built.model.apply(x, { training: true }) as tf.Tensor;
                const key = part?.index ?? 0;
                if (!cleanCorrect.has(key)) cleanCorrect.set(key, tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'))));
                const l = lossOf(logits, y);
                return weight === 1 ? l : tf.mul(l, weight) as tf.Scalar;
              }, true, built.trainable);
              lossV = (await lossT!.data())[0] as number;
              for (const c of cleanCorrect.values()) correct += (await c.data())[0] as number;
            }
          } catch (e) {
            throw explainStepError(e, cfg, batch.size);
          } finally {
            lossT?.dispose();
            tf.dispose([...cleanCorrect.values()]);
            batch.x.dispose();
            batch.y.dispose();
          }
          const dt = (performance.now() - t0) / 1000;
          if (!Number.isFinite(lossV)) {
            return await finish('diverged', { epoch, step: st.stepInEpoch, loss: lossV });
          }
          st.epochLossSum += lossV * batch.size;
          st.epochCorrect += correct;
          st.epochSeen += batch.size;
          st.epochTrainSeconds += dt;
          st.stepSecondsSum += dt;
          st.stepsTimed++;
          st.stepInEpoch++;
          st.globalStep++;
          const done = st.stepInEpoch >= stepsPerEpoch;
          if (hooks.onProgress && (done || st.stepInEpoch % cfg.progressEvery === 0)) {
            const meanStep = st.stepSecondsSum / st.stepsTimed;
            hooks.onProgress({
              phase: 'train', epoch, epochs: cfg.epochs, step: st.stepInEpoch, stepsPerEpoch, globalStep: st.globalStep, totalSteps,
              loss: st.epochLossSum / st.epochSeen, acc: st.epochCorrect / st.epochSeen, lr,
              imagesPerSec: st.epochSeen / Math.max(1e-9, st.epochTrainSeconds), etaSeconds: meanStep * (totalSteps - st.globalStep),
            });
          }
          if (!done && cfg.checkpointEverySteps !== null && st.globalStep % cfg.checkpointEverySteps === 0) {
            if (!(await saveCheckpoint())) return await finish('diverged', { epoch, step: st.stepInEpoch, loss: NaN });
          }
          if (!done && hooks.shouldStop?.()) {
            if (!(await saveCheckpoint())) return await finish('diverged', { epoch, step: st.stepInEpoch, loss: NaN });
            return await finish('stopped', null);
          }
          if (done) break;
        }
      }

      // evaluation on the clean test set
      const te0 = performance.now();
      let tLoss = 0;
      let top1 = 0;
      let top5 = 0;
      let seen = 0;
      const predicted: number[] = [];
      const labels: number[] = [];
      for await (const b of evalBatcher.epoch(0)) {
        const [l, c1, c5, pred] = tf.tidy(() => {
          const logits = built.model.apply(b.x, { training: false }) as tf.Tensor2D;
          const onehot = tf.oneHot(b.y, numClasses);
          const lsum = tf.losses.softmaxCrossEntropy(onehot, logits, undefined, 0, tf.Reduction.SUM);
          const c1 = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), b.y), 'int32'));
          const k = Math.min(5, numClasses);
          const idx = tf.topk(logits, k).indices;
          const c5 = tf.sum(tf.cast(tf.equal(idx, tf.expandDims(b.y, 1)), 'int32'));
          return [lsum, c1, c5, tf.argMax(logits, 1)];
        });
        for (const v of await pred.data()) predicted.push(v as number);
        for (const v of await b.y.data()) labels.push(v as number);
        pred.dispose();
        tLoss += (await l.data())[0] as number;
        top1 += (await c1.data())[0] as number;
        top5 += (await c5.data())[0] as number;
        seen += b.size;
        l.dispose(); c1.dispose(); c5.dispose(); b.x.dispose(); b.y.dispose();
      }
      const evalSeconds = (performance.now() - te0) / 1000;
      const row: EpochMetrics = {
        epoch: epoch + 1, lr,
        train_loss: st.epochLossSum / Math.max(1, st.epochSeen), train_acc: st.epochCorrect / Math.max(1, st.epochSeen),
        test_loss: tLoss / Math.max(1, seen), test_acc: top1 / Math.max(1, seen), test_top5: isImageNet ? top5 / Math.max(1, seen) : null,
        seconds: st.epochTrainSeconds + evalSeconds, images_per_sec: st.epochSeen / Math.max(1e-9, st.epochTrainSeconds),
      };
      if (!Number.isFinite(row.test_loss)) {
        return await finish('diverged', { epoch, step: st.stepInEpoch, loss: row.test_loss });
      }
      // Per-image test predictions of the last epoch and of the best epoch so far (bootstrap intervals over test images).
      const preds = JSON.stringify({ epoch: row.epoch, test_acc: row.test_acc, labels, predicted }) + '\n';
      const bestSoFar = st.rows.reduce((m, r) => Math.max(m, r.test_acc), -Infinity);
      if (row.test_acc > bestSoFar) await writeFileAtomic(join(out, 'test-predictions-best.json'), preds);
      await writeFileAtomic(join(out, 'test-predictions-last.json'), preds);
      st.rows.push(row);
      st.epoch++;
      st.stepInEpoch = 0;
      st.epochLossSum = 0; st.epochCorrect = 0; st.epochSeen = 0; st.epochTrainSeconds = 0;
      await writeFileAtomic(join(out, 'metrics.csv'), metricsCsv(st.rows, isImageNet));
      if (!(await saveCheckpoint())) { st.rows.pop(); return await finish('diverged', { epoch, step: stepsPerEpoch, loss: NaN }); }
      if (st.epoch < cfg.epochs && hooks.shouldStop?.()) return await finish('stopped', null);
      hooks.onEpoch?.(row);
      hooks.onProgress?.({
        phase: 'epoch_end', epoch, epochs: cfg.epochs, step: stepsPerEpoch, stepsPerEpoch, globalStep: st.globalStep, totalSteps,
        loss: row.train_loss, acc: row.train_acc, lr, imagesPerSec: row.images_per_sec,
        etaSeconds: (st.stepsTimed ? st.stepSecondsSum / st.stepsTimed : 0) * (totalSteps - st.globalStep) + evalSeconds * (cfg.epochs - st.epoch),
      });
    }
    return await finish('completed', null);
  } finally {
    await parallel?.close();
    opt.dispose();
    built.dispose();
  }
}
