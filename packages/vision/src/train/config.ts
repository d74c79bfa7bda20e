/**
 * Training configuration: the paper's CIFAR recipe as defaults (Kwon et al. 2021, §5.1, following Foret et al. 2021:
 * SGD momentum 0.9, lr 0.1, cosine schedule, weight decay 5e-4, batch 128, label smoothing 0.1, crop + flip,
 * 200 epochs), and an ImageNet recipe when `dataset: 'imagenet'` (see `IMAGENET_RECIPE`), validated at the
 * boundary by one zod schema (`partialTrainConfigSchema` → defaults → `trainConfigSchema`, through @asam/train's
 * `parseConfig`). Errors name the field, the value, the valid range and the fix, on one line.
 */
import type { Method } from '@asam/core';
import {
  addConfigIssue, booleanField, ConfigError, configJsonSchema, DEFAULT_PERTURBED_DROPOUT, nonEmptyString, nullableNumberField, numberField, oneOf,
  parseConfig, PERTURBED_DROPOUT, PERTURBED_DROPOUT_DESCRIPTION, type PerturbedDropout,
} from '@asam/train';
import { z } from 'zod';

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
  /** ASAM: which variables T_w normalizes (@asam/core `NormalizeParams`); default 'except-bias-and-beta' (the paper). */
  normalizeParams: 'except-bias-and-beta' | 'all';
  /** Which pass sets the BatchNorm moving statistics (@asam/core `BnStatistics`); default 'clean-pass'. */
  bnStatistics: 'clean-pass' | 'both-passes';
  /** Dropout masks of the perturbed pass (@asam/train `PerturbedDropout`): 'reuse' the clean pass's (default) or 'resample'. */
  perturbedDropout: PerturbedDropout;
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

/** Thrown for invalid config values; the message names field, value, valid range and fix (one line: CLIs exit 2). */
export class TrainConfigError extends ConfigError {
  constructor(field: string, value: unknown, valid: string) {
    super(field, value, valid, 'config');
    this.name = 'TrainConfigError';
  }

