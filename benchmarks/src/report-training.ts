/**
 * The report section of a training experiment (vision or nmt): groups over seeds, convergence flags, paired
 * differences between methods with confidence intervals and paired t-tests, the claims they decide (final-epoch metric,
 * Holm-adjusted over the report's family: `decidePairwiseClaims`), and the charts (bars from zero with error bars and
 * seed dots, a forest plot of the paired differences, learning curves with every seed thin and the mean bold, the
 * learning-rate schedule).
 */
import * as path from 'node:path';
import { readTestBleuSegments, TEST_BLEU_SEGMENTS_FILE } from '@asam/nmt';
import { barChart, forestChart, lineChart, type Bar, type ChartSpec, type ForestRow, type LinePoint } from './charts.ts';
import { holmAdjust, pairedBootstrap, pairedBootstrapBleu, pairedTTest, plateauCheck, tInterval, verdictOfTest, type Interval, type TTest, type Verdict } from './compare.ts';
import type { Cell, ExperimentDef, OptimizerName, ProfileName } from './experiment.ts';
import { readJsonIfExists } from './fs-util.ts';
import type { CellOutcome } from './outcome.ts';
import { mean, std } from './stats.ts';

/** One row of the claims table at the top of a report. */
export interface ClaimRow {
  claim: string;
  paper: string;
  ours: string;
  verdict: Verdict | 'pending';
  note: string;
  /** A pairwise claim decided by a paired test over seeds (absent for the other kinds of claim). */
  pairwise?: PairwiseTest;
}

/** The numbers behind a pairwise claim: the decided metric (`final`) and the paper's (`best`), in the metric's units ÷ scale. */
export interface PairwiseTest {
  experiment: string;
  seedsPlanned: number;
  /** Completed seed pairs. */
  n: number;
  unit: string;
  scale: number;
  digits: number;
  decidedLabel: string;
  otherLabel: string;
  final: { mean: number | null; lo: number | null; hi: number | null; p: number | null; pAdjusted: number | null };
  best: { mean: number | null; lo: number | null; hi: number | null; p: number | null; pAdjusted: number | null };
  /** Reasons the claim stays inconclusive whatever the test says (runs not converged, diverged, regime not reached). */
  blockers: string[];
  /** The Holm family, when the claim is in it. */
  family: string | null;
  /** One seed's paired bootstrap over the test set (images or sentences). */
  bootstrap: { seed: number; estimate: number; lo: number; hi: number; over: string } | null;
}

/** One row of summary.csv: an (experiment, optimizer, ρ) group aggregated over seeds. */
export interface GroupRow {
  experiment: string;
  task: string;
  optimizer: string;
  rho: number | null;
  seedsCompleted: number;
  seedsTotal: number;
  failed: number;
  metric: string;
  bestMean: number | null;
  bestStd: number | null;
  finalMean: number | null;
  finalStd: number | null;
  /** Mean final train accuracy (vision, on the labels trained on) or final train loss (nmt). */
  trainFinalMean: number | null;
  /** Completed seeds whose convergence curve plateaued. */
  plateaued: number;
  paper: number | null;
  wallMeanS: number | null;
  stepMeanS: number | null;
  stepRatioToSgd: number | null;
  wallRatioToSgd: number | null;
  backends: string;
}

export interface Section {
  md: (imgPrefix: string) => string;
  /** Charts by file name (`x.svg`: the SVG drawn from the spec; the spec itself goes beside it as `x.vl.json`). */
  files: Array<[string, ChartSpec]>;
  groups: GroupRow[];
  claims: ClaimRow[];
  /** Pairwise comparisons, decided together by `decidePairwiseClaims`. */
  pairs?: PairData[];
}

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', adam: 'Adam', sam: 'SAM', asam: 'ASAM' };

