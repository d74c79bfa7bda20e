import { Rng } from '@asam/data';
import { corpusBleu, segmentBleuStats } from '@asam/nmt';
import { describe, expect, it } from 'vitest';
import { holmAdjust, MAX_PLANNED_SEEDS, pairedBootstrap, pairedBootstrapBleu, pairedTTest, plateauCheck, seedsForPower, tauDifferenceBootstrap, tInterval, verdictOf, verdictOfTest, welchInterval, welchTTest } from './compare.ts';

describe('pairedTTest', () => {
  it('matches a known p-value: d = 1..5 gives t = 3/(√2.5/√5) = 4.2426, df 4, p = 0.0132356 (R t.test, scipy ttest_1samp)', () => {
    const r = pairedTTest([1, 2, 3, 4, 5])!;
    expect(r.t).toBeCloseTo(Math.sqrt(18), 12);
    expect(r.df).toBe(4);
    expect(r.p).toBeCloseTo(0.01323559956368269, 9);
  });
  it('gives the closed form of df = 2: p = 1 − t/√(2 + t²)', () => {
    // d = 1, 2, 3: mean 2, s = 1, t = 2√3
    const t = 2 * Math.sqrt(3);
    expect(pairedTTest([1, 2, 3])!.p).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 12);
    expect(pairedTTest([-1, -2, -3])!.p).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 12);
  });
  it('is null below two differences, and handles no spread', () => {
    expect(pairedTTest([0.5])).toBeNull();
    expect(pairedTTest([0.01, 0.01])!.p).toBe(0);
    expect(pairedTTest([0, 0, 0])!.p).toBe(1);
  });
});

describe('seedsForPower', () => {
  // Reference: the same search in SciPy (stats.t.ppf), whose exact noncentral-t power (stats.nct) at the n found is
  // 0.874 / 0.828, 0.807 / 0.799 and 0.813 / 0.813 (the t approximation errs on the safe side at small n):
  //   n = min{n ≥ 2 : n ≥ ((t.ppf(1 − α/2, n − 1) + t.ppf(0.8, n − 1)) · s / |d̄|)²}
  it.each([
    [[0.5, 1.5], 7, 10],
    [[1.2, 1.8, 1.1, 1.3, -2.0], 42, 64],
    [[3, 1, 5, 2, 8.7], 7, 11],
  ])('%j: %i seeds at α 0.05, %i at α 0.05/6', (d, raw, holm) => {
    expect(seedsForPower(d)).toBe(raw);
    expect(seedsForPower(d, 0.05 / 6)).toBe(holm);
  });

  it('by hand for d = [0.5, 1.5] (d̄ 1, s 0.7071): 6 seeds fall short (6 < 6.09), 7 reach it (7 ≥ 5.62)', () => {
    const need = (tq: number, tp: number) => ((tq + tp) * Math.SQRT1_2) ** 2;
    expect(need(2.5706, 0.9195)).toBeGreaterThan(6);
    expect(need(2.4469, 0.9057)).toBeLessThan(7);
    expect(seedsForPower([0.5, 1.5])).toBe(7);
  });

  it('fewer than two seeds or no mean difference: nothing to plan; no spread: two seeds; a vanishing effect: more than the cap', () => {
    expect(seedsForPower([1])).toBeNull();
    expect(seedsForPower([1, -1])).toBeNull();
    expect(seedsForPower([2, 2, 2])).toBe(2);
    expect(seedsForPower([1, -0.99])).toBe(Infinity);
    expect(MAX_PLANNED_SEEDS).toBe(10_000);
  });
});

describe('holmAdjust', () => {
  it('matches Holm\'s step-down worked by hand', () => {
    // p = 0.01, 0.04, 0.03, 0.005 (m = 4). Ascending: 0.005 ×4 = 0.02; 0.01 ×3 = 0.03; 0.03 ×2 = 0.06; 0.04 ×1 = 0.04
    // → kept monotone: 0.06. In input order: 0.03, 0.06, 0.06, 0.02.
    const a = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(a[i]).toBeCloseTo(x, 12));
  });
  it('caps at 1, and counts a claim without a p-value as p = 1 in m', () => {
    expect(holmAdjust([0.4, 0.5])).toEqual([0.8, 0.8]);
    const a = holmAdjust([0.02, null]);
    expect(a[0]).toBeCloseTo(0.04, 12);
    expect(a[1]).toBeNull();
  });
  it('decides with the adjusted p and the sign', () => {
    expect(verdictOfTest(0.02, 0.01)).toBe('reproduced');
    expect(verdictOfTest(-0.02, 0.01)).toBe('not reproduced');
    expect(verdictOfTest(0.02, 0.06)).toBe('inconclusive');
    expect(verdictOfTest(0.02, null)).toBe('inconclusive');
  });
});