  /** The valid range and fix (the `expected` of ConfigError; the name this class had before). */
  get valid(): string {
    return this.expected;
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

/** The CIFAR recipe's defaults of the fields whose default does not depend on the dataset or method. */
const OPTIMIZER_DEFAULTS = {
  method: 'asam', eta: 0.01, p: 2, normalization: 'elementwise', weightDecayInAscent: false, clipNorm: null, every: 1,
  normalizeParams: 'except-bias-and-beta', bnStatistics: 'clean-pass', perturbedDropout: DEFAULT_PERTURBED_DROPOUT,
} as const;
const DEFAULTS = {
  dataset: 'cifar10', seed: 0, evalBatchSize: 256, momentum: 0.9, nesterov: false, schedule: 'cosine', cutout: 0, dropout: 0, labelNoise: null,
  trainLimit: null, testLimit: null, maxStepsPerEpoch: null, checkpointEverySteps: null, microBatch: null, workers: 1, progressEvery: 10,
  imagenetFolder: 'imagenet', evalSplit: 'val',
} as const;
/** CIFAR defaults of the fields `IMAGENET_RECIPE` changes. */
const CIFAR_RECIPE = { epochs: 200, batchSize: 128, lr: 0.1, weightDecay: 5e-4, labelSmoothing: 0.1, augment: 'cifar', imageSize: null } as const;

const ID_RE = /^[a-z][a-z0-9_]*$/;
const byDataset = (cifar: unknown, inet: unknown): string => `${JSON.stringify(cifar)} (ImageNet: ${JSON.stringify(inet)})`;

/** Field schemas (each with its whole valid range as error text) and their descriptions for the JSON Schema. */
const optimizerFields = {
  method: [oneOf(['none', 'sam', 'asam']), `'none' = plain SGD (the same code path with ρ = 0), 'sam' or 'asam'. Default "asam".`],
  rho: [numberField({ min: 0 }), 'Neighbourhood radius ρ. Default per method: none 0, sam 0.05, asam 0.5 (ImageNet: sam 0.1, asam 1.0).'],
  eta: [numberField({ min: 0 }), 'ASAM η (T_w = |w| + η). Default 0.01.'],
  p: [oneOf([2, 'inf']), 'Norm of the neighbourhood ball. Default 2.'],
  normalization: [oneOf(['elementwise', 'filterwise']), 'ASAM normalization. Default "elementwise".'],
  weightDecay: [numberField({ min: 0, max: 1 }), `Coupled L2 weight decay added to the descent gradient. Default ${byDataset(5e-4, 1e-4)}.`],
  weightDecayInAscent: [booleanField(), 'Also add weight decay to the ascent gradient. Default false.'],
  clipNorm: [nullableNumberField({ gt: 0 }), 'Global-norm clipping of the descent gradient; null = off (default).'],
  every: [numberField({ int: true, min: 1 }), 'Take a sharpness-aware step every k steps (plain steps in between). Default 1.'],
  normalizeParams: [oneOf(['except-bias-and-beta', 'all']), 'ASAM: the variables T_w normalizes, "except-bias-and-beta" (the paper; default) or "all".'],
  bnStatistics: [oneOf(['clean-pass', 'both-passes']), 'Which pass sets the BatchNorm moving statistics: "clean-pass" (default, google-research/sam) or "both-passes" (PyTorch SAM without disabling them).'],
  perturbedDropout: [oneOf(PERTURBED_DROPOUT), PERTURBED_DROPOUT_DESCRIPTION],
} satisfies Record<keyof OptimizerConfig, [z.ZodType, string]>;

const labelNoiseSchema = z.looseObject({ // loose: the hand-written validator kept extra keys, and resolved configs must not change
  rate: numberField({ min: 0, lt: 1 }),
  kind: oneOf(['symmetric', 'pairflip']),
}, { error: 'null or {rate, kind}' }).nullable();

const topFields = {
  model: [z.string({ error: 'a registry id (lower_snake), e.g. "resnet20"; see listModels()' }).regex(ID_RE), 'Registry id, e.g. "resnet20" (see --list-models).'],
  dataset: [oneOf(['cifar10', 'cifar100', 'imagenet']), 'Default "cifar10". "imagenet" switches the defaults to the ImageNet recipe.'],
  out: [nonEmptyString('a non-empty directory path for the run'), 'Run directory (config.json, metrics.csv, result.json, checkpoint.bin).'],
  seed: [numberField({ int: true, min: 0, max: 2 ** 31 - 1 }), 'Default 0.'],
  epochs: [numberField({ int: true, min: 1, max: 100000 }), `Default ${byDataset(200, 100)}.`],
  batchSize: [numberField({ int: true, min: 1, max: 65536 }), `Default ${byDataset(128, 512)}.`],
  evalBatchSize: [numberField({ int: true, min: 1, max: 65536 }), 'Default 256.'],
  lr: [numberField({ gt: 0 }), `Peak learning rate of the schedule. Default ${byDataset(0.1, 0.2)}.`],
  momentum: [numberField({ min: 0, lt: 1 }), 'Default 0.9.'],
  nesterov: [booleanField(), 'Default false.'],
  schedule: [oneOf(['cosine', 'constant']), "'cosine': lr_t = lr · ½(1 + cos(π t / T)), per step (default); 'constant'."],
  optimizer: [null, 'Sharpness-aware part (any field may be left out).'],
  labelSmoothing: [numberField({ min: 0, lt: 1 }), 'Default 0.1.'],
  augment: [oneOf(['cifar', 'imagenet', 'none']), `'cifar': pad 4 + random crop + flip; 'imagenet': random-resized-crop + flip; 'none'. Default ${byDataset('cifar', 'imagenet')}.`],
  cutout: [numberField({ int: true, min: 0, max: 64 }), 'Cutout square side (augment "cifar" only). Default 0.'],
  dropout: [numberField({ min: 0, lt: 1 }), 'Dropout rate (models with a dropout option only, e.g. WRN). Default 0.'],
  labelNoise: [labelNoiseSchema, 'Synthetic label noise on the train labels: {rate, kind: "symmetric" | "pairflip"}; null = none (default).'],
  trainLimit: [nullableNumberField({ int: true, min: 1 }), 'Use only the first N train images; null = all (default).'],
  testLimit: [nullableNumberField({ int: true, min: 1 }), 'Use only the first N test images; null = all (default).'],
  maxStepsPerEpoch: [nullableNumberField({ int: true, min: 1 }), 'Cap on steps per epoch; null = the full epoch (default).'],
  checkpointEverySteps: [nullableNumberField({ int: true, min: 1 }), 'Also checkpoint every N optimizer steps; null = only at epoch ends (default).'],
  microBatch: [nullableNumberField({ int: true, min: 1 }), 'Gradient accumulation: at most this many images per forward/backward pass; null = the whole batch (default).'],
  workers: [numberField({ int: true, min: 1, max: 64 }), 'Data-parallel worker threads (wasm or cpu backend; not with microBatch). Default 1.'],
  progressEvery: [numberField({ int: true, min: 1 }), 'Report progress every N steps. Default 10.'],
  imagenetFolder: [z.string({ error: 'a non-empty folder name under the data dir, e.g. "imagenet" or "imagenet-samples"' }).trim().min(1), 'ImageNet only: folder under the data dir. Default "imagenet".'],
  imageSize: [z.union([numberField({ int: true, min: 8, max: 1024 }), z.null()], { error: 'an integer >= 8 <= 1024 (the ImageNet crop size), or null (CIFAR)' }),
    'Side of the square network input: ImageNet crop size (default 224); null for CIFAR (native 32×32, the default there).'],
  evalSplit: [oneOf(['val', 'train']), "ImageNet only: the split evaluated every epoch, 'val' (default) or 'train'. CIFAR: 'val'."],
} satisfies Record<keyof TrainConfig, [z.ZodType | null, string]>;

const optimizerSchema = z.strictObject(Object.fromEntries(Object.entries(optimizerFields).map(([k, [s, d]]) => [k, s.describe(d)])), { error: 'an object' }) as unknown as z.ZodType<OptimizerConfig>;
const partialOptimizerSchema = z.strictObject(Object.fromEntries(Object.entries(optimizerFields).map(([k, [s, d]]) => [k, s.optional().describe(d)])), { error: 'an object' });

const REQUIRED = new Set(['model', 'out']);
function shape(partial: boolean): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(topFields).map(([k, [s, d]]) => {
    const field = k === 'optimizer' ? (partial ? partialOptimizerSchema : optimizerSchema) : s!;
    return [k, (partial && !REQUIRED.has(k) ? field.optional() : field).describe(d)];
  }));
}