/** What a task's report compares and how convergence is judged. */
const TASK: Record<string, {
  metric: string; scale: number; bestLabel: string; finalLabel: string; digits: number;
  /** The metric verdicts use (no choice on the test set) and the paper's, long and short. */
  decidedLabel: string; decidedShort: string; otherLabel: string; otherShort: string;
  /** metrics.csv column whose plateau means "converged", its display name and scale, and the tolerance (display units). */
  converge: { column: string; label: string; scale: number; tolerance: number };
  curves: Array<{ column: string; label: string; scale: number; nonNegative: boolean }>;
}> = {
  vision: {
    metric: 'test accuracy (%)', scale: 100, bestLabel: 'best test acc (%)', finalLabel: 'final test acc (%)', digits: 2,
    decidedLabel: 'final-epoch test accuracy (%)', decidedShort: 'final epoch', otherLabel: 'best-over-epochs test accuracy', otherShort: 'best over epochs',
    converge: { column: 'train_acc', label: 'train acc (%)', scale: 100, tolerance: 0.5 },
    curves: [{ column: 'train_loss', label: 'train loss', scale: 1, nonNegative: true }, { column: 'train_acc', label: 'train accuracy (%)', scale: 100, nonNegative: true }, { column: 'test_acc', label: 'test accuracy (%)', scale: 100, nonNegative: true }],
  },
  nmt: {
    metric: 'BLEU', scale: 1, bestLabel: 'best valid BLEU', finalLabel: 'test BLEU', digits: 2,
    decidedLabel: 'test BLEU (weights chosen on validation)', decidedShort: 'test BLEU', otherLabel: 'best validation BLEU', otherShort: 'best valid BLEU',
    converge: { column: 'valid_bleu', label: 'valid BLEU', scale: 1, tolerance: 0.3 },
    curves: [{ column: 'train_loss', label: 'train loss', scale: 1, nonNegative: true }, { column: 'valid_loss', label: 'valid loss', scale: 1, nonNegative: true }, { column: 'valid_bleu', label: 'valid BLEU', scale: 1, nonNegative: true }],
  },
};

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

function pm(xs: number[], scale: number, digits: number): string {
  if (!xs.length) return '–';
  return xs.length > 1 ? `${(mean(xs) * scale).toFixed(digits)} ± ${(std(xs) * scale).toFixed(digits)}` : (xs[0]! * scale).toFixed(digits);
}

/** A signed number with a real minus sign: "+1.27", "−0.34". */
export function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
}

function fmtInterval(iv: Interval | null, scale: number, digits: number): string {
  if (!iv) return '–';
  return `${signed(iv.estimate * scale, digits)} [${signed(iv.lo * scale, digits)}, ${signed(iv.hi * scale, digits)}]`;
}

/**
 * A markdown table. A column whose every filled cell is a number (optionally signed, with ± / an interval / a unit
 * after it, or "–") is right-aligned (`---:`), any other column left-aligned.
 */
export function mdTable(header: string[], rows: string[][]): string {
  const numeric = header.map((_, k) => {
    const cells = rows.map((r) => (r[k] ?? '').trim()).filter((c) => c && c !== '–' && c !== '-');
    return cells.length > 0 && cells.every((c) => /^(\*\*)?[+\-−<]?\s?\d/.test(c));
  });
  const cell = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.map(cell).join(' | ')} |`, `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** Display name of a grid optimizer in an experiment (the base optimizer may be Adam). */
export function methodLabel(def: ExperimentDef, o: OptimizerName | string): string {
  return o === 'sgd' ? OPT_LABEL[def.baseOptimizer ?? 'sgd']! : OPT_LABEL[o] ?? o;
}

