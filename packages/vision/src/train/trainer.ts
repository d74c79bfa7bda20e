/**
 * Image classification on the training runtime of @asam/train: SGD, SAM and ASAM through one code path (momentum SGD
 * wrapped by `sharpnessAware` of @asam/core, BatchNorm moving statistics guarded so they come from the clean pass).
 * This file is the task's own part: data (CIFAR in memory, ImageNet folders decoded on the fly), the model and loss
 * (task-model.ts), the evaluation and the schedule, registered as a task spec (`visionTask`, trained by @asam/train's
 * `runTask`); the run folder, checkpoints, resume, micro-batches, workers and progress are the runtime's.
 *
 * config.json: `{ format: 'asam-config/1', task: 'vision', runtime: RuntimeConfig, config: VisionTaskConfig }`. The
 * runtime section keeps the names this trainer's flat config always had (`out`, `epochs`, `checkpointEverySteps`,
 * `workers`, `microBatch`, `progressEvery`), so a flat config.json of an older run (e.g. a committed benchmark cell)
 * resumes through the same split (see `splitVisionConfig` and @asam/train's `readRunConfig`).
 *
 * The run folder holds the runtime's files (config.json, metrics.csv with `test_*` columns, result.json,
 * checkpoint.bin) and the task's: `test-predictions-last.json` / `test-predictions-best.json` (per-image predicted and
 * true labels of the last and the best epoch) and `label-noise.json` for noisy-label runs.
 * Data order and augmentation depend only on (seed, epoch, step), so a run resumes mid-epoch by skipping consumed
 * batches; on a deterministic backend a resumed run ends bit-identical to an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware } from '@asam/core';
import {
  CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, IMAGENET_MEAN as DATA_IMAGENET_MEAN, IMAGENET_STD as DATA_IMAGENET_STD,
  ImageBatcher, ImageFolderBatcher, labelNoise, listImageFolder, loadCifar10, loadCifar100, resolveDataDir, saveLabelNoise,
  type ImageDataset, type ImageFolderIndex, type JpegDecoderPool,
} from '@asam/data';
import {
  constantSchedule, cosineSchedule, readRunConfig, refuseRuntimeFields, ResumeError, runTask, siblingModule, writeFileAtomic, type Evaluation, type MetricsRow,
  type ResumePolicy, type RunResult, type RuntimeConfig, type TaskRun, type TaskSpec, type TrainingTask, type TrainProgress,
} from '@asam/train';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { getModelSpec } from '../models/registry.ts';
import { resolveConfig, TrainConfigError, type PartialTrainConfig, type TrainConfig } from './config.ts';
import { VISION_METRICS } from './metrics.ts';
import { createTaskModel, type ClassifierModelOptions } from './task-model.ts';

export { ResumeError };

/** ImageNet channel statistics in [0,1] units (torchvision; the constants of @asam/data). */
export const IMAGENET_MEAN: number[] = [...DATA_IMAGENET_MEAN];
export const IMAGENET_STD: number[] = [...DATA_IMAGENET_STD];

/** Fields of a flat {@link TrainConfig} that are the runtime section's (`RuntimeConfig`, the same names) in a run's config.json. */
export const VISION_RUNTIME_FIELDS = ['out', 'epochs', 'checkpointEverySteps', 'workers', 'microBatch', 'progressEvery'] as const;

/** The vision task's own config section: a {@link TrainConfig} without the runtime's fields. */
export type VisionTaskConfig = Omit<TrainConfig, (typeof VISION_RUNTIME_FIELDS)[number]>;

/** Splits a resolved flat config into the runtime section (with `resume`) and the task's. */
export function splitVisionConfig(cfg: TrainConfig, resume: ResumePolicy = 'auto'): { runtime: RuntimeConfig; task: VisionTaskConfig } {
  const { out, epochs, checkpointEverySteps, workers, microBatch, progressEvery, ...task } = cfg;
  return { runtime: { out, epochs, maxSteps: null, resume, checkpointEverySteps, workers, microBatch, progressEvery }, task };
}

/** Caller-side options and callbacks (the library reads no environment itself). */
export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (m: MetricsRow) => void;
  onLog?: (message: string) => void;
  /** Backend name to record in result.json (the caller chose it). */
  backend?: string;
  /** Data directory (default: `resolveDataDir()` without env, i.e. the per-user cache). */
  dataDir?: string;
  /** What to do when the run dir already holds a checkpoint (see @asam/train): 'auto' (default), 'never', 'require'. */
  resume?: ResumePolicy;
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