/** Cross-field rules of a complete config (each names the fix). */
function crossChecks(c: TrainConfig, ctx: z.RefinementCtx): void {
  const o = c.optimizer;
  if (o.method === 'none' && o.rho !== 0) addConfigIssue(ctx, ['optimizer', 'rho'], o.rho, '0 when optimizer.method is "none" (use method "sam" or "asam" for rho > 0)');
  const inet = c.dataset === 'imagenet';
  if (inet && c.augment === 'cifar') addConfigIssue(ctx, ['augment'], c.augment, '"imagenet" (random-resized-crop + flip) or "none" for dataset "imagenet"; "cifar" is the 32×32 pad-and-crop');
  if (!inet && c.augment === 'imagenet') addConfigIssue(ctx, ['augment'], c.augment, `"cifar" or "none" for dataset ${JSON.stringify(c.dataset)}; "imagenet" needs dataset "imagenet"`);
  if (c.cutout > 0 && c.augment !== 'cifar') addConfigIssue(ctx, ['cutout'], c.cutout, '0 unless augment is "cifar"');
  if (c.workers > 1 && c.microBatch !== null) addConfigIssue(ctx, ['microBatch'], c.microBatch, 'null when workers > 1 (each worker takes one shard of the batch; lower batchSize or use one worker with microBatch)');
  if (c.workers > c.batchSize) addConfigIssue(ctx, ['workers'], c.workers, `at most batchSize (${c.batchSize}): each worker needs at least one image`);
  if (inet) {
    if (c.imageSize === null) addConfigIssue(ctx, ['imageSize'], c.imageSize, 'an integer >= 8 <= 1024 for dataset "imagenet" (the crop size; 224 in the recipe)');
  } else {
    if (c.imageSize !== null) addConfigIssue(ctx, ['imageSize'], c.imageSize, `null for dataset ${JSON.stringify(c.dataset)} (CIFAR images are 32×32; imageSize is the ImageNet crop size)`);
    if (c.evalSplit !== 'val') addConfigIssue(ctx, ['evalSplit'], c.evalSplit, `"val" for dataset ${JSON.stringify(c.dataset)} (CIFAR is evaluated on its test split; "train" is for ImageNet folders without a val split)`);
  }
}

