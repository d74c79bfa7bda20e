/**
 * Model registry: every architecture is a small named factory (timm style). Strict: duplicate ids are refused and
 * unknown ids get an error listing the valid ones. Models are built lazily, only when `buildModel` is called.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRegistry, type Registry } from '@asam/train';
import { cifarResNet, imagenetResNet, pyramidNet, vggBn, VGG_CFG, wideResNet, type BuildArgs } from './architectures.ts';
import { initializeWeights, SeededDropout, uniquePrefix, type SeedSource } from './layers.ts';

/** Static description of a registered model. */
export interface ModelSpec {
  id: string;
  family: 'resnet_cifar' | 'wrn' | 'pyramidnet' | 'vgg' | 'resnet_imagenet';
  description: string;
  /** Input the model is designed for: CIFAR 32x32x3 or ImageNet 224x224x3. */
  inputKind: 'cifar' | 'imagenet';
  /** Default number of classes the published parameter count refers to. */
  defaultClasses: number;
  /** Published trainable parameter count (at defaultClasses), or null for test-only tiny variants. */
  paperParams: number | null;
  /** Where the published figure comes from. */
  paperSource: string;
  /** Whether the architecture has a dropout option (WRN). */
  hasDropout: boolean;
  /** Builds the (un-initialised) graph. */
  factory: (a: BuildArgs) => tfl.LayersModel;
}

/** Options for `buildModel`. */
export interface BuildOptions {
  numClasses?: number;
  /** HWC input shape; defaults to 32x32x3 (cifar) or 224x224x3 (imagenet). */
  inputShape?: [number, number, number];
  /** Seed of the He initialisation (default 0). */
  seed?: number;
  /** Dropout rate for models with a dropout option (default 0). */
  dropout?: number;
  /** Skip the seeded initialisation (weights stay zero; for shape/parameter checks only). */
  skipInit?: boolean;
}

/** A built model plus the variable groups the trainer needs. */
export interface BuiltModel {
  spec: ModelSpec;
  model: tfl.LayersModel;
  /** Layer-name prefix unique to this instance (strip it to get instance-independent weight names). */
  prefix: string;
  /** Trainable variables (kernels, biases, BN gamma/beta), in model order. */
  trainable: tf.Variable[];
  /** BatchNorm moving_mean / moving_variance variables (the SAM guard set). */
  bnStats: tf.Variable[];
  /** Every variable of the model (trainable then non-trainable, model order). */
  all: tf.Variable[];
  /** Wires the dropout layers to a seed source (checkpointed RNG) for reproducible runs. */
  setDropoutSeeds(src: SeedSource): void;
  /** Number of trainable scalars. */
  trainableParams: number;
  dispose(): void;
}

/** Strict registry of model factories (an @asam/train `createRegistry` of specs, plus `build`). */
export class ModelRegistry {
  private readonly specs: Registry<ModelSpec> = createRegistry<ModelSpec>('model');

  /** Adds a model; refuses ids that are not lower_snake or already taken. */
  register(spec: ModelSpec): void {
    this.specs.register(spec.id, spec);
  }

  /** The spec for `id`; throws `UnknownIdError` listing the valid ids when unknown. */
  get(id: string): ModelSpec {
    return this.specs.get(id);
  }

  has(id: string): boolean { return this.specs.has(id); }

  /** All specs in registration order. */
  list(): ModelSpec[] { return this.specs.list(); }