describe('tInterval', () => {
  it('is mean ± t(0.975, n−1)·s/√n (t(0.975, 2) = 4.302653 from the t table)', () => {
    const iv = tInterval([1, 2, 3])!;
    expect(iv.estimate).toBe(2);
    expect(iv.hi - 2).toBeCloseTo(4.302653 / Math.sqrt(3), 5);
    expect(2 - iv.lo).toBeCloseTo(4.302653 / Math.sqrt(3), 5);
  });
  it('uses t(0.975, 4) = 2.776445 for five seeds', () => {
    const d = [0.5, 1.5, 1, 2, 0];
    const iv = tInterval(d)!;
    const s = Math.sqrt((0.25 + 0.25 + 0 + 1 + 1) / 4); // deviations from the mean 1: −0.5, 0.5, 0, 1, −1
    expect(iv.hi - iv.estimate).toBeCloseTo((2.776445 * s) / Math.sqrt(5), 5);
  });
  it('gives no interval for one seed', () => {
    expect(tInterval([0.3])).toBeNull();
  });
});

describe('pairedBootstrap', () => {
  const labels = Array.from({ length: 400 }, (_, i) => i % 10);
  it('is exactly 0 when both models predict the same', () => {
    const p = labels.map((y, i) => (i % 3 ? y : (y + 1) % 10));
    const iv = pairedBootstrap(labels, p, p, { resamples: 200 });
    expect([iv.estimate, iv.lo, iv.hi]).toEqual([0, 0, 0]);
  });
  it('is 1 everywhere when A is always right and B always wrong', () => {
    const iv = pairedBootstrap(labels, labels, labels.map((y) => (y + 1) % 10), { resamples: 200 });
    expect([iv.estimate, iv.lo, iv.hi]).toEqual([1, 1, 1]);
  });
  it('covers the full-sample difference with about the normal-theory width', () => {
    // A right on 75 % of images, B on 50 %, independently arranged: difference 0.25.
    const a = labels.map((y, i) => (i % 4 !== 0 ? y : -1));
    const b = labels.map((y, i) => (i % 2 === 0 ? y : -1));
    const iv = pairedBootstrap(labels, a, b, { resamples: 4000, seed: 3 });
    expect(iv.estimate).toBeCloseTo(0.25, 10);
    expect(iv.lo).toBeLessThan(0.25);
    expect(iv.hi).toBeGreaterThan(0.25);
    // per-image differences take values in {−1, 0, 1}; their variance here is 3/4 − 0.25² = 0.6875, so the 95 % half-width ≈ 1.96·√(0.4375/400)
    const half = 1.96 * Math.sqrt(0.6875 / 400);
    expect((iv.hi - iv.lo) / 2).toBeGreaterThan(half * 0.85);
    expect((iv.hi - iv.lo) / 2).toBeLessThan(half * 1.15);
  });
  it('refuses predictions of another length', () => {
    expect(() => pairedBootstrap([1, 2], [1], [1, 2])).toThrow(/2 labels but 1/);
  });
});

describe('pairedBootstrapBleu', () => {
  // 40 reference sentences; system A drops one word of every fourth sentence, B garbles the second half of every
  // other sentence: A is clearly better.
  const words = ['the', 'dog', 'a', 'man', 'runs', 'on', 'green', 'grass', 'with', 'two', 'kids', 'in', 'red', 'coats'];
  const refs = Array.from({ length: 40 }, (_, i) => Array.from({ length: 6 + (i % 5) }, (_, k) => words[(i * 3 + k * 5) % words.length]).join(' ') + ' .');
  const hypA = refs.map((r, i) => (i % 4 === 0 ? r.split(' ').slice(1).join(' ') : r));
  const hypB = refs.map((r, i) => (i % 2 === 0 ? r : r.split(' ').map((w, k) => (k > 2 ? 'x' : w)).join(' ')));
  const a = segmentBleuStats(hypA, [refs]);
  const b = segmentBleuStats(hypB, [refs]);

  it('is exactly 0 for the same translations', () => {
    const iv = pairedBootstrapBleu(a, a, { resamples: 100 });
    expect([iv.estimate, iv.lo, iv.hi]).toEqual([0, 0, 0]);
  });

  it('scores every resample as corpus BLEU of the resampled sentences (checked through corpusBleu on the text)', () => {
    // The same index draws, in the same order, from the same generator; each resample scored from the text itself.
    const rng = new Rng(7);
    const d = Array.from({ length: 4 }, () => {
      const idx = Array.from({ length: refs.length }, () => rng.int(refs.length));
      const pick = (xs: string[]) => idx.map((i) => xs[i]!);
      return corpusBleu(pick(hypA), [pick(refs)]).score - corpusBleu(pick(hypB), [pick(refs)]).score;
    }).sort((x, y) => x - y);
    const iv = pairedBootstrapBleu(a, b, { resamples: 4, seed: 7 });
    expect(iv.estimate).toBeCloseTo(corpusBleu(hypA, [refs]).score - corpusBleu(hypB, [refs]).score, 10);
    // percentiles of 4 sorted values with linear interpolation: 2.5 % at position 0.075, 97.5 % at 2.925
    expect(iv.lo).toBeCloseTo(d[0]! * 0.925 + d[1]! * 0.075, 10);
    expect(iv.hi).toBeCloseTo(d[2]! * 0.075 + d[3]! * 0.925, 10);
  });

  it('puts a clearly better system above 0 and its reverse below', () => {
    const iv = pairedBootstrapBleu(a, b, { resamples: 500, seed: 1 });
    expect(iv.estimate).toBeGreaterThan(5);
    expect(iv.lo).toBeGreaterThan(0);
    expect(iv.lo).toBeLessThan(iv.estimate);
    expect(iv.hi).toBeGreaterThan(iv.estimate);
    expect(pairedBootstrapBleu(b, a, { resamples: 500, seed: 1 }).hi).toBeLessThan(0);
  });

  it('refuses statistics of test sets of different sizes', () => {
    expect(() => pairedBootstrapBleu(a, b.slice(1))).toThrow(/40 sentences in A but 39 in B/);
  });
});

