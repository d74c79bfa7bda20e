/** Small statistics used by reports: mean, sample standard deviation, median, Kendall's τ. */

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Sample standard deviation with Bessel's correction, sqrt(Σ(x − x̄)² / (n − 1)); 0 for a single
 * value (no spread observed), NaN for an empty list.
 */
export function std(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  if (xs.length === 1) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** Median (mean of the two middle values for an even count); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((p, q) => p - q);
  const h = Math.floor(a.length / 2);
  return a.length % 2 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
}

/**
 * Kendall rank correlation τ-b between paired samples x and y:
 *   τ_b = (C − D) / sqrt((n0 − n1)(n0 − n2)),
 * with C / D the concordant / discordant pairs, n0 = n(n−1)/2, n1 = Σ t(t−1)/2 over ties in x and
 * n2 likewise for y. Without ties this is (C − D) / n0 (Kendall 1938; τ-b: Kendall 1945).
 * O(n²), fine for the tens of models a report compares. Returns NaN when either side is constant.
 * This is the rank correlation the ASAM paper (Kwon et al. 2021, Fig. 2) reports between
 * (adaptive) sharpness and the generalization gap.
 */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`kendallTau: x has ${x.length} values but y has ${y.length}; pass paired samples`);
  const n = x.length;
  if (n < 2) return NaN;
  let c = 0;
  let d = 0;
  let tx = 0; // pairs tied in x only
  let ty = 0; // pairs tied in y only
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[j]! - x[i]!);
      const dy = Math.sign(y[j]! - y[i]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tx++;
      else if (dy === 0) ty++;
      else if (dx === dy) c++;
      else d++;
    }
  }
  const denom = Math.sqrt((c + d + tx) * (c + d + ty));
  return denom === 0 ? NaN : (c - d) / denom;
}

/** Formats mean ± std with a fixed number of decimals, e.g. "93.41 ± 0.12"; "–" when empty. */
export function fmtMeanStd(xs: readonly number[], digits = 2, scale = 1): string {
  if (xs.length === 0) return '–';
  const m = mean(xs) * scale;
  if (xs.length === 1) return `${m.toFixed(digits)}`;
  return `${m.toFixed(digits)} ± ${(std(xs) * scale).toFixed(digits)}`;
}
