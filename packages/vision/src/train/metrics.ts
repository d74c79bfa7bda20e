/** The metric vocabulary of image classification runs (written into every result.json; see @asam/train's MetricVocabulary). */
import type { MetricVocabulary } from '@asam/train';

export const VISION_METRICS: MetricVocabulary = {
  evalSplit: 'test',
  best: 'test_acc',
  headline: 'test_acc',
  train: 'train_acc',
  plateau: { column: 'train_acc', tolerance: 0.5 },
  examples: 'test images',
  unit: 'images',
  metrics: [
    { column: 'train_loss', label: 'train loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'train_acc', label: 'train accuracy (%)', goal: 'max', scale: 100, digits: 1, unit: 'points' },
    { column: 'test_loss', label: 'test loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'test_acc', label: 'test accuracy (%)', goal: 'max', scale: 100, digits: 2, unit: 'points' },
    { column: 'test_top5', label: 'test top-5 accuracy (%)', goal: 'max', scale: 100, digits: 2, unit: 'points' },
  ],
};