/** Where the images come from: in-memory datasets (CIFAR, `hooks.datasets`) or ImageNet folder indexes. */
type DataSource =
  | { kind: 'memory'; train: ImageDataset; test: ImageDataset }
  | { kind: 'folder'; train: ImageFolderIndex; test: ImageFolderIndex };

/** Keeps the first `limit` files of a folder index (sorted (class, file) order, as `loadImageNet`'s limit). */
function limitIndex(ix: ImageFolderIndex, limit: number | null): ImageFolderIndex {
  return limit === null ? ix : { ...ix, entries: ix.entries.slice(0, limit) };
}

async function loadData(cfg: VisionTaskConfig, hooks: VisionDataOptions & { dataDir: string }): Promise<DataSource> {
  if (hooks.datasets) {
    if (cfg.augment === 'imagenet') throw new Error(`config.augment = "imagenet" needs an ImageNet folder; hooks.datasets (in memory) supports augment "cifar" or "none"`);
    return { kind: 'memory', ...hooks.datasets };
  }
  const root = hooks.dataDir;
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
export function explainStepError(e: unknown, cfg: Pick<TrainConfig, 'model' | 'out'>, batchSize: number): Error {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/Aborted\(|out of memory|Cannot enlarge memory/i.test(msg)) return e instanceof Error ? e : new Error(msg);
  const suggest = Math.max(1, Math.floor(batchSize / 4));
  return new Error(`training step on a batch of ${batchSize} images (${cfg.model}) ran out of backend memory (${msg.split('\n')[0]}); ` +
    `the wasm heap is capped at 4 GiB: set microBatch (e.g. ${suggest}, CLI --micro-batch ${suggest}) to accumulate gradients over smaller slices, ` +
    `or lower batchSize. The last checkpoint in ${cfg.out} is unchanged: resume it with microBatch set (microBatch and workers may change on resume).`);
}

/** Test-set evaluation: mean loss, top-1 accuracy, top-5 (ImageNet) and the per-image predictions. */
async function evaluateClassifier(model: { apply(x: tf.Tensor, o: { training: boolean }): tf.Tensor | tf.Tensor[] | unknown },
  batches: AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D; size: number }>, numClasses: number, withTop5: boolean) {
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let seen = 0;
  const predicted: number[] = [];
  const labels: number[] = [];
  for await (const b of batches) {
    const [l, c1, c5, pred] = tf.tidy(() => {
      const logits = model.apply(b.x, { training: false }) as tf.Tensor2D;
      const lsum = tf.losses.softmaxCrossEntropy(tf.oneHot(b.y, numClasses), logits, undefined, 0, tf.Reduction.SUM);
      const c1 = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), b.y), 'int32'));
      const idx = tf.topk(logits, Math.min(5, numClasses)).indices;
      const c5 = tf.sum(tf.cast(tf.equal(idx, tf.expandDims(b.y, 1)), 'int32'));
      return [lsum, c1, c5, tf.argMax(logits, 1)];
    });
    for (const v of await pred.data()) predicted.push(v as number);
    for (const v of await b.y.data()) labels.push(v as number);
    lossSum += (await l.data())[0] as number;
    top1 += (await c1.data())[0] as number;
    top5 += (await c5.data())[0] as number;
    seen += b.size;
    tf.dispose([l, c1, c5, pred, b.x, b.y]);
  }
  const n = Math.max(1, seen);
  return { metrics: { loss: lossSum / n, acc: top1 / n, ...(withTop5 ? { top5: top5 / n } : {}) }, labels, predicted };
}

/** In-memory datasets or a JPEG decoder pool for a vision run (tests, benchmarks): see {@link TrainHooks}. */
export interface VisionDataOptions {
  datasets?: TrainHooks['datasets'];
  decoder?: TrainHooks['decoder'];
}