  /**
   * Builds model `id` with the seeded He initialisation (see `initializeWeights`). The caller owns the result and
   * must call `dispose()`.
   */
  build(id: string, opts: BuildOptions = {}): BuiltModel {
    const spec = this.get(id);
    const numClasses = opts.numClasses ?? spec.defaultClasses;
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses ${numClasses} must be an integer >= 2`);
    const inputShape = opts.inputShape ?? (spec.inputKind === 'imagenet' ? [224, 224, 3] : [32, 32, 3]);
    const dropout = opts.dropout ?? 0;
    if (dropout !== 0 && !spec.hasDropout) throw new Error(`model '${id}' has no dropout option (dropout=${dropout}); use 0`);
    const prefix = uniquePrefix(id);
    const model = spec.factory({ numClasses, inputShape, prefix, dropout });
    if (!opts.skipInit) initializeWeights(model, opts.seed ?? 0);
    const trainable: tf.Variable[] = [];
    const bnStats: tf.Variable[] = [];
    const all: tf.Variable[] = [];
    for (const w of model.trainableWeights) { const v = w.read() as tf.Variable; trainable.push(v); all.push(v); }
    for (const w of model.nonTrainableWeights) {
      const v = w.read() as tf.Variable;
      all.push(v);
      if (/moving_(mean|variance)$/.test(v.name)) bnStats.push(v);
    }
    const dropouts = model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
    return {
      spec, model, prefix, trainable, bnStats, all,
      trainableParams: trainable.reduce((s, v) => s + v.size, 0),
      setDropoutSeeds(src: SeedSource) { for (const d of dropouts) d.seeds = src; },
      dispose() { model.dispose(); },
    };
  }
}

const M = 1e6;
type Def = Omit<ModelSpec, 'factory' | 'hasDropout'> & { hasDropout?: boolean; factory: ModelSpec['factory'] };
const def = (d: Def): ModelSpec => ({ hasDropout: false, ...d });

/**
 * The built-in models. Published counts: He et al. 2016 (ResNet CIFAR Table 6; ImageNet via torchvision),
 * Zagoruyko & Komodakis 2016 (WRN Table 4), Han et al. 2017 (PyramidNet Table 4), VGG-19-BN CIFAR as in the
 * common CIFAR adaptation (512→classes classifier).
 */
export const BUILTIN_MODELS: ModelSpec[] = [
  def({ id: 'resnet20', family: 'resnet_cifar', description: 'CIFAR ResNet-20 (n=3), option-A shortcuts', inputKind: 'cifar', defaultClasses: 10, paperParams: 0.27 * M, paperSource: 'He et al. 2016, Table 6', factory: (a) => cifarResNet(a, 3, [16, 32, 64]) }),
  def({ id: 'resnet32', family: 'resnet_cifar', description: 'CIFAR ResNet-32 (n=5), option-A shortcuts', inputKind: 'cifar', defaultClasses: 10, paperParams: 0.46 * M, paperSource: 'He et al. 2016, Table 6', factory: (a) => cifarResNet(a, 5, [16, 32, 64]) }),
  def({ id: 'resnet56', family: 'resnet_cifar', description: 'CIFAR ResNet-56 (n=9), option-A shortcuts', inputKind: 'cifar', defaultClasses: 10, paperParams: 0.85 * M, paperSource: 'He et al. 2016, Table 6', factory: (a) => cifarResNet(a, 9, [16, 32, 64]) }),
  def({ id: 'resnet110', family: 'resnet_cifar', description: 'CIFAR ResNet-110 (n=18), option-A shortcuts', inputKind: 'cifar', defaultClasses: 10, paperParams: 1.7 * M, paperSource: 'He et al. 2016, Table 6', factory: (a) => cifarResNet(a, 18, [16, 32, 64]) }),
  def({ id: 'resnet8_tiny', family: 'resnet_cifar', description: 'test-sized CIFAR ResNet-8 (n=1), widths 4/8/16', inputKind: 'cifar', defaultClasses: 10, paperParams: null, paperSource: '-', factory: (a) => cifarResNet(a, 1, [4, 8, 16]) }),
  def({ id: 'wrn16_8', family: 'wrn', description: 'Wide ResNet 16-8, pre-activation', inputKind: 'cifar', defaultClasses: 10, paperParams: 11.0 * M, paperSource: 'Zagoruyko & Komodakis 2016, Table 4', hasDropout: true, factory: (a) => wideResNet(a, 16, 8) }),
  def({ id: 'wrn28_2', family: 'wrn', description: 'Wide ResNet 28-2, pre-activation', inputKind: 'cifar', defaultClasses: 10, paperParams: 1.5 * M, paperSource: 'Zagoruyko & Komodakis 2016 (WRN-28-2 ≈ 1.5M)', hasDropout: true, factory: (a) => wideResNet(a, 28, 2) }),
  def({ id: 'wrn28_10', family: 'wrn', description: 'Wide ResNet 28-10, pre-activation', inputKind: 'cifar', defaultClasses: 10, paperParams: 36.5 * M, paperSource: 'Zagoruyko & Komodakis 2016, Table 4', hasDropout: true, factory: (a) => wideResNet(a, 28, 10) }),
  def({ id: 'wrn10_1_tiny', family: 'wrn', description: 'test-sized Wide ResNet 10-1', inputKind: 'cifar', defaultClasses: 10, paperParams: null, paperSource: '-', hasDropout: true, factory: (a) => wideResNet(a, 10, 1) }),
  def({ id: 'pyramidnet110', family: 'pyramidnet', description: 'PyramidNet-110, α=270, basic blocks', inputKind: 'cifar', defaultClasses: 10, paperParams: 28.3 * M, paperSource: 'Han et al. 2017, Table 4', factory: (a) => pyramidNet(a, 110, 270, false) }),
  def({ id: 'pyramidnet272', family: 'pyramidnet', description: 'PyramidNet-272, α=200, bottleneck blocks', inputKind: 'cifar', defaultClasses: 10, paperParams: 26.0 * M, paperSource: 'Han et al. 2017, Table 4', factory: (a) => pyramidNet(a, 272, 200, true) }),
  def({ id: 'pyramidnet8_tiny', family: 'pyramidnet', description: 'test-sized PyramidNet-8, α=12, basic', inputKind: 'cifar', defaultClasses: 10, paperParams: null, paperSource: '-', factory: (a) => pyramidNet(a, 8, 12, false) }),
  def({ id: 'pyramidnet11_tiny', family: 'pyramidnet', description: 'test-sized PyramidNet-11, α=12, bottleneck', inputKind: 'cifar', defaultClasses: 10, paperParams: null, paperSource: '-', factory: (a) => pyramidNet(a, 11, 12, true) }),
  def({ id: 'vgg19_bn', family: 'vgg', description: 'VGG-19 with BatchNorm, CIFAR variant (one dense layer)', inputKind: 'cifar', defaultClasses: 10, paperParams: 20.0 * M, paperSource: 'VGG-19-BN CIFAR adaptation (20.04M)', factory: (a) => vggBn(a, VGG_CFG.vgg19 as (number | 'M')[]) }),
  def({ id: 'vgg11_bn_tiny', family: 'vgg', description: 'test-sized VGG-11-BN at 1/16 width', inputKind: 'cifar', defaultClasses: 10, paperParams: null, paperSource: '-', factory: (a) => vggBn(a, VGG_CFG.vgg11 as (number | 'M')[], 1 / 16) }),
  def({ id: 'resnet18', family: 'resnet_imagenet', description: 'ImageNet ResNet-18 (torchvision layout)', inputKind: 'imagenet', defaultClasses: 1000, paperParams: 11.7 * M, paperSource: 'He et al. 2016 / torchvision (11.69M)', factory: (a) => imagenetResNet(a, [2, 2, 2, 2], false) }),
  def({ id: 'resnet50', family: 'resnet_imagenet', description: 'ImageNet ResNet-50 (torchvision v1.5 layout)', inputKind: 'imagenet', defaultClasses: 1000, paperParams: 25.6 * M, paperSource: 'He et al. 2016 / torchvision (25.56M)', factory: (a) => imagenetResNet(a, [3, 4, 6, 3], true) }),
  def({ id: 'resnet10_tiny', family: 'resnet_imagenet', description: 'test-sized ImageNet-style ResNet-10 (basic, base width 8)', inputKind: 'imagenet', defaultClasses: 1000, paperParams: null, paperSource: '-', factory: (a) => imagenetResNet(a, [1, 1, 1, 1], false, 8) }),
];

/** A fresh registry holding the built-in models (no global mutable state; callers may add their own). */
export function createModelRegistry(): ModelRegistry {
  const r = new ModelRegistry();
  for (const s of BUILTIN_MODELS) r.register(s);
  return r;
}

const builtin = createModelRegistry();

/** Ids and descriptions of the built-in models. */
export function listModels(): ModelSpec[] { return builtin.list(); }

/** Builds a built-in model by id (see `ModelRegistry.build`). */
export function buildModel(id: string, opts?: BuildOptions): BuiltModel { return builtin.build(id, opts); }

/** The spec of a built-in model; throws listing valid ids when unknown. */
export function getModelSpec(id: string): ModelSpec { return builtin.get(id); }
