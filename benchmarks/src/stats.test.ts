import { describe, expect, it } from 'vitest';
import { fmtMeanStd, kendallTau, mean, median, std } from './stats.ts';

describe('mean / std / median', () => {
  it('match hand-computed values', () => {
    // x = 2,4,4,4,5,5,7,9: mean 5, Σ(x−5)² = 32, sample std = sqrt(32/7)
    const x = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(x)).toBe(5);
    expect(std(x)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(median(x)).toBe(4.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(std([1.5])).toBe(0);
    expect(Number.isNaN(mean([]))).toBe(true);
  });
  it('formats mean ± std', () => {
    expect(fmtMeanStd([0.9, 0.92], 2, 100)).toBe('91.00 ± 1.41');
    expect(fmtMeanStd([0.5], 1, 100)).toBe('50.0');
    expect(fmtMeanStd([])).toBe('–');
  });
});

describe('kendallTau', () => {
  it('is +1 / −1 for perfectly concordant / discordant ranks', () => {
    expect(kendallTau([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  });
  it('matches a hand count without ties', () => {
    // x = 1..5, y = 3,1,2,5,4. Pairs (i<j) with y_j > y_i: (1,4)(1,5)(2,3)(2,4)(2,5)(3,4)(3,5) = 7 concordant,
    // (1,2)(1,3)(4,5) = 3 discordant; τ = (7 − 3) / 10 = 0.4
    expect(kendallTau([1, 2, 3, 4, 5], [3, 1, 2, 5, 4])).toBeCloseTo(0.4, 12);
  });
  it('matches a hand count of τ-b with ties', () => {
    // x = 1,2,2,3; y = 1,3,2,3. Pairs: (1,2) C, (1,3) C, (1,4) C, (2,3) tie in x only, (2,4) tie in y only, (3,4) C.
    // C = 4, D = 0, tx = 1, ty = 1: τ_b = 4 / sqrt((4+0+1)(4+0+1)) = 0.8
    expect(kendallTau([1, 2, 2, 3], [1, 3, 2, 3])).toBeCloseTo(0.8, 12);
    // scipy.stats.kendalltau([1,2,2,3],[1,3,2,3]) also gives 0.8 (τ-b).
  });
  it('is NaN for a constant side and refuses unpaired input', () => {
    expect(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3]))).toBe(true);
    expect(() => kendallTau([1, 2], [1])).toThrow(/paired/);
  });
});
