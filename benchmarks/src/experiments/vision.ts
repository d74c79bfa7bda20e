/**
 * Image-classification experiments (task `vision`, @asam/vision). Recipes follow Kwon et al. 2021 §5.1
 * (SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, batch 128, label smoothing 0.1, 200 epochs;
 * these are @asam/vision's defaults) with the published ρ: CIFAR-10 SAM 0.05 / ASAM 0.5,
 * CIFAR-100 SAM 0.1 / ASAM 1.0. `bench.requireFullDataset` makes paper-profile cells refuse partial data.
 */
import { defineExperiment, type ExperimentDef } from '../experiment.ts';

const PAPER = 'Kwon et al., ASAM, ICML 2021 (arXiv 2102.11600), Table 2 / Table 3';
const CIFAR10_RHO = { sam: [0.05], asam: [0.5] };
const CIFAR100_RHO = { sam: [0.1], asam: [1.0] };
const FULL = { bench: { requireFullDataset: true } };

export const cifar10Resnet20 = defineExperiment({
  id: 'cifar10_resnet20',
  title: 'CIFAR-10, ResNet-20',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-10 with ResNet-20 (paper recipe; ρ: SAM 0.05, ASAM 0.5).',
  base: { model: 'resnet20', dataset: 'cifar10' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  profiles: {
    smoke: {
      base: { model: 'resnet8_tiny', epochs: 2, batchSize: 32, trainLimit: 256, testLimit: 128, maxStepsPerEpoch: 4, evalBatchSize: 128 },
      grid: { seed: [0] },
      note: 'test-sized ResNet-8 (widths 4/8/16) on 256 train / 128 test images, 2 epochs of 4 steps: checks the pipeline, not the method.',
    },
    cpu: {
      base: { epochs: 4, trainLimit: 4000, testLimit: 1000, evalBatchSize: 250 },
      grid: { seed: [0] },
      note: 'ResNet-20 on the 4,000-image CIFAR-10 subset (1,000 test images), 4 epochs with the cosine schedule, one seed (about 30 minutes on 2 idle CPU cores with wasm).',
    },
    paper: { base: FULL, note: 'full CIFAR-10, 200 epochs, 3 seeds.' },
  },
});

export const cifar10Resnet56 = defineExperiment({
  id: 'cifar10_resnet56',
  title: 'CIFAR-10, ResNet-56',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-10 with ResNet-56 (paper recipe).',
  base: { model: 'resnet56', dataset: 'cifar10', ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  profiles: { paper: { note: 'full CIFAR-10, 200 epochs, 3 seeds.' } },
});

export const cifar10Wrn28_10 = defineExperiment({
  id: 'cifar10_wrn28_10',
  title: 'CIFAR-10, WRN-28-10',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-10 with Wide ResNet 28-10 (paper recipe).',
  base: { model: 'wrn28_10', dataset: 'cifar10', ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  profiles: { paper: { note: 'full CIFAR-10, 200 epochs, 3 seeds.' } },
  paper: { setting: 'CIFAR-10, WRN-28-10, 200 epochs, test accuracy %', values: { sgd: 96.34, sam: 96.98, asam: 97.28 }, source: PAPER },
});

export const cifar10Pyramidnet272 = defineExperiment({
  id: 'cifar10_pyramidnet272',
  title: 'CIFAR-10, PyramidNet-272',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-10 with PyramidNet-272 (α = 200, bottleneck).',
  base: { model: 'pyramidnet272', dataset: 'cifar10', ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  profiles: { paper: { note: 'full CIFAR-10, 200 epochs, 3 seeds.' } },
});

export const cifar100Wrn28_10 = defineExperiment({
  id: 'cifar100_wrn28_10',
  title: 'CIFAR-100, WRN-28-10',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-100 with Wide ResNet 28-10 (ρ: SAM 0.1, ASAM 1.0).',
  base: { model: 'wrn28_10', dataset: 'cifar100', ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR100_RHO, seed: [0, 1, 2] },
  profiles: { paper: { note: 'full CIFAR-100, 200 epochs, 3 seeds.' } },
  paper: { setting: 'CIFAR-100, WRN-28-10, 200 epochs, test accuracy %', values: { sgd: 81.56, sam: 83.42, asam: 83.68 }, source: PAPER },
});

/** CIFAR-10 with symmetric label noise (train labels only), ResNet-32, one experiment per noise rate. */
export const labelNoise: ExperimentDef[] = [0.2, 0.4, 0.6, 0.8].map((rate) => defineExperiment({
  id: `cifar10_noise${Math.round(rate * 100)}_resnet32`,
  title: `CIFAR-10, ${Math.round(rate * 100)}% symmetric label noise, ResNet-32`,
  task: 'vision',
  description: `Robustness to label noise: ${Math.round(rate * 100)}% of the training labels replaced symmetrically (test labels clean), ResNet-32.`,
  base: { model: 'resnet32', dataset: 'cifar10', labelNoise: { rate, kind: 'symmetric' }, ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  profiles: {
    paper: { note: 'full CIFAR-10, 200 epochs, 3 seeds.' },
    ...(rate === 0.4 ? {
      cpu: {
        base: { model: 'resnet20', epochs: 4, trainLimit: 4000, testLimit: 1000, evalBatchSize: 250, bench: { requireFullDataset: false } },
        grid: { seed: [0] },
        note: 'ResNet-20 (not 32) on the 4,000-image CIFAR-10 subset with 40% symmetric noise on the train labels (test labels clean), 4 epochs, one seed.',
      },
    } : {}),
  },
}));

/**
 * ImageNet (ILSVRC-2012), ResNet-50, with @asam/vision's ImageNet recipe (`IMAGENET_RECIPE`: 100 epochs, batch 512,
 * lr 0.2 cosine, momentum 0.9, weight decay 1e-4, label smoothing 0.1, random-resized-crop 224 + flip, eval resize
 * 256 + centre crop 224) and ρ SAM 0.1 / ASAM 1.0. Images are decoded from `<data>/imagenet/{train,val}/<wnid>/`
 * on the fly; top-1 and top-5 go to each cell's metrics.csv / result.json.
 */
export const imagenetResnet50 = defineExperiment({
  id: 'imagenet_resnet50',
  title: 'ImageNet, ResNet-50',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on ImageNet with ResNet-50 (ρ: SAM 0.1, ASAM 1.0); top-1 and top-5 on the val split.',
  base: { model: 'resnet50', dataset: 'imagenet', imagenetFolder: 'imagenet', evalSplit: 'val', imageSize: 224, ...FULL },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.1], asam: [1.0] }, seed: [0, 1, 2] },
  profiles: {
    smoke: {
      base: {
        model: 'resnet10_tiny', imagenetFolder: 'imagenet-samples', evalSplit: 'train', imageSize: 32, epochs: 1, batchSize: 14,
        maxStepsPerEpoch: 2, evalBatchSize: 42, lr: 0.05, bench: { requireFullDataset: false },
      },
      grid: { seed: [0] },
      note: 'test-sized ResNet-10 (base width 8) at 32 px on the 42 ImageNet sample JPEGs (1000-class head), 2 steps of 14; evaluated on the same images (the samples have no val split): checks the pipeline, not the method.',
    },
    paper: {
      note: 'full ImageNet train (1.28M) / val (50k) under <data>/imagenet, ResNet-50, 100 epochs, batch 512 in one piece (no micro-batching), 3 seeds; GPU only.',
    },
  },
});