/** A complete config (what config.json holds): every field, valid on its own and together. */
export const trainConfigSchema: z.ZodType<TrainConfig, TrainConfig> = (z.strictObject(shape(false), { error: 'an object' }) as unknown as z.ZodType<TrainConfig, TrainConfig>)
  .superRefine(crossChecks);

/** What a config file or `resolveConfig` accepts: `model` and `out`, any other field left out takes its default. */
export const partialTrainConfigSchema = z.strictObject(shape(true), { error: 'an object' });

/** The defaults (the CIFAR recipe, or `IMAGENET_RECIPE` for dataset 'imagenet') filled into a checked partial config. */
function withDefaults(p: PartialTrainConfig): TrainConfig {
  const po = p.optimizer ?? {};
  const dataset = p.dataset ?? DEFAULTS.dataset;
  const recipe = dataset === 'imagenet' ? IMAGENET_RECIPE : CIFAR_RECIPE;
  const method = po.method ?? OPTIMIZER_DEFAULTS.method;
  const pick = <K extends keyof TrainConfig>(k: K, d: TrainConfig[K]): TrainConfig[K] => (p[k as keyof PartialTrainConfig] as TrainConfig[K] | undefined) ?? d;
  const opick = <K extends keyof OptimizerConfig>(k: K, d: OptimizerConfig[K]): OptimizerConfig[K] => po[k] ?? d;
  return {
    model: p.model,
    dataset,
    out: p.out,
    seed: pick('seed', DEFAULTS.seed),
    epochs: pick('epochs', recipe.epochs),
    batchSize: pick('batchSize', recipe.batchSize),
    evalBatchSize: pick('evalBatchSize', DEFAULTS.evalBatchSize),
    lr: pick('lr', recipe.lr),
    momentum: pick('momentum', DEFAULTS.momentum),
    nesterov: pick('nesterov', DEFAULTS.nesterov),
    schedule: pick('schedule', DEFAULTS.schedule),
    optimizer: {
      method,
      rho: opick('rho', (dataset === 'imagenet' ? IMAGENET_RECIPE.rho : DEFAULT_RHO)[method]),
      eta: opick('eta', OPTIMIZER_DEFAULTS.eta),
      p: opick('p', OPTIMIZER_DEFAULTS.p),
      normalization: opick('normalization', OPTIMIZER_DEFAULTS.normalization),
      weightDecay: opick('weightDecay', recipe.weightDecay),
      weightDecayInAscent: opick('weightDecayInAscent', OPTIMIZER_DEFAULTS.weightDecayInAscent),
      clipNorm: opick('clipNorm', OPTIMIZER_DEFAULTS.clipNorm),
      every: opick('every', OPTIMIZER_DEFAULTS.every),
      normalizeParams: opick('normalizeParams', OPTIMIZER_DEFAULTS.normalizeParams),
      bnStatistics: opick('bnStatistics', OPTIMIZER_DEFAULTS.bnStatistics),
      perturbedDropout: opick('perturbedDropout', OPTIMIZER_DEFAULTS.perturbedDropout),
    },
    labelSmoothing: pick('labelSmoothing', recipe.labelSmoothing),
    augment: pick('augment', recipe.augment),
    cutout: pick('cutout', DEFAULTS.cutout),
    dropout: pick('dropout', DEFAULTS.dropout),
    labelNoise: pick('labelNoise', DEFAULTS.labelNoise),
    trainLimit: pick('trainLimit', DEFAULTS.trainLimit),
    testLimit: pick('testLimit', DEFAULTS.testLimit),
    maxStepsPerEpoch: pick('maxStepsPerEpoch', DEFAULTS.maxStepsPerEpoch),
    checkpointEverySteps: pick('checkpointEverySteps', DEFAULTS.checkpointEverySteps),
    microBatch: pick('microBatch', DEFAULTS.microBatch),
    workers: pick('workers', DEFAULTS.workers),
    progressEvery: pick('progressEvery', DEFAULTS.progressEvery),
    imagenetFolder: pick('imagenetFolder', DEFAULTS.imagenetFolder),
    imageSize: p.imageSize !== undefined ? p.imageSize : recipe.imageSize, // an explicit null stays null (refused for ImageNet)
    evalSplit: pick('evalSplit', DEFAULTS.evalSplit),
  };
}

