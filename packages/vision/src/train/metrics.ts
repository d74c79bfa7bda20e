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
    { column: 'train_acc', label: 'train accuracy (%)', short: 'train acc (%)', goal: 'max', scale: 100, digits: 1, unit: 'points' },
    { column: 'test_loss', label: 'test loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'test_acc', label: 'test accuracy (%)', short: 'test acc (%)', goal: 'max', scale: 100, digits: 2, unit: 'points' },
    { column: 'test_top5', label: 'test top-5 accuracy (%)', short: 'test top-5 acc (%)', goal: 'max', scale: 100, digits: 2, unit: 'points' },
  ],
  axis: 'test accuracy (%)',
  headlineShort: 'final test acc (%)',
  decided: { label: 'final-epoch test accuracy (%)', short: 'final epoch' },
  bestOver: { label: 'best-over-epochs test accuracy', short: 'best over epochs' },
  differences: 'accuracy points',
  pairing: 'same initialization, data order and augmentation',
  comparison: 'Paired differences (same seed = same initialization, data order and augmentation), accuracy points. The verdict uses the **final-epoch** test accuracy (no choice made on the test set): per-seed differences, their mean with a 95 % Student-t interval over seeds, the two-sided paired t-test\'s p-value and that p adjusted by Holm\'s method over the report\'s family of pairwise claims (see the claims table). The best-over-epochs value (the paper\'s metric, a maximum taken on the test set) is shown beside it. Last column: a 95 % paired bootstrap interval over the test images (final epoch, 2,000 resamples) for one seed.',
  curves: ['train_loss', 'train_acc', 'test_acc'],
  plateauNote: 'train accuracy on the labels trained on, augmented, measured during the epoch',
  bootstrap: { statistic: 'accuracy', file: 'test-predictions-last.json' },
};
