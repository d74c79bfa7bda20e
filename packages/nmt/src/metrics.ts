/** The metric vocabulary of translation runs (written into every result.json; see @asam/train's MetricVocabulary). */
import type { MetricVocabulary } from '@asam/train';

export const NMT_METRICS: MetricVocabulary = {
  evalSplit: 'valid',
  best: 'valid_bleu',
  headline: 'test_bleu',
  train: 'train_loss',
  plateau: { column: 'valid_bleu', tolerance: 0.3 },
  examples: 'test sentences',
  unit: 'tokens',
  metrics: [
    { column: 'train_loss', label: 'train loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'valid_loss', label: 'valid loss', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'valid_nll', label: 'valid NLL', goal: 'min', scale: 1, digits: 3, unit: 'nats' },
    { column: 'valid_bleu', label: 'valid BLEU', goal: 'max', scale: 1, digits: 2, unit: 'BLEU' },
    { column: 'test_bleu', label: 'test BLEU', goal: 'max', scale: 1, digits: 2, unit: 'BLEU' },
  ],
};