function configLine(cells: Cell[]): string {
  const c = cells[0]?.config ?? {};
  const keys = ['model', 'dataset', 'preset', 'corpus', 'epochs', 'maxEpochs', 'maxUpdates', 'batchSize', 'lr', 'trainLimit', 'testLimit', 'labelNoise', 'labelSmoothing'];
  return keys.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k}=${JSON.stringify(c[k])}`).join(', ');
}

interface Pred { labels: number[]; predicted: number[]; epoch: number }

/** Whether a completed cell's run converged: its curve plateaued and it ran every planned epoch. */
export function convergence(task: string, o: CellOutcome): { plateaued: boolean; change: number; last: number | null } {
  const t = TASK[task]!;
  const col = (o.columns[t.converge.column] ?? []).map((v) => v * t.converge.scale);
  const p = plateauCheck(col, t.converge.tolerance);
  return { plateaued: p.plateaued, change: p.change, last: col.length ? col[col.length - 1]! : null };
}

/**
 * Builds the section. `runDir(cell)` locates a cell's folder (for the per-image predictions of the bootstrap).
 * Claims come from `def.claims`; with fewer than two completed seed pairs, or with a pair whose runs have not
 * converged, a claim is inconclusive.
 */
export function trainingSection(def: ExperimentDef, profile: ProfileName, cells: Cell[], outcomes: CellOutcome[], runDir: (c: Cell) => string): Section {
  const t = TASK[def.task]!;
  const isVision = def.task === 'vision';
  const keyOf = (c: Cell) => `${c.optimizer}|${c.rho}`;
  const keys = [...new Set(cells.map(keyOf))];
  const at = (i: number) => ({ c: cells[i]!, o: outcomes[i]! });
  const conv = outcomes.map((o) => (o.status === 'completed' ? convergence(def.task, o) : null));
  // Under label noise the base optimizer keeps fitting wrong labels until the learning rate reaches 0, so its train
  // curve need not flatten; what the claims compare (the best test value over epochs) is then long settled. There a
  // run counts as converged when its train curve plateaued or its best test value came before the last 10 % of
  // epochs (continuing the schedule did not move it). The train-curve flag is still shown.
  const noise = cells[0]?.config.labelNoise as { rate?: number } | null | undefined;
  const noisyLabels = isVision && !!noise?.rate;
  const settled = outcomes.map((o) => {
    const col = o.status === 'completed' ? o.columns.test_acc ?? [] : [];
    const w = Math.max(3, Math.round(col.length * 0.1));
    if (col.length < 2 * w) return null;
    const bestAt = col.indexOf(Math.max(...col));
    return { bestEpoch: bestAt + 1, window: w, settled: bestAt < col.length - w };
  });
  const converged = (i: number) => !!conv[i]?.plateaued || (noisyLabels && !!settled[i]?.settled);
  // The compared number: vision best/final test accuracy; nmt best valid BLEU / test BLEU.
  const groups: GroupRow[] = keys.map((k) => {
    const idx = cells.map((c, i) => (keyOf(c) === k ? i : -1)).filter((i) => i >= 0);
    const done = idx.filter((i) => outcomes[i]!.status === 'completed');
    const o = done.map((i) => outcomes[i]!);
    const c0 = cells[idx[0]!]!;
    const vals = (f: (x: CellOutcome) => number | null) => o.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    const best = vals((x) => x.best);
    const fin = vals((x) => x.final);
    const trainFinal = vals((x) => {
      const col = x.columns[isVision ? 'train_acc' : 'train_loss'];
      return col?.length ? col[col.length - 1]! : null;
    });
    const wall = vals((x) => x.wallS);
    const step = vals((x) => x.meanStepS);
    return {
      experiment: def.id, task: def.task, optimizer: c0.optimizer ?? '-', rho: c0.rho, seedsCompleted: done.length, seedsTotal: idx.length,
      failed: idx.filter((i) => outcomes[i]!.status === 'failed').length, metric: t.metric,
      bestMean: best.length ? mean(best) : null, bestStd: best.length ? std(best) : null,
      finalMean: fin.length ? mean(fin) : null, finalStd: fin.length ? std(fin) : null,
      trainFinalMean: trainFinal.length ? mean(trainFinal) : null,
      plateaued: done.filter((i) => conv[i]?.plateaued).length,
      paper: c0.optimizer ? def.paper?.values[c0.optimizer] ?? null : null,
      wallMeanS: wall.length ? mean(wall) : null, stepMeanS: step.length ? mean(step) : null,
      stepRatioToSgd: null, wallRatioToSgd: null,
      backends: [...new Set(o.map((x) => x.backend ?? '?'))].join('+'),
    };
  });
  const base = groups.find((g) => g.optimizer === 'sgd');
  for (const g of groups) {
    if (base?.stepMeanS && g.stepMeanS !== null) g.stepRatioToSgd = g.stepMeanS / base.stepMeanS;
    if (base?.wallMeanS && g.wallMeanS !== null) g.wallRatioToSgd = g.wallMeanS / base.wallMeanS;
  }
  const label = (o: string) => methodLabel(def, o);
  const baseName = label('sgd');
  const divergedIn = (g: GroupRow) => cells.filter((c, i) => keyOf(c) === `${g.optimizer}|${g.rho}` && outcomes[i]!.status === 'diverged').length;
  const groupRows = groups.map((g) => {
    const idx = cells.map((c, i) => (keyOf(c) === `${g.optimizer}|${g.rho}` && outcomes[i]!.status === 'completed' ? i : -1)).filter((i) => i >= 0);
    const bestXs = idx.map((i) => outcomes[i]!.best).filter((x): x is number => x !== null);
    const finXs = idx.map((i) => outcomes[i]!.final).filter((x): x is number => x !== null);
    const trainXs = idx.map((i) => outcomes[i]!.columns[isVision ? 'train_acc' : 'train_loss']?.at(-1)).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return [
      label(g.optimizer), g.optimizer === 'sgd' ? '–' : String(g.rho), `${g.seedsCompleted}/${g.seedsTotal}${divergedIn(g) ? ` (${divergedIn(g)} diverged)` : ''}`,
      pm(bestXs, t.scale, t.digits), pm(finXs, t.scale, t.digits), pm(trainXs, isVision ? 100 : 1, isVision ? 1 : 3),
      g.seedsCompleted ? `${g.plateaued}/${g.seedsCompleted}` : '–',
      g.paper === null ? '–' : g.paper.toFixed(2),
      fmt(g.wallMeanS === null ? null : g.wallMeanS / 3600, 2), fmt(g.stepMeanS, 3), fmt(g.stepRatioToSgd, 2),
    ];
  });
  const header = ['method', 'ρ', 'seeds done', `${t.bestLabel}, mean ± std`, `${t.finalLabel}, mean ± std`, isVision ? 'final train acc (%)' : 'final train loss',
    `${t.converge.label} plateaued`, 'paper (full scale)', 'wall (h)', 'mean step (s)', `step / ${baseName}`];

  // Label noise: the methods part once the base optimizer fits the noisy labels (train accuracy beyond the clean share).
  // Until it does, the run has not reached the regime the experiment is about, and its claims stay inconclusive.
  const noiseRegime = noisyLabels && noise?.rate && base?.trainFinalMean != null
    ? { rate: noise.rate, train: base.trainFinalMean, reached: base.trainFinalMean > 1 - noise.rate } : null;
  const noiseLine = noiseRegime
    ? `Label noise ${Math.round(noiseRegime.rate * 100)} %: ${baseName}'s final train accuracy on the noisy labels is ${(noiseRegime.train * 100).toFixed(1)} % (mean over ${base!.seedsCompleted} seed(s)); above ${Math.round((1 - noiseRegime.rate) * 100)} % it is fitting wrong labels, ${noiseRegime.reached ? 'which it does here' : 'which it does not yet do here'}.`
    : '';

  // ---- paired differences per seed
  const cellFor = (opt: OptimizerName, seed: number) => cells.findIndex((c) => c.optimizer === opt && c.seed === seed && (opt === 'sgd' || c.rho === groups.find((g) => g.optimizer === opt)?.rho));
  const seeds = [...new Set(cells.map((c) => c.seed))].sort((a, b) => a - b);
  const pairs: Array<[OptimizerName, OptimizerName]> = (def.claims ?? []).map((c) => [c.better, c.worse]);
  const pairData: PairData[] = [];
  // Runs that some pairwise comparison rests on although they had not converged (the comparison is then not resolved).
  const unresolved = new Set<number>();
  const claims: ClaimRow[] = [];
  for (const [a, b] of pairs) {
    const both = seeds.map((s) => [cellFor(a, s), cellFor(b, s), s] as const)
      .filter(([i, j]) => i >= 0 && j >= 0 && outcomes[i]!.status === 'completed' && outcomes[j]!.status === 'completed');
    const dBest = both.map(([i, j]) => outcomes[i]!.best! - outcomes[j]!.best!);
    const dFinal = both.map(([i, j]) => outcomes[i]!.final! - outcomes[j]!.final!);
    // Bootstrap for the first seed whose two runs left per-item test results: over test images with the final-epoch
    // predictions (vision), over test sentences with the test translations' BLEU statistics (translation).
    let boot: Interval | null = null;
    let bootSeed: number | null = null;
    for (const [i, j, s] of both) {
      if (isVision) {
        const pa = readJsonIfExists<Pred>(path.join(runDir(cells[i]!), 'test-predictions-last.json'));
        const pb = readJsonIfExists<Pred>(path.join(runDir(cells[j]!), 'test-predictions-last.json'));
        if (pa && pb && pa.labels.length === pb.labels.length) boot = pairedBootstrap(pa.labels, pa.predicted, pb.predicted, { resamples: 2000, seed: s });
      } else if (def.task === 'nmt') {
        const sa = readTestBleuSegments(readJsonIfExists(path.join(runDir(cells[i]!), TEST_BLEU_SEGMENTS_FILE)));
        const sb = readTestBleuSegments(readJsonIfExists(path.join(runDir(cells[j]!), TEST_BLEU_SEGMENTS_FILE)));
        if (sa && sb && sa.length === sb.length && sa.length > 0) boot = pairedBootstrapBleu(sa, sb, { resamples: 2000, seed: s });
      }
      if (boot) {
        bootSeed = s;
        break;
      }
    }
    const notConverged = both.flatMap(([i, j]) => [i, j]).filter((i) => !converged(i)).map((i) => cells[i]!.id);
    // A seed where either run diverged has no difference to report; the claim cannot rest on the other seeds alone.
    const divergedRuns = seeds.flatMap((s) => [cellFor(a, s), cellFor(b, s)]).filter((i) => i >= 0 && outcomes[i]!.status === 'diverged').map((i) => cells[i]!.id);
    const spec = def.claims!.find((c) => c.better === a && c.worse === b)!;
    const blockers: string[] = [];
    const notes: string[] = [];
    if (both.length < 2) notes.push(both.length ? 'one seed: no test over seeds' : 'no completed seed pair yet');
    if (notConverged.length && both.length) blockers.push(`not plateaued: ${notConverged.join(', ')}`);
    for (const [i, j] of both) for (const k of [i, j]) if (!converged(k)) unresolved.add(k);
    if (divergedRuns.length) blockers.push(`diverged: ${divergedRuns.join(', ')}`);
    if (noiseRegime && !noiseRegime.reached && both.length) {
      blockers.push(`${baseName} does not fit the noisy labels (final train accuracy ${(noiseRegime.train * 100).toFixed(1)} %, ${Math.round((1 - noiseRegime.rate) * 100)} % of the labels are right): the label-noise regime is not reached`);
    }
    if (both.length && both.length < seeds.length) notes.push(`${both.length} of ${seeds.length} seeds done`);
    const claim = `${label(a)} > ${label(b)}`;
    const pd: PairData = {
      a, b, claim, seeds: both.map(([, , s]) => s), dBest, dFinal, ivBest: tInterval(dBest), ivFinal: tInterval(dFinal), testBest: pairedTTest(dBest), testFinal: pairedTTest(dFinal),
      boot, bootSeed, paperDiff: paperDifference(spec.paper), adjFinal: null, adjBest: null,
    };
    pairData.push(pd);
    claims.push({
      claim: `${claim} — ${def.title}`, paper: spec.paper, ours: '–', verdict: both.length === 0 ? 'pending' : 'inconclusive', note: notes.join('; '),
      pairwise: {
        experiment: def.id, seedsPlanned: seeds.length, n: both.length, unit: isVision ? 'points' : 'BLEU', scale: t.scale, digits: t.digits,
        decidedLabel: t.decidedLabel, otherLabel: t.otherLabel,
        final: { mean: dFinal.length ? mean(dFinal) : null, lo: pd.ivFinal?.lo ?? null, hi: pd.ivFinal?.hi ?? null, p: pd.testFinal?.p ?? null, pAdjusted: null },
        best: { mean: dBest.length ? mean(dBest) : null, lo: pd.ivBest?.lo ?? null, hi: pd.ivBest?.hi ?? null, p: pd.testBest?.p ?? null, pAdjusted: null },
        blockers, family: null,
        bootstrap: boot ? { seed: bootSeed!, estimate: boot.estimate, lo: boot.lo, hi: boot.hi, over: isVision ? 'test images' : 'test sentences' } : null,
      },
    });
    pd.row = claims[claims.length - 1]!;
  }

  // ---- plots
  const files: Array<[string, ChartSpec]> = [];
  const comparable = profile === 'paper';
  const seedCounts = groups.map((g) => g.seedsCompleted).filter((n) => n > 0);
  const bars: Bar[] = groups.filter((g) => g.finalMean !== null).map((g) => {
    const idx = cells.map((c, i) => (keyOf(c) === `${g.optimizer}|${g.rho}` && outcomes[i]!.status === 'completed' && outcomes[i]!.final !== null ? i : -1)).filter((i) => i >= 0);
    return {
      label: `${label(g.optimizer)}${g.optimizer === 'sgd' ? '' : ` ρ=${g.rho}`}`, method: g.optimizer === 'sgd' ? (def.baseOptimizer ?? 'sgd') : g.optimizer,
      mean: g.finalMean! * t.scale, std: g.seedsCompleted > 1 ? g.finalStd! * t.scale : null,
      seeds: idx.map((i) => ({ seed: cells[i]!.seed, value: outcomes[i]!.final! * t.scale })),
      reference: g.paper,
    };
  });
  if (bars.length) {
    const maxN = Math.max(...seedCounts);
    const minN = Math.min(...seedCounts);
    const over = maxN > 1 ? `mean ± std over ${minN === maxN ? maxN : `${minN}–${maxN}`} seeds, dots: seeds` : 'one seed (no error bar)';
    files.push(['bars.svg', barChart({
      title: `${def.title}: ${t.decidedLabel}, ${over}`, yLabel: t.metric, bars, digits: t.digits,
      referenceLabel: comparable ? 'paper' : 'paper, full-scale recipe (not this setting)',
    })]);
  }
  if (pairData.some((p) => p.seeds.length)) {
    const rows: ForestRow[] = pairData.filter((p) => p.seeds.length).flatMap((p) => (['final', 'best'] as const).map((m) => {
      const d = m === 'final' ? p.dFinal : p.dBest;
      const iv = m === 'final' ? p.ivFinal : p.ivBest;
      const bootRow = !iv && m === 'final' && p.boot;
      return {
        row: `${label(p.a)} − ${label(p.b)}, ${m === 'final' ? t.decidedShort : t.otherShort}`,
        seeds: d.map((v, k) => ({ seed: p.seeds[k]!, value: v * t.scale })),
        interval: iv ? { estimate: iv.estimate * t.scale, lo: iv.lo * t.scale, hi: iv.hi * t.scale, what: `95 % t-interval over ${iv.n} seeds` }
          : bootRow ? { estimate: p.boot!.estimate * t.scale, lo: p.boot!.lo * t.scale, hi: p.boot!.hi * t.scale, what: `95 % bootstrap over ${isVision ? 'test images' : 'test sentences'}, seed ${p.bootSeed}` } : null,
        paper: p.paperDiff,
      };
    }));
    files.push(['forest.svg', forestChart({
      title: `${def.title}: paired differences (${isVision ? 'accuracy points' : 'BLEU'})`,
      subtitle: `dots: seeds; square and bar: mean and 95 % interval${pairData.some((p) => !p.ivFinal && p.boot) ? ' (over seeds; with one seed, the bootstrap over the test set)' : ' over seeds'}; diamond: the paper's full-scale difference; dashed: zero`,
      xLabel: `difference (${isVision ? 'accuracy points' : 'BLEU'})`, rows, digits: t.digits,
    })]);
  }
  const curvePoints = (column: string, scale: number): LinePoint[] => {
    const out: LinePoint[] = [];
    for (const k of keys) {
      const idx = cells.map((c, i) => (keyOf(c) === k ? i : -1)).filter((i) => i >= 0 && outcomes[i]!.columns[column]?.length);
      if (!idx.length) continue;
      const opt = cells[idx[0]!]!.optimizer ?? 'sgd';
      const method = opt === 'sgd' ? (def.baseOptimizer ?? 'sgd') : opt;
      const series = `${label(opt)}${opt === 'sgd' ? '' : ` ρ=${cells[idx[0]!]!.rho}`}`;
      for (const i of idx) {
        const { c, o } = at(i);
        const ep = o.columns.epoch ?? [];
        o.columns[column]!.forEach((v, e) => out.push({ series, method, run: `seed ${c.seed}`, bold: idx.length === 1, x: ep[e] ?? e + 1, y: v * scale }));
      }
      if (idx.length > 1) {
        const len = Math.min(...idx.map((i) => outcomes[i]!.columns[column]!.length));
        const ep = outcomes[idx[0]!]!.columns.epoch ?? [];
        for (let e = 0; e < len; e++) out.push({ series, method, run: `mean of ${idx.length}`, bold: true, x: ep[e] ?? e + 1, y: mean(idx.map((i) => outcomes[i]!.columns[column]![e]! * scale)) });
      }
    }
    return out;
  };
  for (const cv of t.curves) {
    const points = curvePoints(cv.column, cv.scale);
    const multi = keys.some((k) => cells.filter((c, i) => keyOf(c) === k && outcomes[i]!.columns[cv.column]?.length).length > 1);
    if (points.length) files.push([`curve-${cv.column.replace(/_/g, '-')}.svg`, lineChart({ title: `${def.title}: ${cv.label} per epoch`, subtitle: multi ? 'thin: seeds, bold: mean over seeds' : undefined, xLabel: 'epoch', yLabel: cv.label, points, nonNegative: cv.nonNegative, xIsEpoch: true })]);
  }
  const lrIdx = outcomes.findIndex((o) => o.columns.lr?.length);
  if (lrIdx >= 0) {
    const o = outcomes[lrIdx]!;
    files.push(['lr-schedule.svg', lineChart({ title: `${def.title}: learning rate (value at the end of each epoch)`, xLabel: 'epoch', yLabel: 'learning rate', nonNegative: true, xIsEpoch: true,
      points: o.columns.lr!.map((v, e) => ({ series: 'learning rate', method: 'lr', run: 'schedule', bold: true, x: o.columns.epoch?.[e] ?? e + 1, y: v })) })]);
  }

  const flagged = cells.map((c, i) => ({ c, o: outcomes[i]!, v: conv[i], i })).filter(({ o, v }) => o.status === 'completed' && v && !v.plateaued);
  const notDone = cells.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ o }) => o.status !== 'completed');
  const budget = [...new Set([...unresolved].map((k) => outcomes[k]!.plannedEpochs ?? outcomes[k]!.columns.epoch?.length ?? 0))];
  const fmtP = (p: number | null) => (p === null ? '–' : formatP(p));
  const md = (p: string) => [
    `Task config: ${configLine(cells)}.`, '',
    mdTable(header, groupRows), '',
    ...(noiseLine ? [noiseLine, ''] : []),
    `"${t.converge.label} plateaued": the mean of the last 10 % of epochs differs from the 10 % before by less than ${t.converge.tolerance} ${isVision ? 'points' : 'BLEU'}${isVision ? ' (train accuracy on the labels trained on, augmented, measured during the epoch)' : ''}.`, '',
    ...(flagged.length ? [noisyLabels
      ? '**Not plateaued** (a comparison involving these runs is inconclusive unless the run\'s best test accuracy was settled before the last 10 % of epochs: with label noise the train curve of a run that fits wrong labels rises until the learning rate reaches 0):'
      : '**Not plateaued** (a comparison involving these runs is inconclusive):', '',
      ...flagged.map(({ c, v, i }) => `- \`${c.id}\`: ${t.converge.label} ${fmt(v!.last, 2)}, ` +
        (Number.isFinite(v!.change) ? `changed ${signed(v!.change, 2)} over the last window` : `${plural(outcomes[i]!.columns[t.converge.column]?.length ?? 0, 'epoch')}: too short to judge (two windows of at least 3 epochs are needed)`) +
        (noisyLabels && settled[i] ? `; best test accuracy at epoch ${settled[i]!.bestEpoch}, ${settled[i]!.settled ? `before the last ${settled[i]!.window} epochs: settled, counted in the claims` : `within the last ${settled[i]!.window} epochs: not settled`}` : '')), ''] : []),
    ...(unresolved.size && !notDone.length ? [
      `**Not resolved at this scale.** ${[...unresolved].sort((x, y) => x - y).map((k) => `\`${cells[k]!.id}\``).join(', ')} had not plateaued after ` +
      `${budget.join('/')} ${budget.length === 1 && budget[0] === 1 ? 'epoch' : 'epochs'}, this profile's budget ` +
      `for the experiment, so the differences below compare runs still improving, not converged models` +
      `${def.claims?.length ? ` (the paper's own differences: ${def.claims.map((c) => `${label(c.better)} > ${label(c.worse)} ${c.paper}`).join('; ')})` : ''}.`, ''] : []),
    ...(pairData.length ? [
      isVision
        ? `Paired differences (same seed = same initialization, data order and augmentation), accuracy points. The verdict uses the **final-epoch** test accuracy (no choice made on the test set): per-seed differences, their mean with a 95 % Student-t interval over seeds, the two-sided paired t-test's p-value and that p adjusted by Holm's method over the report's family of pairwise claims (see the claims table). The best-over-epochs value (the paper's metric, a maximum taken on the test set) is shown beside it. Last column: a 95 % paired bootstrap interval over the test images (final epoch, 2,000 resamples) for one seed.`
        : `Paired differences (same seed = same initialization, batch order and dropout masks), BLEU. The verdict uses the **test BLEU** of the weights chosen on validation BLEU (no choice made on the test set): per-seed differences, their mean with a 95 % Student-t interval over seeds, the paired t-test's p-value and its Holm adjustment; the best validation BLEU is shown beside it. Last column: a 95 % paired bootstrap interval of the test BLEU difference over the test sentences (Koehn 2004: each resample's corpus BLEU from its sentences' statistics, 2,000 resamples) for one seed.`, '',
      mdTable(['comparison', 'seeds', `per-seed Δ ${t.decidedShort}`, `Δ ${t.decidedShort}, mean [95 % CI]`, 'p', 'p (Holm)', `Δ ${t.otherShort}, mean [95 % CI]`, `p (Holm), ${t.otherShort}`, `Δ ${t.decidedShort}, bootstrap over test ${isVision ? 'images' : 'sentences'}`],
        pairData.map((pd) => [pd.claim, String(pd.seeds.length), pd.dFinal.map((d) => signed(d * t.scale, t.digits)).join(', ') || '–',
          fmtInterval(pd.ivFinal, t.scale, t.digits), fmtP(pd.testFinal?.p ?? null), fmtP(pd.adjFinal), fmtInterval(pd.ivBest, t.scale, t.digits), fmtP(pd.adjBest),
          pd.boot ? `${fmtInterval(pd.boot, t.scale, t.digits)} (seed ${pd.bootSeed})` : '–'])), '',
    ] : []),
    def.paper ? `Paper (${def.paper.setting}; ${def.paper.source}): ${Object.entries(def.paper.values).map(([k, v]) => `${label(k)} ${v}`).join(' → ')}.${comparable ? '' : ' Those are full-scale figures for the published recipe, not for this setting; compare the ordering and the size of the differences, not the values.'}` : '',
    '',
    ...(notDone.length ? ['Cells not completed:', '', ...notDone.map(({ c, o }) => `- \`${c.id}\`: ${o.status}${o.divergedAt ? ` at epoch ${o.divergedAt.epoch}, step ${o.divergedAt.step} (loss ${o.divergedAt.loss ?? 'NaN'}; the run is kept as its result)` : ''}${o.columns.epoch?.length ? ` (${o.columns.epoch.length}${o.plannedEpochs ? `/${o.plannedEpochs}` : ''} epochs)` : ''}${o.error ? ` — ${o.error.split('\n')[0]}` : ''}`), ''] : []),
    ...files.map(([f]) => `![${def.id} ${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files, groups, claims, pairs: pairData };
}

interface PairData {
  a: OptimizerName;
  b: OptimizerName;
  claim: string;
  seeds: number[];
  dBest: number[];
  dFinal: number[];
  ivBest: Interval | null;
  ivFinal: Interval | null;
  testBest: TTest | null;
  testFinal: TTest | null;
  boot: Interval | null;
  bootSeed: number | null;
  paperDiff: number | null;
  adjFinal: number | null;
  adjBest: number | null;
  row?: ClaimRow;
}

/** "3 epochs", "1 epoch". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A p-value for a table: three significant decimals, "< 0.001" below that. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/**
 * The paper's full-scale difference of a pairwise claim: the signed number its `paper` text starts with
 * ("+0.94 (CIFAR-10) / …" → 0.94); null when the text gives none.
 */
export function paperDifference(text: string): number | null {
  const m = /^\s*([+\-−]?)(\d+(?:\.\d+)?)/.exec(text);
  if (!m) return null;
  return (m[1] === '-' || m[1] === '−' ? -1 : 1) * Number(m[2]);
}

/**
 * Decides the pairwise claims of a report together. The family: every pairwise claim of an experiment planned with at
 * least two seeds in this profile (a one-seed design has no test over seeds and stays outside it). Holm's adjustment
 * runs over the family's final-epoch p-values (the decision) and, separately, over its best-over-epochs p-values
 * (shown beside it); a claim of the family without a p-value yet counts as p = 1. A claim is reproduced when its
 * adjusted p is below 0.05 and its mean difference positive, not reproduced when below 0.05 and negative, otherwise
 * inconclusive; a run that had not converged, diverged, or a label-noise regime not reached keeps it inconclusive.
 * Returns the family's description for the report.
 */
export function decidePairwiseClaims(sections: Array<Pick<Section, 'pairs'>>): { family: string; size: number } {
  const pairs = sections.flatMap((s) => s.pairs ?? []).filter((p) => p.row?.pairwise);
  const inFamily = pairs.filter((p) => p.row!.pairwise!.seedsPlanned >= 2);
  const adjF = holmAdjust(inFamily.map((p) => p.testFinal?.p ?? null));
  const adjB = holmAdjust(inFamily.map((p) => p.testBest?.p ?? null));
  const byExp = new Map<string, number>();
  for (const p of inFamily) byExp.set(p.row!.pairwise!.experiment, (byExp.get(p.row!.pairwise!.experiment) ?? 0) + 1);
  const family = inFamily.length
    ? `the ${inFamily.length} pairwise claim(s) of the experiments planned with two or more seeds (${[...byExp].map(([e, n]) => `\`${e}\` ${n}`).join(', ')})`
    : 'empty (no experiment of this profile is planned with two or more seeds)';
  inFamily.forEach((p, k) => {
    p.adjFinal = adjF[k] ?? null;
    p.adjBest = adjB[k] ?? null;
  });
  for (const p of pairs) {
    const row = p.row!;
    const w = row.pairwise!;
    const member = inFamily.includes(p);
    w.family = member ? family : null;
    w.final.pAdjusted = p.adjFinal;
    w.best.pAdjusted = p.adjBest;
    const t = { scale: w.scale, digits: w.digits };
    const iv = (x: { mean: number | null; lo: number | null; hi: number | null }) => (x.mean === null ? '–'
      : x.lo === null || x.hi === null ? signed(x.mean * t.scale, t.digits) : `${signed(x.mean * t.scale, t.digits)} [${signed(x.lo * t.scale, t.digits)}, ${signed(x.hi * t.scale, t.digits)}]`);
    if (w.n === 0) continue;
    row.ours = `${iv(w.final)} (${w.unit}, n=${w.n})`;
    const vFinal = member ? verdictOfTest(w.final.mean, p.adjFinal) : 'inconclusive';
    const vBest = member ? verdictOfTest(w.best.mean, p.adjBest) : 'inconclusive';
    row.verdict = w.blockers.length ? 'inconclusive' : vFinal;
    const notes = row.note ? [row.note.replace('one seed: no test over seeds', member ? 'one seed so far: no test over seeds (counted as p = 1 in the family)' : 'one seed planned: outside the tested family (no test over seeds)')] : [];
    notes.push(...w.blockers);
    if (!w.blockers.length && vFinal !== vBest && w.best.mean !== null) {
      notes.push(`the ${w.otherLabel} (the paper's metric) disagrees: ${iv(w.best)}, Holm p ${p.adjBest === null ? '–' : formatP(p.adjBest)}, which would read ${vBest}`);
    }
    if (w.bootstrap && w.n < 2) {
      const b = w.bootstrap;
      const excl = b.lo > 0 || b.hi < 0;
      notes.push(`one-seed paired bootstrap over the ${b.over} (seed ${b.seed}): ${signed(b.estimate * t.scale, t.digits)} [${signed(b.lo * t.scale, t.digits)}, ${signed(b.hi * t.scale, t.digits)}] ${w.unit}` +
        (excl ? ` — the interval excludes 0: for this one seed the difference is ${b.estimate < 0 ? 'negative' : 'positive'} beyond test-set sampling, which says nothing about seed-to-seed variation` : ' — it contains 0'));
    }
    row.note = notes.join('; ');
  }
  return { family, size: inFamily.length };
}
