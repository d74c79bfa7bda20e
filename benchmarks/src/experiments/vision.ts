/**
 * Image-classification experiments (task `vision`, @asam/vision). Recipes follow Kwon et al. 2021 §5.1
 * (SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, batch 128, label smoothing 0.1, 200 epochs;
 * these are @asam/vision's defaults) with the published ρ: CIFAR-10 SAM 0.05 / ASAM 0.5,
 * CIFAR-100 SAM 0.1 / ASAM 1.0. `bench.requireFullDataset` makes paper-profile cells refuse partial data.
 */
import { defineExperiment, type ExperimentDef, type PairClaim } from '../experiment.ts';

const PAPER = 'Kwon et al., ASAM, ICML 2021 (arXiv 2102.11600), Table 2 / Table 3';
const CIFAR10_RHO = { sam: [0.05], asam: [0.5] };
const CIFAR100_RHO = { sam: [0.1], asam: [1.0] };
const FULL = { bench: { requireFullDataset: true } };

/** The paper's CIFAR claims with its full-scale differences (Table 2 / Table 3, WRN-28-10, test accuracy points). */
const CIFAR_CLAIMS: PairClaim[] = [
  { better: 'asam', worse: 'sgd', paper: '+0.94 (CIFAR-10) / +2.12 (CIFAR-100), WRN-28-10' },
  { better: 'asam', worse: 'sam', paper: '+0.30 (CIFAR-10) / +0.26 (CIFAR-100), WRN-28-10' },
  { better: 'sam', worse: 'sgd', paper: '+0.64 (CIFAR-10) / +1.86 (CIFAR-100), WRN-28-10' },
];
const NOISE_NOTE = "paper's label-noise experiment (ResNet-32, full CIFAR-10, 20–80 % noise) reports ASAM as the most robust; its figures were not retrieved here";
const NOISE_CLAIMS: PairClaim[] = [
  { better: 'asam', worse: 'sgd', paper: NOISE_NOTE },
  { better: 'asam', worse: 'sam', paper: NOISE_NOTE },
  { better: 'sam', worse: 'sgd', paper: NOISE_NOTE },
];

/**
 * The CPU-scale reproduction's regime (issue: converged runs). On the 4k-image subset an independent PyTorch run of
 * the same recipe left ASAM (ρ 0.5) under-fitted at 60 epochs (≈88 % train accuracy against SGD's ≈96 %), so the
 * schedule is twice that: 120 epochs = 3,750 steps of batch 128. Seeds: 8 per method on clean and noisy labels, the
 * number a 95 % half-width of about 0.5 points needs with the paired spread of the first three seeds (final-epoch
 * accuracy, clean); seeds 3–7 run on the native kernel tier, each seed's three methods on one revision. The report
 * checks every cell's final train accuracy and flags curves that have not plateaued.
 */
export const CPU_EPOCHS = 120;
export const CPU_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7];
const CPU_SUBSET = { epochs: CPU_EPOCHS, trainLimit: 4000, testLimit: 1000, evalBatchSize: 250 };

export const cifar10Resnet20 = defineExperiment({
  id: 'cifar10_resnet20',
  title: 'CIFAR-10, ResNet-20',
  task: 'vision',
  description: 'SGD vs SAM vs ASAM on CIFAR-10 with ResNet-20 (paper recipe; ρ: SAM 0.05, ASAM 0.5).',
  base: { model: 'resnet20', dataset: 'cifar10' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: [0, 1, 2] },
  claims: CIFAR_CLAIMS,
  profiles: {
    smoke: {
      base: { model: 'resnet8_tiny', epochs: 2, batchSize: 32, trainLimit: 256, testLimit: 128, maxStepsPerEpoch: 4, evalBatchSize: 128 },
      grid: { seed: [0] },
      note: 'test-sized ResNet-8 (widths 4/8/16) on 256 train / 128 test images, 2 epochs of 4 steps: checks the pipeline, not the method.',
    },
    cpu: {
      base: CPU_SUBSET,
      grid: { seed: CPU_SEEDS },
      note: `ResNet-20 on the 4,000-image CIFAR-10 subset (1,000 test images), paper recipe, ${CPU_EPOCHS} epochs of the cosine schedule, ${CPU_SEEDS.length} seeds.`,
    },
    paper: { base: FULL, note: 'full CIFAR-10, 200 epochs, 3 seeds.' },
  },
});

export const cifar10Noise40Resnet20 = defineExperiment({
  id: 'cifar10_noise40_resnet20',
  title: 'CIFAR-10 subset, 40% symmetric label noise, ResNet-20',
  task: 'vision',
  description: 'Robustness to label noise at CPU scale: 40% of the 4,000 training labels replaced symmetrically (test labels clean), ResNet-20, paper recipe; SGD memorizes the noisy labels late in training, which is where the methods part.',
  base: { model: 'resnet20', dataset: 'cifar10', labelNoise: { rate: 0.4, kind: 'symmetric' } },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: CIFAR10_RHO, seed: CPU_SEEDS },
  claims: NOISE_CLAIMS,
  profiles: {
    cpu: {
      base: CPU_SUBSET,
      note: `ResNet-20 on the 4,000-image CIFAR-10 subset with 40% symmetric noise on the train labels (1,000 clean test images), ${CPU_EPOCHS} epochs, ${CPU_SEEDS.length} seeds.`,
    },
  },
});

