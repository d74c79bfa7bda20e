/**
 * Statistics for method comparisons: paired differences over seeds with a Student-t 95 % interval, a paired
 * bootstrap over test images (accuracy) or test sentences (BLEU) for one seed, a bootstrap over models for a difference of Kendall τ, the plateau
 * check of a training curve, the paired t-test with Holm's correction over a family of claims, and the verdict rules
 * of the claims table.
 */
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { Rng } from '@asam/data';
import { computeBleu, sumBleuStats, type BleuSegmentStats } from '@asam/nmt';
import { kendallTau, mean, std } from './stats.ts';

export interface Interval {
  /** Point estimate (mean of the paired differences, or the difference on the full sample). */
  estimate: number;
  lo: number;
  hi: number;
  /** Seeds (t interval) or resamples (bootstrap). */
  n: number;
  method: 't' | 'bootstrap';
}

/**
 * Two-sided Student-t confidence interval of the mean of paired differences d_i (one per seed):
 * d̄ ± t_{1−α/2, n−1} · s / √n. Null for fewer than two differences (no spread can be estimated).
 */
export function tInterval(d: readonly number[], level = 0.95): Interval | null {
  if (d.length < 2) return null;
  const m = mean(d);
  const half = tQuantile(1 - (1 - level) / 2, d.length - 1) * std(d) / Math.sqrt(d.length);
  return { estimate: m, lo: m - half, hi: m + half, n: d.length, method: 't' };
}

export interface TTest {
  /** Mean of the differences, t statistic, degrees of freedom and the two-sided p-value. */
  mean: number;
  t: number;
  df: number;
  p: number;
  n: number;
}

/**
 * Two-sided paired t-test of H0: E[d] = 0 on per-seed differences d_i:
 *   t = d̄ / (s / √n),  df = n − 1,  p = 2 · F_t(−|t|; df)
 * (Student 1908), F_t the Student-t CDF (@stdlib). Null for fewer than two differences. Differences that are all equal
 * (s = 0) give p = 0 when d̄ ≠ 0 and p = 1 when d̄ = 0.
 */
export function pairedTTest(d: readonly number[]): TTest | null {
  if (d.length < 2) return null;
  const m = mean(d);
  const se = std(d) / Math.sqrt(d.length);
  const df = d.length - 1;
  if (se === 0) return { mean: m, t: m === 0 ? 0 : Math.sign(m) * Infinity, df, p: m === 0 ? 1 : 0, n: d.length };
  const t = m / se;
  return { mean: m, t, df, p: Math.min(1, 2 * tCdf(-Math.abs(t), df)), n: d.length };
}

/** The largest number of seeds {@link seedsForPower} looks at. */
export const MAX_PLANNED_SEEDS = 10_000;

/**
 * A planning figure: the smallest number of seeds n at which a two-sided paired t-test at level `alpha` has power
 * `power` against a true mean difference equal to the observed one, with the observed spread:
 *   n ≥ ((t_{1−α/2, n−1} + t_{power, n−1}) · s / |d̄|)²
 * (the usual t approximation of the noncentral-t power; Cohen 1988, ch. 2). Null for fewer than two differences or
 * a mean of exactly 0 (no effect to plan for); Infinity when more than {@link MAX_PLANNED_SEEDS} would be needed.
 * Both d̄ and s are estimates from few seeds, so this says "about how many", not a guarantee.
 */
export function seedsForPower(d: readonly number[], alpha = 0.05, power = 0.8): number | null {
  if (d.length < 2) return null;
  const m = Math.abs(mean(d));
  const s = std(d);
  if (m === 0) return null;
  if (s === 0) return 2;
  for (let n = 2; n <= MAX_PLANNED_SEEDS; n++) {
    const k = (tQuantile(1 - alpha / 2, n - 1) + tQuantile(power, n - 1)) * s / m;
    if (n >= k * k) return n;
  }
  return Infinity;
}

/**
 * Holm's step-down adjustment (Holm 1979, "A simple sequentially rejective multiple test procedure") of a family of
 * m p-values: with p₍₁₎ ≤ … ≤ p₍ₘ₎ sorted ascending, p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) · p₍ⱼ₎), returned in the
 * input order. Rejecting every hypothesis with p̃ < α controls the family-wise error rate at α under any dependence.
 * A null entry (a claim of the family that has no test yet) counts in m as p = 1 and gets null back.
 */