/** The model, optimizer, data, evaluation and schedule of one image-classification run (the vision spec's `createTask`). */
async function createVisionRun(cfg: VisionTaskConfig, runtime: RuntimeConfig, env: { dataDir: string }, data0: VisionDataOptions): Promise<TaskRun> {
  const spec = getModelSpec(cfg.model); // unknown ids: error listing the valid ones
  if (cfg.dropout > 0 && !spec.hasDropout) throw new Error(`config.dropout = ${cfg.dropout}: model '${cfg.model}' has no dropout option; use 0`);
  if (runtime.workers > cfg.batchSize) throw new TrainConfigError('workers', runtime.workers, `at most batchSize (${cfg.batchSize}): each worker needs at least one image`);
  const out = runtime.out;
  await mkdir(out, { recursive: true });

  const data = await loadData(cfg, { ...data0, dataDir: env.dataDir });
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

  let trainBatches: { stepsPerEpoch(): number; epoch(e: number, o: { startStep: number }): AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D; size: number }> };
  let evalBatches: { epoch(e: number): AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D; size: number }> };
  if (data.kind === 'memory') {
    const augment = cfg.augment === 'cifar' ? 'cifar' : 'none';
    trainBatches = new ImageBatcher(data.train, { batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed, augment, cutout: cfg.cutout, mean, std, labels: trainLabels });
    evalBatches = new ImageBatcher(data.test, { batchSize: cfg.evalBatchSize, shuffle: false, seed: cfg.seed, augment: 'none', mean, std });
  } else {
    const size = cfg.imageSize as number;
    const trainIndex: ImageFolderIndex = trainLabels === cleanTrainLabels ? data.train
      : { ...data.train, entries: data.train.entries.map((e, i) => ({ ...e, label: trainLabels[i] as number })) };
    const decoder = data0.decoder ? { decoder: data0.decoder } : {};
    trainBatches = new ImageFolderBatcher(trainIndex, {
      batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed, mode: cfg.augment === 'imagenet' ? 'train' : 'eval', size, mean, std, ...decoder,
    });
    evalBatches = new ImageFolderBatcher(data.test, { batchSize: cfg.evalBatchSize, shuffle: false, seed: cfg.seed, mode: 'eval', size, mean, std, ...decoder });
  }
  const trainImages = data.kind === 'memory' ? data.train.n : data.train.entries.length;
  const evalImages = data.kind === 'memory' ? data.test.n : data.test.entries.length;
  const stepsPerEpoch = Math.min(trainBatches.stepsPerEpoch(), cfg.maxStepsPerEpoch ?? Infinity);

  const modelOptions: ClassifierModelOptions = {
    model: cfg.model, numClasses, inputShape, seed: cfg.seed, dropout: cfg.dropout, labelSmoothing: cfg.labelSmoothing,
    perturbedDropout: cfg.optimizer.perturbedDropout,
  };
  const model = createTaskModel(modelOptions);
  const o = cfg.optimizer;
  const optimizer = sharpnessAware(tf.train.momentum(cfg.lr, cfg.momentum, cfg.nesterov), {
    method: o.method, rho: o.rho, eta: o.eta, p: o.p, normalization: o.normalization, weightDecay: o.weightDecay,
    weightDecayInAscent: o.weightDecayInAscent, clipNorm: o.clipNorm, every: o.every, normalizeParams: o.normalizeParams,
    bnStatistics: o.bnStatistics,
  }, { guard: model.statistics });

  const task: TrainingTask = {
    model, optimizer, evalSplit: 'test', unit: 'images', bestMetric: 'acc',
    replica: { module: siblingModule('./task-model', import.meta.url), options: modelOptions },
    stepsPerEpoch: () => stepsPerEpoch,
    async *batches(epoch, startStep) {
      for await (const b of trainBatches.epoch(epoch, { startStep })) {
        yield { tensors: { x: b.x, y: b.y }, rows: b.size, weight: b.size };
      }
    },
    async evaluate(epoch): Promise<Evaluation> {
      const r = await evaluateClassifier(model.built.model, evalBatches.epoch(0), numClasses, isImageNet);
      const write = (kind: 'last' | 'best') => writeFileAtomic(join(out, `test-predictions-${kind}.json`),
        JSON.stringify({ epoch: epoch + 1, test_acc: r.metrics.acc, labels: r.labels, predicted: r.predicted }) + '\n');
      return { metrics: r.metrics, save: write };
    },
    summary: () => ({
      kind: 'image-classification', model: cfg.model, dataset: cfg.dataset, method: o.method, rho: o.rho, numClasses,
      trainImages, evalImages, stepsPerEpoch,
    }),
  };
  return {
    task,
    schedule: cfg.schedule === 'constant' ? constantSchedule(cfg.lr) : cosineSchedule(cfg.lr),
    explainStepError: (e, batch) => explainStepError(e, { model: cfg.model, out }, batch.rows),
    dispose: () => { optimizer.dispose(); model.dispose(); },
  };
}

