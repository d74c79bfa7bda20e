import { NMT_METRICS } from '@asam/nmt';
import type { MetricVocabulary } from '@asam/train';
import { VISION_METRICS } from '@asam/vision';
import { describe, expect, it } from 'vitest';
import { experimentVocabulary, parseVocabulary, resolveVocabulary, taskVocabulary } from './report-vocabulary.ts';

const TOY: MetricVocabulary = {
  evalSplit: 'test', best: 'test_mse', headline: 'test_mse', train: 'train_mse', plateau: { column: 'train_mse', tolerance: 0.01 },
  examples: 'test points', unit: 'points',
  metrics: [
    { column: 'train_mse', label: 'train MSE', goal: 'min', scale: 1, digits: 4, unit: 'MSE' },
    { column: 'test_mse', label: 'test MSE', goal: 'min', scale: 1, digits: 4, unit: 'MSE' },
  ],
};

describe('report vocabulary', () => {
  it('fills the optional wording from the required fields', () => {
    const v = resolveVocabulary(TOY);
    expect(v.axis).toBe('test MSE');
    expect(v.headlineShort).toBe('final test MSE');
    expect(v.decided).toEqual({ label: 'final test MSE', short: 'final' });
    expect(v.bestOver).toEqual({ label: 'best test MSE over epochs', short: 'best over epochs' });
    expect(v.differences).toBe('MSE');
    expect(v.curves.map((c) => c.column)).toEqual(['train_mse', 'test_mse']);
    expect(v.plateau).toMatchObject({ column: 'train_mse', short: 'train MSE', tolerance: 0.01, unit: 'MSE', note: null });
    expect(v.bootstrap).toBeNull();
    expect(v.comparison).not.toContain('bootstrap');
  });

  it('keeps the wording VISION_METRICS and NMT_METRICS give', () => {
    const v = resolveVocabulary(VISION_METRICS);
    expect([v.axis, v.headlineShort, `best ${v.best.short}`, `final ${v.train.short}`, v.plateau.short]).toEqual(['test accuracy (%)', 'final test acc (%)', 'best test acc (%)', 'final train acc (%)', 'train acc (%)']);
    const n = resolveVocabulary(NMT_METRICS);
    expect([n.axis, n.headlineShort, `best ${n.best.short}`, `final ${n.train.short}`, n.plateau.short]).toEqual(['BLEU', 'test BLEU', 'best valid BLEU', 'final train loss', 'valid BLEU']);
    expect(n.bootstrap).toEqual({ statistic: 'corpus_bleu', file: 'test-bleu-segments.json' });
  });

  it('checks a vocabulary read from a file, naming the file and the field', () => {
    expect(parseVocabulary(JSON.parse(JSON.stringify(VISION_METRICS)), 'x')).toEqual(VISION_METRICS);
    const bad = { ...TOY, metrics: [TOY.metrics[0], { ...TOY.metrics[1], goal: 'up' }] };
    expect(() => parseVocabulary(bad, 'run/result.json')).toThrow(/^run\/result\.json: metrics\.metrics\.1\.goal: /);
    expect(() => parseVocabulary({ ...TOY, curves: ['train_mse', 'valid_mse'] }, 'f')).toThrow("f: metrics.curves.1 is 'valid_mse', which is not one of its metrics (train_mse, test_mse)");
  });

  it('takes a run\'s vocabulary before the task table, and the table only for its own keys', () => {
    expect(experimentVocabulary('vision', [{ id: 'a', raw: { metrics: TOY } }])).toEqual(TOY);
    expect(experimentVocabulary('vision', [{ id: 'a', raw: {} }, { id: 'b', raw: null }])).toBe(VISION_METRICS);
    expect(experimentVocabulary('toy', [{ id: 'a', raw: {} }])).toBeNull();
    expect(taskVocabulary('toString')).toBeNull();
    expect(taskVocabulary('nmt')).toBe(NMT_METRICS);
  });
});
