/**
 * Training configuration: the paper's CIFAR recipe as defaults (Kwon et al. 2021, §5.1, following Foret et al. 2021:
 * SGD momentum 0.9, lr 0.1, cosine schedule, weight decay 5e-4, batch 128, label smoothing 0.1, crop + flip,
 * 200 epochs), and an ImageNet recipe when `dataset: 'imagenet'` (see `IMAGENET_RECIPE`), validated at the
 * boundary. Errors name the field, the value and the valid range.
 */
import type { Method } from '@asam/core';

/** Sharpness-aware part of the config (passed to `sharpnessAware` of @asam/core). */
export interface OptimizerConfig {
  /** 'none' = plain SGD (the same code path with ρ = 0). */
  method: Method;
  /** Neighbourhood radius ρ; default 0 (none), 0.05 (sam), 0.5 (asam) — the paper's CIFAR-10 values. */
  rho: number;
  /** ASAM η (T_w = |w| + η); default 0.01. */
  eta: number;
  p: 2 | 'inf';
  normalization: 'elementwise' | 'filterwise';
  /** Coupled L2 weight decay added to the descent gradient; default 5e-4. */
  weightDecay: number;
  weightDecayInAscent: boolean;
  /** Global-norm clipping of the descent gradient; null = off. */
  clipNorm: number | null;
  /** Take a sharpness-aware step every k steps (plain steps in between); default 1. */
  every: number;
}

/** Full training config (what `config.json` holds). */
export interface TrainConfig {
  /** Registry id, e.g. 'resnet20'. */
  model: string;
  dataset: 'cifar10' | 'cifar100' | 'imagenet';
  /** Run directory (config.json, metrics.csv, result.json, checkpoint.bin). */
  out: string;
  seed: number;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  /** Peak learning rate of the schedule. */
  lr: number;
  momentum: number;
  nesterov: boolean;
  /** 'cosine': lr_t = lr · ½(1 + cos(π t / T)), per step; 'constant'. */
  schedule: 'cosine' | 'constant';
  optimizer: OptimizerConfig;
  labelSmoothing: number;
  /**
   * Train-time augmentation. 'cifar': pad 4 + random 32×32 crop + flip (CIFAR only). 'imagenet':
   * random-resized-crop (scale [0.08, 1], aspect [3/4, 4/3]) to imageSize + flip (ImageNet only). 'none': CIFAR
   * images as they are; ImageNet images with the eval transform (resize to ⌊imageSize·256/224⌉, centre crop).
   */
  augment: 'cifar' | 'imagenet' | 'none';
  cutout: number;
  /** Dropout rate (models with a dropout option only, e.g. WRN). */
  dropout: number;
  /** Synthetic label noise on the train labels (evaluation stays on clean test labels). */
  labelNoise: { rate: number; kind: 'symmetric' | 'pairflip' } | null;
  /** Use only the first N train / test images (null = all). */
  trainLimit: number | null;
  testLimit: number | null;
  /** Cap on steps per epoch (null = the full epoch). */
  maxStepsPerEpoch: number | null;
  /** Also checkpoint every N optimizer steps (null = only at epoch ends). */
  checkpointEverySteps: number | null;
  /**
   * Gradient accumulation: at most this many images per forward/backward pass; a batch of B images is evaluated in
   * ⌈B / microBatch⌉ slices whose gradients are averaged (size-weighted), SAM/ASAM perturbing with the accumulated
   * whole-batch gradient. null = the whole batch at once. Needed where a batch does not fit memory (the wasm heap is
   * capped at 4 GiB: ResNet-20 at batch 256 aborts). BatchNorm statistics are per slice.
   */
  microBatch: number | null;
  /**
   * Data-parallel worker_threads (one per core: tfjs-wasm runs one thread per process). Each step the batch is
   * cut into `workers` contiguous shards trained in parallel; SAM/ASAM take ε from the averaged gradient, so the
   * step is the whole-batch step with BatchNorm per shard (as `microBatch` = batch/workers). Default 1 (no workers).
   * Needs the wasm or cpu backend; not combined with `microBatch`.
   */
  workers: number;
  /** Report progress every N steps. */
  progressEvery: number;
  /** ImageNet only: folder under the data dir holding `train/<wnid>/*.JPEG`, `val/<wnid>/*.JPEG` (default 'imagenet'). */
  imagenetFolder: string;
  /**
   * Side of the square network input. ImageNet: crop size (default 224; small values such as 32–64 for CPU tests;
   * evaluation resizes the shorter side to ⌊imageSize·256/224⌉ first). CIFAR: null (native 32×32).
   */
  imageSize: number | null;
  /**
   * ImageNet only: the split evaluated every epoch, 'val' (default) or 'train' (for folders without a val split,
   * e.g. the sample folder; the figures are then training-set figures). CIFAR always uses its test split ('val').
   */
  evalSplit: 'val' | 'train';
}