export function holmAdjust(ps: ReadonlyArray<number | null>): Array<number | null> {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p: p ?? 1, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const out: Array<number | null> = new Array(m).fill(null);
  let run = 0;
  order.forEach(({ p, i }, k) => {
    run = Math.max(run, Math.min(1, (m - k) * p));
    out[i] = ps[i] === null || ps[i] === undefined ? null : run;
  });
  return out;
}

function percentile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

/**
 * Paired percentile bootstrap over test images: resamples image indices with replacement and takes
 * acc(A) − acc(B) on the same resample, so the interval reflects which images the test set happens to hold, not
 * seed-to-seed variation. `labels`, `predA`, `predB` are per-image; the estimate is the full-sample difference.
 */
export function pairedBootstrap(labels: readonly number[], predA: readonly number[], predB: readonly number[], o: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  const n = labels.length;
  if (predA.length !== n || predB.length !== n) throw new Error(`pairedBootstrap: ${n} labels but ${predA.length} / ${predB.length} predictions; pass predictions of the same test images`);
  if (n === 0) throw new Error('pairedBootstrap: no test images');
  const diff = Int8Array.from(labels, (y, i) => Number(predA[i] === y) - Number(predB[i] === y));
  const est = diff.reduce((a, b) => a + b, 0) / n;
  const B = o.resamples ?? 2000;
  const rng = new Rng(o.seed ?? 0);
  const stats: number[] = new Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += diff[rng.int(n)]!;
    stats[b] = s / n;
  }
  stats.sort((p, q) => p - q);
  const a = (1 - (o.level ?? 0.95)) / 2;
  return { estimate: est, lo: percentile(stats, a), hi: percentile(stats, 1 - a), n: B, method: 'bootstrap' };
}

/**
 * Paired percentile bootstrap of a BLEU difference over test sentences (Koehn 2004, "Statistical Significance Tests
 * for Machine Translation Evaluation"; sacreBLEU's paired bootstrap resampling): resamples sentence indices with
 * replacement and takes BLEU(A) − BLEU(B) on the same resample, each the corpus BLEU of the resampled sentences (their
 * summed sufficient statistics, scored by computeBleu). `a` and `b` are per-sentence statistics of the same test
 * set; the estimate is the full-sample difference. BLEU points (× 100).
 */
export function pairedBootstrapBleu(a: readonly BleuSegmentStats[], b: readonly BleuSegmentStats[], o: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  const n = a.length;
  if (b.length !== n) throw new Error(`pairedBootstrapBleu: ${n} sentences in A but ${b.length} in B; pass statistics of the same test set`);
  if (n === 0) throw new Error('pairedBootstrapBleu: no test sentences');
  const score = (x: readonly BleuSegmentStats[], idx?: Int32Array) => {
    const t = sumBleuStats(x, idx);
    return computeBleu(t.correct, t.total, t.sysLen, t.refLen).score;
  };
  const est = score(a) - score(b);
  const B = o.resamples ?? 2000;
  const rng = new Rng(o.seed ?? 0);
  const stats: number[] = new Array(B);
  const idx = new Int32Array(n);
  for (let r = 0; r < B; r++) {
    for (let k = 0; k < n; k++) idx[k] = rng.int(n);
    stats[r] = score(a, idx) - score(b, idx);
  }
  stats.sort((p, q) => p - q);
  const al = (1 - (o.level ?? 0.95)) / 2;
  return { estimate: est, lo: percentile(stats, al), hi: percentile(stats, 1 - al), n: B, method: 'bootstrap' };
}

/**
 * Bootstrap over models of τ(a, gap) − τ(s, gap): whether one measure ranks the generalization gap better than
 * another beyond the luck of which models were trained. Resamples models with replacement.
 */
export function tauDifferenceBootstrap(a: readonly number[], s: readonly number[], gap: readonly number[], o: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  const n = gap.length;
  const est = kendallTau(a, gap) - kendallTau(s, gap);
  const B = o.resamples ?? 2000;
  const rng = new Rng(o.seed ?? 0);
  const stats: number[] = [];
  for (let b = 0; b < B; b++) {
    const idx = Array.from({ length: n }, () => rng.int(n));
    const v = kendallTau(idx.map((i) => a[i]!), idx.map((i) => gap[i]!)) - kendallTau(idx.map((i) => s[i]!), idx.map((i) => gap[i]!));
    if (Number.isFinite(v)) stats.push(v);
  }
  stats.sort((p, q) => p - q);
  const al = (1 - (o.level ?? 0.95)) / 2;
  return { estimate: est, lo: percentile(stats, al), hi: percentile(stats, 1 - al), n: stats.length, method: 'bootstrap' };
}

