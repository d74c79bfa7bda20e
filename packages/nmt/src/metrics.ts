/** The metric vocabulary of translation runs (written into every result.json; see @asam/train's MetricVocabulary). */
import type { MetricVocabulary } from '@asam/train';

/** Each test sentence's BLEU statistics (for a paired bootstrap over the test sentences), written by a translation run. */
export const TEST_BLEU_SEGMENTS_FILE = 'test-bleu-segments.json';

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
  axis: 'BLEU',
  headlineShort: 'test BLEU',
  decided: { label: 'test BLEU (weights chosen on validation)', short: 'test BLEU' },
  bestOver: { label: 'best validation BLEU', short: 'best valid BLEU' },
  differences: 'BLEU',
  pairing: 'same initialization, batch order and dropout masks',
  comparison: 'Paired differences (same seed = same initialization, batch order and dropout masks), BLEU. The verdict uses the **test BLEU** of the weights chosen on validation BLEU (no choice made on the test set): per-seed differences, their mean with a 95 % Student-t interval over seeds, the paired t-test\'s p-value and its Holm adjustment; the best validation BLEU is shown beside it. Last column: a 95 % paired bootstrap interval of the test BLEU difference over the test sentences (Koehn 2004: each resample\'s corpus BLEU from its sentences\' statistics, 2,000 resamples) for one seed.',
  curves: ['train_loss', 'valid_loss', 'valid_bleu'],
  bootstrap: { statistic: 'corpus_bleu', file: TEST_BLEU_SEGMENTS_FILE },
};
