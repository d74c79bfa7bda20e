/**
 * The paper's two illustrations, computed for real, and the step-time micro-benchmark.
 */
import { defineExperiment } from '../experiment.ts';

export const scaleInvariance = defineExperiment({
  id: 'scale_invariance',
  title: 'Scale invariance: SAM ρ-ball vs ASAM ellipse',
  task: 'scale_invariance',
  description: 'A 2-parameter loss L(w) = ½(w1·w2 − 2)², unchanged by A = diag(3, 1/3). Sharpness and adaptive sharpness at w = (1, 1) and A·w, and SGD / SAM / ASAM trajectories (Kwon et al. 2021, Fig. 1 and Fig. 3).',
  base: {},
  grid: {},
  profiles: { smoke: {}, quick: {}, cpu: {}, paper: {} },
});

export const sharpnessGap = defineExperiment({
  id: 'sharpness_gap',
  title: 'Sharpness vs adaptive sharpness as predictors of the generalization gap',
  task: 'sharpness_gap',
  description: 'Kendall rank correlation between (adaptive) sharpness at the end of training and the generalization gap over a grid of small MLPs on a CIFAR-10 subset (Kwon et al. 2021, Fig. 2, at CPU scale).',
  base: {},
  grid: {},
  profiles: {
    smoke: { base: { trainLimit: 400, testLimit: 200, epochs: 2, batchSize: [64], lr: [0.005, 0.05], weightDecay: [0], dropout: [0, 0.5], sharpnessSamples: 200, sharpnessSteps: 3 }, note: '4 models, 400 images, 2 epochs.' },
    quick: { base: { trainLimit: 2000, testLimit: 1000, epochs: 8 }, note: '16 MLPs (batch 32/256 × lr 0.002/0.01 × weight decay 0/5e-3 × dropout 0/0.5), 2,000 train / 1,000 test images, 8 epochs (about 5 minutes).' },
    cpu: { base: { trainLimit: 2000, testLimit: 1000, epochs: 8 }, note: '16 MLPs (batch 32/256 × lr 0.002/0.01 × weight decay 0/5e-3 × dropout 0/0.5), 2,000 train / 1,000 test images, 8 epochs (about 5 minutes).' },
    paper: { base: { trainLimit: 4000, testLimit: 1000, epochs: 30 }, note: 'same grid, all 4,000 local train images, 30 epochs.' },
  },
});

export const stepTime = defineExperiment({
  id: 'step_time',
  title: 'Step time: SGD vs SAM vs ASAM',
  task: 'step_time',
  description: 'One training step of each optimizer on the same model and batch, measured in one process; ratios to SGD.',
  base: { model: 'resnet20', batchSize: 128, warmup: 1, repeats: 3 },
  grid: {},
  profiles: {
    smoke: { base: { model: 'resnet8_tiny', batchSize: 32, repeats: 2 }, note: 'test-sized ResNet-8, batch 32.' },
    quick: { base: { batchSize: 64, repeats: 5 }, note: 'ResNet-20, batch 64, 5 timed rounds.' },
    cpu: { base: { batchSize: 64, repeats: 5 }, note: 'ResNet-20, batch 64, 5 timed rounds.' },
    paper: { note: 'ResNet-20, batch 128.' },
  },
});