/** Runtime fields a vision task section may not hold (they are `RuntimeConfig`'s, under the same names). */
const RUNTIME_KEYS = new Set<string>(VISION_RUNTIME_FIELDS);

/**
 * The image-classification task as a registered task: config section = {@link TrainConfig} less the runtime fields
 * (defaults: the paper's CIFAR recipe, or the ImageNet recipe), metric vocabulary {@link VISION_METRICS}. `data`
 * supplies in-memory datasets or a decoder pool (tests); without it CIFAR / ImageNet are read from the data folder.
 * A config.json of the trainer before the runtime section (one flat TrainConfig) resumes through the same names.
 */
export function createVisionTaskSpec(data: VisionDataOptions = {}): TaskSpec<VisionTaskConfig> {
  return {
    id: 'vision',
    title: 'image classification (CIFAR-10/100, ImageNet) with SGD, SAM or ASAM',
    metrics: VISION_METRICS,
    artifacts: ['label-noise.json', 'test-predictions-last.json', 'test-predictions-best.json'],
    scheduleSpansRun: true, // cosine over epochs × steps per epoch
    parseConfig(raw, source) {
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) refuseRuntimeFields(raw as Record<string, unknown>, source);
      const full = resolveConfig({ ...(raw as object), out: '-' } as PartialTrainConfig);
      return Object.fromEntries(Object.entries(full).filter(([k]) => !RUNTIME_KEYS.has(k))) as VisionTaskConfig;
    },
    runtimeDefaults: (c) => {
      const d = resolveConfig({ model: c.model, dataset: c.dataset, out: '-' });
      return { epochs: d.epochs, progressEvery: d.progressEvery };
    },
    createTask: (c, runtime, env) => createVisionRun(c, runtime, env, data),
  };
}

/**
 * The flat {@link TrainConfig} of a run's config.json (this layout, or the flat one of older runs): what the vision
 * CLI resumes and `trainClassifier` takes. Throws a ConfigError naming the field (`maxSteps` has no flat field: refused).
 */
export function visionConfigOfRun(raw: unknown, source = 'config.json'): TrainConfig {
  const { runtime: r, task } = readRunConfig(visionTask, raw, source);
  if (r.maxSteps !== null) throw new TrainConfigError('runtime.maxSteps', r.maxSteps, 'null for a flat vision config (trainClassifier has no step cap); run it with runTask(visionTask, …)');
  return resolveConfig({ ...task, out: r.out, epochs: r.epochs, checkpointEverySteps: r.checkpointEverySteps, workers: r.workers, microBatch: r.microBatch, progressEvery: r.progressEvery });
}

/** The vision task spec reading its data from the data folder (what the `asam` CLI and benchmark cells register). */
export const visionTask: TaskSpec<VisionTaskConfig> = createVisionTaskSpec();

/**
 * Trains an image classifier with SGD / SAM / ASAM on @asam/train's runtime and evaluates it on the test split every
 * epoch (see the module comment). Per step t, with lr_t from the cosine (or constant) schedule:
 *   L(w) = CE_smooth(f(x; w, BN in training mode), y),  w ← SharpnessAware(momentum SGD)(∇L at w + ε(w))
 * where ε is 0 (none), ρ g/‖g‖ (SAM) or ρ T_w² g/‖T_w g‖ (ASAM, T_w = |w| + η), computed by @asam/core.
 * ImageNet (`dataset: 'imagenet'`): `<dataDir>/<imagenetFolder>/train` with random-resized-crop + flip, evaluated on
 * `<evalSplit>` with resize ⌊imageSize·256/224⌉ + centre crop, with top-5 accuracy. Returns result.json's content.
 */
export async function trainClassifier(partial: PartialTrainConfig | TrainConfig, hooks: TrainHooks = {}): Promise<RunResult> {
  const cfg = resolveConfig(partial as PartialTrainConfig);
  const { runtime, task } = splitVisionConfig(cfg, hooks.resume ?? 'auto');
  return runTask(createVisionTaskSpec({ datasets: hooks.datasets, decoder: hooks.decoder }), { runtime, task }, {
    dataDir: hooks.dataDir ?? resolveDataDir(), backend: hooks.backend ?? null,
    onProgress: hooks.onProgress, onEpoch: hooks.onEpoch, onLog: hooks.onLog, shouldStop: hooks.shouldStop,
  });
}