/**
 * ρ sensitivity (Kwon et al. 2021, Fig. 5: ASAM keeps its accuracy over a wider range of ρ than SAM). The grid holds
 * the values other than the published ones; the report takes SAM ρ 0.05 / ASAM ρ 0.5 (seed 0) from
 * `cifar10_resnet20`, whose cells are the same runs.
 *
 * The grid of the original design: five values per method, SAM {0.01, 0.02, 0.05, 0.1, 0.2} and ASAM {0.1, 0.2, 0.5, 1, 2},
 * two seeds (0 and 1), each on the full 120-epoch schedule of the clean experiment. The first sweep ran three values
 * per method at seed 0 (a budget cut: a SAM or ASAM cell took about 3.5 core-hours on the SIMD kernels); the native
 * kernel tier makes the rest affordable, and finished cells are kept, so only the new ones run. Runs whose training
 * accuracy is still rising at the last epoch (ASAM ρ 2, SAM ρ 0.2 and, found later, ASAM ρ 1 at seed 0) are flagged by
 * the report, and those values also run on a labelled longer schedule (`CPU_RHO_LONGER_EPOCHS`), on which the ρ-range
 * count rests.
 */
export const CPU_RHO_GRID = { sam: [0.01, 0.02, 0.1, 0.2], asam: [0.1, 0.2, 1.0, 2.0] };
export const CPU_RHO_SEEDS = [0, 1];
/**
 * The labelled longer schedule of the largest ρ values (issue 32: "trained until the accuracy curve has plateaued,
 * longer schedule for large ρ if needed, labelled"): twice the clean experiment's, so the cosine schedule's low-lr
 * tail is twice as long. Their 120-epoch runs at seed 0, which showed the need, stay in the table, marked superseded;
 * at the other seeds these values run on the longer schedule only.
 */
export const CPU_RHO_LONGER_EPOCHS = 240;
/**
 * The controls of the longer schedule: the published ρ values (SAM 0.05, ASAM 0.5, from `cifar10_resnet20`) rerun on
 * it at the sweep's seeds. Without them the count credits whatever 240 epochs add by themselves to the two large ρ
 * values (SAM ρ 0.2 at seed 0 went from 73.3 % on 120 epochs to 76.8 % on 240, above every 120-epoch SAM run); with
 * them the report measures that lift and counts the ρ range a second time, and a verdict stands only where both agree.
 */
export const CPU_RHO_CONTROLS = { sam: [0.05], asam: [0.5] };

export const cifar10RhoResnet20 = defineExperiment({
  id: 'cifar10_rho_resnet20',
  title: 'ρ sensitivity of SAM and ASAM, CIFAR-10 subset, ResNet-20',
  task: 'vision',
  description: 'Test accuracy against ρ: SAM over {0.01, 0.02, 0.05, 0.1, 0.2}, ASAM over {0.1, 0.2, 0.5, 1, 2}, two seeds, the clean experiment\'s recipe.',
  base: { model: 'resnet20', dataset: 'cifar10' },
  grid: { optimizer: ['sam', 'asam'], rho: CPU_RHO_GRID, seed: CPU_RHO_SEEDS },
  sweepOrder: 2,
  rhoSweepOf: 'cifar10_resnet20',
  profiles: {
    cpu: {
      base: CPU_SUBSET,
      note: `as cifar10_resnet20 (${CPU_EPOCHS} epochs), seeds ${CPU_RHO_SEEDS.join(' and ')}; SAM ρ 0.01 / 0.02 / 0.05 / 0.1 / 0.2 and ASAM ρ 0.1 / 0.2 / 0.5 / 1 / 2; ρ 0.05 (SAM) and 0.5 (ASAM) come from cifar10_resnet20; SAM ρ 0.2 and ASAM ρ 1 and 2 on a labelled ${CPU_RHO_LONGER_EPOCHS}-epoch schedule (e${CPU_RHO_LONGER_EPOCHS}), their ${CPU_EPOCHS}-epoch runs kept at seed ${CPU_RHO_SEEDS[0]} only; SAM ρ 0.05 and ASAM ρ 0.5 also run on e${CPU_RHO_LONGER_EPOCHS} as its controls.`,
      longer: {
        label: `e${CPU_RHO_LONGER_EPOCHS}`,
        patch: { epochs: CPU_RHO_LONGER_EPOCHS },
        rho: { sam: [0.2], asam: [1.0, 2.0] },
        reason: `at seed 0 the ${CPU_EPOCHS}-epoch runs of SAM ρ 0.2 (train accuracy 94.9 %), ASAM ρ 2 (73.3 %) and ASAM ρ 1 (98.1 %, +0.67 points over the last 12 epochs) were still fitting at the end of the schedule, so these values run again, same seeds, on a cosine schedule of ${CPU_RHO_LONGER_EPOCHS} epochs (everything else unchanged); at the other seeds they run on that schedule only.`,
        standardSeeds: [CPU_RHO_SEEDS[0]!],
        controls: CPU_RHO_CONTROLS,
      },
    },
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