/** Partial config accepted by `resolveConfig` (optimizer fields may be partial too). */
export type PartialTrainConfig = Partial<Omit<TrainConfig, 'optimizer'>> & {
  model: string;
  out: string;
  optimizer?: Partial<OptimizerConfig>;
};

/** Thrown for invalid config values; the message names field, value, valid range and fix. */
export class TrainConfigError extends Error {
  constructor(readonly field: string, readonly value: unknown, readonly valid: string) {
    super(`config.${field} = ${JSON.stringify(value)} is invalid: expected ${valid}`);
    this.name = 'TrainConfigError';
  }
}

/** ρ default per method (Kwon et al. 2021, Table 2 settings for CIFAR-10). */
export const DEFAULT_RHO: Record<Method, number> = { none: 0, sam: 0.05, asam: 0.5 };

/**
 * Defaults that differ when `dataset: 'imagenet'`: ResNet-50-style recipe, 100 epochs, batch 512, peak lr 0.2
 * (= 0.1 per 256 images, the linear scaling rule of Goyal et al. 2017) with per-step cosine decay, momentum 0.9,
 * weight decay 1e-4 (torchvision's ImageNet value), label smoothing 0.1, random-resized-crop 224 + flip for
 * training, resize 256 + centre crop 224 for evaluation; ρ SAM 0.1 / ASAM 1.0. The exact hyper-parameters of
 * Kwon et al. 2021's ImageNet run could not be checked against the paper text here; see the package README.
 * Where batch 512 does not fit the device at once, set `microBatch` (gradient accumulation) rather than changing the recipe.
 */
export const IMAGENET_RECIPE = {
  epochs: 100, batchSize: 512, lr: 0.2, weightDecay: 1e-4, labelSmoothing: 0.1, augment: 'imagenet', imageSize: 224,
  rho: { none: 0, sam: 0.1, asam: 1.0 } as Record<Method, number>,
} as const;

const TOP_KEYS: (keyof TrainConfig)[] = ['model', 'dataset', 'out', 'seed', 'epochs', 'batchSize', 'evalBatchSize', 'lr', 'momentum',
  'nesterov', 'schedule', 'optimizer', 'labelSmoothing', 'augment', 'cutout', 'dropout', 'labelNoise', 'trainLimit', 'testLimit',
  'maxStepsPerEpoch', 'checkpointEverySteps', 'microBatch', 'workers', 'progressEvery', 'imagenetFolder', 'imageSize', 'evalSplit'];
const OPT_KEYS: (keyof OptimizerConfig)[] = ['method', 'rho', 'eta', 'p', 'normalization', 'weightDecay', 'weightDecayInAscent', 'clipNorm', 'every'];

function num(field: string, v: unknown, o: { min?: number; max?: number; gt?: number; lt?: number; int?: boolean; nullable?: boolean }): void {
  if (v === null && o.nullable) return;
  const range = [
    o.int ? 'an integer' : 'a finite number',
    o.min !== undefined ? `>= ${o.min}` : o.gt !== undefined ? `> ${o.gt}` : '',
    o.max !== undefined ? `<= ${o.max}` : o.lt !== undefined ? `< ${o.lt}` : '',
    o.nullable ? '(or null)' : '',
  ].filter(Boolean).join(' ');
  if (typeof v !== 'number' || !Number.isFinite(v) || (o.int && !Number.isInteger(v))
    || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)
    || (o.gt !== undefined && !(v > o.gt)) || (o.lt !== undefined && !(v < o.lt))) {
    throw new TrainConfigError(field, v, range);
  }
}

function oneOf<T>(field: string, v: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(v as T)) throw new TrainConfigError(field, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
}

function bool(field: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TrainConfigError(field, v, 'true or false');
}

/**
 * Fills every missing field with the paper's CIFAR recipe (or `IMAGENET_RECIPE` when `dataset` is 'imagenet')
 * and validates the result. Unknown fields are refused
 * (typos would otherwise silently fall back to defaults). Does not check that the model id exists (the trainer
 * does, with the registry's list of valid ids).
 */