export interface PlateauCheck {
  plateaued: boolean;
  /** Change of the metric's mean between the last window and the one before it (same units as the input). */
  change: number;
  window: number;
}

/**
 * Whether a per-epoch curve (e.g. train accuracy in %) has plateaued: the mean over the last 10 % of the epochs
 * (at least 3) differs from the mean over the 10 % before by less than `tolerance`. A curve shorter than two
 * windows has not plateaued.
 */
export function plateauCheck(curve: readonly number[], tolerance: number): PlateauCheck {
  const w = Math.max(3, Math.round(curve.length * 0.1));
  if (curve.length < 2 * w) return { plateaued: false, change: NaN, window: w };
  const last = mean(curve.slice(-w));
  const prev = mean(curve.slice(-2 * w, -w));
  const change = last - prev;
  return { plateaued: Math.abs(change) < tolerance, change, window: w };
}

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

/**
 * The claims table's rule for a pairwise claim "A is better than B" decided by a test over seeds: reproduced when the
 * family-adjusted p-value is below `alpha` and the mean difference A − B is positive, not reproduced when it is below
 * `alpha` and the difference negative, inconclusive otherwise (or without a test).
 */
export function verdictOfTest(meanDiff: number | null, adjustedP: number | null, alpha = 0.05): Verdict {
  if (meanDiff === null || adjustedP === null || !Number.isFinite(meanDiff) || !(adjustedP < alpha) || meanDiff === 0) return 'inconclusive';
  return meanDiff > 0 ? 'reproduced' : 'not reproduced';
}

/**
 * The claims table's rule for "A is better than B": reproduced when the whole 95 % interval of A − B lies above 0,
 * not reproduced when it lies below 0, inconclusive when it contains 0 or no interval could be computed.
 */
export function verdictOf(iv: Pick<Interval, 'lo' | 'hi'> | null): Verdict {
  if (!iv || !Number.isFinite(iv.lo) || !Number.isFinite(iv.hi)) return 'inconclusive';
  if (iv.lo > 0) return 'reproduced';
  if (iv.hi < 0) return 'not reproduced';
  return 'inconclusive';
}

/**
 * Welch's two-sided t-test of H0: E[a] = E[b] for two independent samples with unequal variances (Welch 1947):
 *   t = (ā − b̄) / √(s²_a/n_a + s²_b/n_b),  ν by Welch–Satterthwaite (as in {@link welchInterval}),  p = 2 · F_t(−|t|; ν).
 * `mean` is ā − b̄ and `n` is n_a + n_b. Null when either sample has fewer than two values, or both have no spread.
 */
export function welchTTest(a: readonly number[], b: readonly number[]): TTest | null {
  const iv = welchInterval(a, b);
  if (!iv) return null;
  const t = iv.estimate / Math.sqrt(std(a) ** 2 / a.length + std(b) ** 2 / b.length);
  return { mean: iv.estimate, t, df: iv.df, p: Math.min(1, 2 * tCdf(-Math.abs(t), iv.df)), n: iv.n };
}

/**
 * Welch's two-sided Student-t interval of a difference of two independent means (unequal variances; Welch 1947):
 *   (ā − b̄) ± t_{1−α/2, ν} · √(s²_a/n_a + s²_b/n_b),
 *   ν = (s²_a/n_a + s²_b/n_b)² / ((s²_a/n_a)²/(n_a − 1) + (s²_b/n_b)²/(n_b − 1))   (Welch–Satterthwaite).
 * For unpaired samples (our seeds vs another implementation's: their draws are not the same). Null when either sample
 * has fewer than two values, or both have no spread (ν undefined). `df` is ν.
 */
export function welchInterval(a: readonly number[], b: readonly number[], level = 0.95): (Interval & { df: number }) | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = std(a) ** 2 / a.length;
  const vb = std(b) ** 2 / b.length;
  const se2 = va + vb;
  if (se2 === 0) return null;
  const df = se2 ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const est = mean(a) - mean(b);
  const half = tQuantile(1 - (1 - level) / 2, df) * Math.sqrt(se2);
  return { estimate: est, lo: est - half, hi: est + half, n: a.length + b.length, method: 't', df };
}
