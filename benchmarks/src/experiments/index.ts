/** The registry of all experiments (explicit list; nothing registers itself on import). */
import { ExperimentRegistry } from '../experiment.ts';
import { scaleInvariance, sharpnessGap, stepTime } from './analysis.ts';
import { iwslt14Transformer, multi30kStepTime, multi30kTransformer } from './nmt.ts';
import {
  cifar100Wrn28_10, cifar10Noise40Resnet20, cifar10Pyramidnet272, cifar10Resnet20, cifar10Resnet56, cifar10RhoResnet20, cifar10Wrn28_10,
  imagenetResnet50, labelNoise,
} from './vision.ts';

/** A fresh registry holding every experiment of this package. */
export function createExperimentRegistry(): ExperimentRegistry {
  return new ExperimentRegistry([
    scaleInvariance, sharpnessGap, stepTime, multi30kStepTime,
    cifar10Resnet20, cifar10Noise40Resnet20, cifar10RhoResnet20, cifar10Resnet56, cifar10Wrn28_10, cifar10Pyramidnet272, cifar100Wrn28_10, ...labelNoise, imagenetResnet50,
    multi30kTransformer, iwslt14Transformer,
  ]);
}