export function resolveConfig(partial: PartialTrainConfig): TrainConfig {
  if (partial === null || typeof partial !== 'object') throw new TrainConfigError('(root)', partial, 'an object');
  for (const k of Object.keys(partial)) {
    if (!TOP_KEYS.includes(k as keyof TrainConfig)) throw new TrainConfigError(k, (partial as Record<string, unknown>)[k], `no such field; valid fields: ${TOP_KEYS.join(', ')}`);
  }
  const po = partial.optimizer ?? {};
  if (po === null || typeof po !== 'object') throw new TrainConfigError('optimizer', po, 'an object');
  for (const k of Object.keys(po)) {
    if (!OPT_KEYS.includes(k as keyof OptimizerConfig)) throw new TrainConfigError(`optimizer.${k}`, (po as Record<string, unknown>)[k], `no such field; valid fields: ${OPT_KEYS.join(', ')}`);
  }
  const method = po.method ?? 'asam';
  oneOf('optimizer.method', method, ['none', 'sam', 'asam'] as const);
  const dataset = partial.dataset ?? 'cifar10';
  const inet = dataset === 'imagenet';
  const optimizer: OptimizerConfig = {
    method,
    rho: po.rho ?? (inet ? IMAGENET_RECIPE.rho : DEFAULT_RHO)[method],
    eta: po.eta ?? 0.01,
    p: po.p ?? 2,
    normalization: po.normalization ?? 'elementwise',
    weightDecay: po.weightDecay ?? (inet ? IMAGENET_RECIPE.weightDecay : 5e-4),
    weightDecayInAscent: po.weightDecayInAscent ?? false,
    clipNorm: po.clipNorm ?? null,
    every: po.every ?? 1,
  };
  const c: TrainConfig = {
    model: partial.model,
    dataset,
    out: partial.out,
    seed: partial.seed ?? 0,
    epochs: partial.epochs ?? (inet ? IMAGENET_RECIPE.epochs : 200),
    batchSize: partial.batchSize ?? (inet ? IMAGENET_RECIPE.batchSize : 128),
    evalBatchSize: partial.evalBatchSize ?? 256,
    lr: partial.lr ?? (inet ? IMAGENET_RECIPE.lr : 0.1),
    momentum: partial.momentum ?? 0.9,
    nesterov: partial.nesterov ?? false,
    schedule: partial.schedule ?? 'cosine',
    optimizer,
    labelSmoothing: partial.labelSmoothing ?? (inet ? IMAGENET_RECIPE.labelSmoothing : 0.1),
    augment: partial.augment ?? (inet ? IMAGENET_RECIPE.augment : 'cifar'),
    cutout: partial.cutout ?? 0,
    dropout: partial.dropout ?? 0,
    labelNoise: partial.labelNoise ?? null,
    trainLimit: partial.trainLimit ?? null,
    testLimit: partial.testLimit ?? null,
    maxStepsPerEpoch: partial.maxStepsPerEpoch ?? null,
    checkpointEverySteps: partial.checkpointEverySteps ?? null,
    microBatch: partial.microBatch ?? null,
    workers: partial.workers ?? 1,
    progressEvery: partial.progressEvery ?? 10,
    imagenetFolder: partial.imagenetFolder ?? 'imagenet',
    imageSize: partial.imageSize !== undefined ? partial.imageSize : inet ? IMAGENET_RECIPE.imageSize : null,
    evalSplit: partial.evalSplit ?? 'val',
  };
  validateConfig(c);
  return c;
}