/** `resolveConfig`'s whole pipeline: partial config → defaults → complete config. */
const resolveSchema = partialTrainConfigSchema.transform((p) => withDefaults(p as PartialTrainConfig)).pipe(trainConfigSchema);

/**
 * A null field means "the default", as if it were left out (configs written by hand relied on it); `imageSize` keeps
 * an explicit null (CIFAR's value), `model` and `out` have no default.
 */
function nullMeansDefault(partial: unknown): unknown {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) return partial;
  const drop = (o: Record<string, unknown>, keep: Set<string>) => Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== null || keep.has(k)));
  const top = drop(partial as Record<string, unknown>, new Set(['model', 'out', 'imageSize']));
  const o = top.optimizer;
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? { ...top, optimizer: drop(o as Record<string, unknown>, new Set()) } : top;
}

const trainError = (field: string, value: unknown, expected: string): TrainConfigError => new TrainConfigError(field === '' ? '(root)' : field, value, expected);

/**
 * Fills every missing field with the paper's CIFAR recipe (or `IMAGENET_RECIPE` when `dataset` is 'imagenet')
 * and validates the result (`partialTrainConfigSchema`, then `trainConfigSchema`). Unknown fields are refused
 * (typos would otherwise silently fall back to defaults). Does not check that the model id exists (the trainer
 * does, with the registry's list of valid ids).
 */
export function resolveConfig(partial: PartialTrainConfig): TrainConfig {
  return parseConfig(resolveSchema, nullMeansDefault(partial), trainError);
}

/** Validates a full config (e.g. one read back from config.json). */
export function validateConfig(c: TrainConfig): void {
  parseConfig(trainConfigSchema, c, trainError);
}

/** JSON Schema of a config file (`partialTrainConfigSchema`), for the docs: `pnpm --filter @asam/vision schema`. */
export function trainConfigJsonSchema(): Record<string, unknown> {
  return configJsonSchema(partialTrainConfigSchema, {
    title: '@asam/vision training config',
    description: 'config.json of an image-classification run (resolveConfig / --config). Fields left out take the paper\'s CIFAR recipe, or the ImageNet recipe for dataset "imagenet"; a null field means its default. Generated from packages/vision/src/train/config.ts.',
  });
}