describe('tauDifferenceBootstrap', () => {
  it('finds the measure that ranks the gap exactly better', () => {
    const gap = Array.from({ length: 30 }, (_, i) => i);
    const good = gap.map((g) => g * 2 + 1);
    const noisy = gap.map((g, i) => ((i * 7919) % 30));
    const iv = tauDifferenceBootstrap(good, noisy, gap, { resamples: 500 });
    expect(iv.estimate).toBeGreaterThan(0.5);
    expect(iv.lo).toBeGreaterThan(0);
  });
});

describe('plateauCheck and verdictOf', () => {
  it('sees a flat end and a rising end', () => {
    const flat = [...Array.from({ length: 80 }, (_, i) => i), ...Array.from({ length: 20 }, () => 99.5)];
    expect(plateauCheck(flat, 0.5).plateaued).toBe(true);
    const rising = Array.from({ length: 100 }, (_, i) => i);
    const r = plateauCheck(rising, 0.5);
    expect(r.plateaued).toBe(false);
    expect(r.change).toBeCloseTo(10, 10);
    expect(plateauCheck([1, 1, 1], 0.5).plateaued).toBe(false);
  });
  it('maps intervals to verdicts', () => {
    expect(verdictOf({ lo: 0.1, hi: 0.5 })).toBe('reproduced');
    expect(verdictOf({ lo: -0.5, hi: -0.1 })).toBe('not reproduced');
    expect(verdictOf({ lo: -0.1, hi: 0.5 })).toBe('inconclusive');
    expect(verdictOf(null)).toBe('inconclusive');
  });
});

describe('welchInterval', () => {
  it('matches a hand-derived Welch–Satterthwaite interval (quantile from scipy.stats.t.ppf)', () => {
    // a = [1, 2, 3]: mean 2, s² = 1, s²/n = 1/3; b = [4, 6]: mean 5, s² = 2, s²/n = 1; se² = 4/3
    // ν = (4/3)² / ((1/3)²/2 + 1²/1) = (16/9) / (19/18) = 32/19; t_{0.975, 32/19} = 5.1762316285465175 (scipy 1.x)
    const iv = welchInterval([1, 2, 3], [4, 6])!;
    expect(iv.estimate).toBe(-3);
    expect(iv.df).toBeCloseTo(32 / 19, 12);
    const half = 5.1762316285465175 * Math.sqrt(4 / 3);
    expect(iv.lo).toBeCloseTo(-3 - half, 6);
    expect(iv.hi).toBeCloseTo(-3 + half, 6);
  });
  it('needs two values on each side and some spread', () => {
    expect(welchInterval([1], [2, 3])).toBeNull();
    expect(welchInterval([1, 1], [2, 2])).toBeNull();
  });
});

describe('welchTTest', () => {
  it('matches scipy.stats.ttest_ind(a, b, equal_var=False)', () => {
    // t = −3 / √(4/3) = −2.598076211353316, ν = 32/19; scipy p 0.14436620481676535
    const w = welchTTest([1, 2, 3], [4, 6])!;
    expect(w.t).toBeCloseTo(-2.598076211353316, 12);
    expect(w.df).toBeCloseTo(32 / 19, 12);
    expect(w.p).toBeCloseTo(0.14436620481676535, 8);
    // eight seeds against six (accuracy %): scipy t −2.632206532358768, ν 10.853411448168746, p 0.023549526057101554
    const v = welchTTest([73.1, 73.3, 75.3, 74.1, 75.1, 73.0, 71.7, 71.5], [75.3, 75.1, 75.8, 73.7, 74.6, 74.9])!;
    expect(v.t).toBeCloseTo(-2.632206532358768, 10);
    expect(v.df).toBeCloseTo(10.853411448168746, 8);
    expect(v.p).toBeCloseTo(0.023549526057101554, 8);
    expect(v.n).toBe(14);
  });
  it('needs two values on each side and some spread', () => {
    expect(welchTTest([1], [2, 3])).toBeNull();
    expect(welchTTest([1, 1], [2, 2])).toBeNull();
  });
});