/** Validates a full config (e.g. one read back from config.json). */
export function validateConfig(c: TrainConfig): void {
  if (typeof c.model !== 'string' || !/^[a-z][a-z0-9_]*$/.test(c.model)) throw new TrainConfigError('model', c.model, 'a registry id (lower_snake), e.g. "resnet20"; see listModels()');
  oneOf('dataset', c.dataset, ['cifar10', 'cifar100', 'imagenet'] as const);
  if (typeof c.out !== 'string' || c.out.length === 0) throw new TrainConfigError('out', c.out, 'a non-empty directory path for the run');
  num('seed', c.seed, { int: true, min: 0, max: 2 ** 31 - 1 });
  num('epochs', c.epochs, { int: true, min: 1, max: 100000 });
  num('batchSize', c.batchSize, { int: true, min: 1, max: 65536 });
  num('evalBatchSize', c.evalBatchSize, { int: true, min: 1, max: 65536 });
  num('lr', c.lr, { gt: 0 });
  num('momentum', c.momentum, { min: 0, lt: 1 });
  bool('nesterov', c.nesterov);
  oneOf('schedule', c.schedule, ['cosine', 'constant'] as const);
  const o = c.optimizer;
  if (o === null || typeof o !== 'object') throw new TrainConfigError('optimizer', o, 'an object');
  oneOf('optimizer.method', o.method, ['none', 'sam', 'asam'] as const);
  num('optimizer.rho', o.rho, { min: 0 });
  if (o.method === 'none' && o.rho !== 0) throw new TrainConfigError('optimizer.rho', o.rho, '0 when optimizer.method is "none" (use method "sam" or "asam" for rho > 0)');
  num('optimizer.eta', o.eta, { min: 0 });
  oneOf('optimizer.p', o.p, [2, 'inf'] as const);
  oneOf('optimizer.normalization', o.normalization, ['elementwise', 'filterwise'] as const);
  num('optimizer.weightDecay', o.weightDecay, { min: 0, max: 1 });
  bool('optimizer.weightDecayInAscent', o.weightDecayInAscent);
  num('optimizer.clipNorm', o.clipNorm, { gt: 0, nullable: true });
  num('optimizer.every', o.every, { int: true, min: 1 });
  num('labelSmoothing', c.labelSmoothing, { min: 0, lt: 1 });
  oneOf('augment', c.augment, ['cifar', 'imagenet', 'none'] as const);
  const inet = c.dataset === 'imagenet';
  if (inet && c.augment === 'cifar') throw new TrainConfigError('augment', c.augment, '"imagenet" (random-resized-crop + flip) or "none" for dataset "imagenet"; "cifar" is the 32×32 pad-and-crop');
  if (!inet && c.augment === 'imagenet') throw new TrainConfigError('augment', c.augment, `"cifar" or "none" for dataset ${JSON.stringify(c.dataset)}; "imagenet" needs dataset "imagenet"`);
  num('cutout', c.cutout, { int: true, min: 0, max: 64 });
  if (c.cutout > 0 && c.augment !== 'cifar') throw new TrainConfigError('cutout', c.cutout, '0 unless augment is "cifar"');
  num('dropout', c.dropout, { min: 0, lt: 1 });
  if (c.labelNoise !== null) {
    if (typeof c.labelNoise !== 'object') throw new TrainConfigError('labelNoise', c.labelNoise, 'null or {rate, kind}');
    num('labelNoise.rate', c.labelNoise.rate, { min: 0, lt: 1 });
    oneOf('labelNoise.kind', c.labelNoise.kind, ['symmetric', 'pairflip'] as const);
  }
  num('trainLimit', c.trainLimit, { int: true, min: 1, nullable: true });
  num('testLimit', c.testLimit, { int: true, min: 1, nullable: true });
  num('maxStepsPerEpoch', c.maxStepsPerEpoch, { int: true, min: 1, nullable: true });
  num('checkpointEverySteps', c.checkpointEverySteps, { int: true, min: 1, nullable: true });
  num('microBatch', c.microBatch, { int: true, min: 1, nullable: true });
  num('workers', c.workers, { int: true, min: 1, max: 64 });
  if (c.workers > 1 && c.microBatch !== null) throw new TrainConfigError('microBatch', c.microBatch, 'null when workers > 1 (each worker takes one shard of the batch; lower batchSize or use one worker with microBatch)');
  if (c.workers > c.batchSize) throw new TrainConfigError('workers', c.workers, `at most batchSize (${c.batchSize}): each worker needs at least one image`);
  num('progressEvery', c.progressEvery, { int: true, min: 1 });
  if (typeof c.imagenetFolder !== 'string' || c.imagenetFolder.trim() === '') {
    throw new TrainConfigError('imagenetFolder', c.imagenetFolder, 'a non-empty folder name under the data dir, e.g. "imagenet" or "imagenet-samples"');
  }
  oneOf('evalSplit', c.evalSplit, ['val', 'train'] as const);
  if (inet) {
    num('imageSize', c.imageSize, { int: true, min: 8, max: 1024 });
  } else {
    if (c.imageSize !== null) throw new TrainConfigError('imageSize', c.imageSize, `null for dataset ${JSON.stringify(c.dataset)} (CIFAR images are 32×32; imageSize is the ImageNet crop size)`);
    if (c.evalSplit !== 'val') throw new TrainConfigError('evalSplit', c.evalSplit, `"val" for dataset ${JSON.stringify(c.dataset)} (CIFAR is evaluated on its test split; "train" is for ImageNet folders without a val split)`);
  }
}

/**
 * Learning rate at global step t of T: cosine annealing lr·½(1 + cos(π t/T)) (Loshchilov & Hutter 2017, no
 * restarts, per step) or constant.
 */
export function learningRateAt(c: Pick<TrainConfig, 'lr' | 'schedule'>, step: number, totalSteps: number): number {
  if (c.schedule === 'constant') return c.lr;
  const t = Math.min(Math.max(step, 0), totalSteps);
  return c.lr * 0.5 * (1 + Math.cos((Math.PI * t) / Math.max(1, totalSteps)));
}
