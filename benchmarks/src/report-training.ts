/**
 * The report section of a training experiment (any task with a metric vocabulary: its labels, units, scales, plateau
 * rule, curves and bootstrap all come from the vocabulary, never from the task's name). `computeTraining` gives the
 * section's model: groups over seeds, convergence flags, paired differences between methods with confidence intervals
 * and paired t-tests, the claims they decide (final-epoch metric, Holm-adjusted over the report's family:
 * `decidePairwiseClaims`). `renderTraining` turns the model into markdown and charts (bars from zero with error bars
 * and seed dots, a forest plot of the paired differences, learning curves with every seed thin and the mean bold, the
 * learning-rate schedule).
 */
import * as path from 'node:path';
import { readTestBleuSegments } from '@asam/nmt';
import type { BootstrapSpec, MetricVocabulary } from '@asam/train';
import { barChart, forestChart, lineChart, type Bar, type ChartSpec, type ForestRow, type LinePoint } from './charts.ts';
import { holmAdjust, MAX_PLANNED_SEEDS, pairedBootstrap, pairedBootstrapBleu, pairedTTest, plateauCheck, seedsForPower, tInterval, verdictOfTest, type Interval } from './compare.ts';

/** The planning figure of each paired comparison: seeds for this power at this level (and at Holm's strictest level). */
const PLAN = { power: 0.8, alpha: 0.05 } as const;
import { engineLabel, envRecords, machineLabel } from './env-info.ts';
import type { Cell, ExperimentDef, OptimizerName, ProfileName } from './experiment.ts';
import { readJsonIfExists } from './fs-util.ts';
import type { CellOutcome } from './outcome.ts';
import type { ClaimRow, GroupRow, PairModel, RenderedSection, SectionModel, Stat, TrainingCellModel, TrainingGroupModel, TrainingModel } from './report-model.ts';
import { resolveVocabulary, type ReportVocabulary } from './report-vocabulary.ts';
import { mean, std } from './stats.ts';

export type { ClaimRow, GroupRow, PairwiseTest } from './report-model.ts';

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', adam: 'Adam', sam: 'SAM', asam: 'ASAM' };

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
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
  return labelOf(def.baseOptimizer ?? 'sgd', o);
}

/** Display name of a grid optimizer when the base optimizer is `baseOptimizer`. */
export function labelOf(baseOptimizer: string, o: string): string {
  return o === 'sgd' ? OPT_LABEL[baseOptimizer] ?? baseOptimizer : OPT_LABEL[o] ?? o;
}

function configLine(cells: Cell[]): string {
  const c = cells[0]?.config ?? {};
  const keys = ['model', 'dataset', 'preset', 'corpus', 'epochs', 'maxEpochs', 'maxUpdates', 'batchSize', 'lr', 'trainLimit', 'testLimit', 'labelNoise', 'labelSmoothing'];
  return keys.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k}=${JSON.stringify(c[k])}`).join(', ');
}

interface Pred { labels: number[]; predicted: number[]; epoch: number }

/** Whether a completed run converged: the vocabulary's plateau column (display units) changed less than its tolerance over the last window. */
export function convergence(v: ReportVocabulary, o: Pick<CellOutcome, 'columns'>): { plateaued: boolean; change: number; last: number | null } {
  const col = (o.columns[v.plateau.column] ?? []).map((x) => x * v.plateau.scale);
  const p = plateauCheck(col, v.plateau.tolerance);
  return { plateaued: p.plateaued, change: p.change, last: col.length ? col[col.length - 1]! : null };
}

function stat(xs: number[]): Stat {
  return { values: xs, mean: xs.length ? mean(xs) : null, std: xs.length ? std(xs) : null };
}

/** Paired bootstraps over the evaluated examples, by the statistic a vocabulary's per-example file holds. */
const BOOTSTRAPS: Record<BootstrapSpec['statistic'], (a: unknown, b: unknown, seed: number) => Interval | null> = {
  accuracy: (a, b, seed) => {
    const pa = a as Pred | undefined;
    const pb = b as Pred | undefined;
    return pa && pb && pa.labels.length === pb.labels.length ? pairedBootstrap(pa.labels, pa.predicted, pb.predicted, { resamples: 2000, seed }) : null;
  },
  corpus_bleu: (a, b, seed) => {
    const sa = readTestBleuSegments(a);
    const sb = readTestBleuSegments(b);
    return sa && sb && sa.length === sb.length && sa.length > 0 ? pairedBootstrapBleu(sa, sb, { resamples: 2000, seed }) : null;
  },
};

/**
 * Computes the section of a training experiment (any task with a metric vocabulary) from its cells and their outcomes.
 * `runDir(cell)` locates a cell's folder (for the per-example results of the bootstrap). Claims come from
 * `def.claims`; with fewer than two completed seed pairs, or with a pair whose runs have not converged, a claim is
 * inconclusive (decided together with the report's other pairwise claims by `decidePairwiseClaims`).
 */
export function computeTraining(def: ExperimentDef, profile: ProfileName, cells: Cell[], outcomes: CellOutcome[], runDir: (c: Cell) => string, vocabulary: MetricVocabulary): TrainingModel {
  const v = resolveVocabulary(vocabulary);
  const keyOf = (c: Cell) => `${c.optimizer}|${c.rho}`;
  const keys = [...new Set(cells.map(keyOf))];
  const conv = outcomes.map((o) => (o.status === 'completed' ? convergence(v, o) : null));
  // Under label noise the base optimizer keeps fitting wrong labels until the learning rate reaches 0, so its train
  // curve need not flatten; what the claims compare (the best test value over epochs) is then long settled. There a
  // run counts as converged when its train curve plateaued or its best test value came before the last 10 % of
  // epochs (continuing the schedule did not move it). The train-curve flag is still shown.
  const noise = cells[0]?.config.labelNoise as { rate?: number } | null | undefined;
  const noisyLabels = !!noise?.rate;
  const settled = outcomes.map((o) => {
    const col = o.status === 'completed' ? o.columns[v.best.column] ?? [] : [];
    const w = Math.max(3, Math.round(col.length * 0.1));
    if (col.length < 2 * w) return null;
    const bestAt = col.indexOf(v.best.goal === 'max' ? Math.max(...col) : Math.min(...col));
    return { bestEpoch: bestAt + 1, window: w, settled: bestAt < col.length - w };
  });
  const converged = (i: number) => !!conv[i]?.plateaued || (noisyLabels && !!settled[i]?.settled);
  const lastOf = (o: CellOutcome, column: string) => {
    const col = o.columns[column];
    return col?.length && Number.isFinite(col[col.length - 1]) ? col[col.length - 1]! : null;
  };
  const keep = ['epoch', ...new Set([...v.curves.map((c) => c.column), v.plateau.column])];
  const cellModels: TrainingCellModel[] = cells.map((c, i) => {
    const o = outcomes[i]!;
    const cv = conv[i];
    return {
      id: c.id, seed: c.seed, optimizer: c.optimizer ?? 'sgd', rho: c.rho, status: o.status, error: o.error, divergedAt: o.divergedAt, plannedEpochs: o.plannedEpochs,
      best: o.best, final: o.final, train: lastOf(o, v.train.column),
      convergence: cv ? { plateaued: cv.plateaued, change: Number.isFinite(cv.change) ? cv.change : null, last: cv.last } : null,
      settled: settled[i] ?? null,
      columns: Object.fromEntries(keep.filter((k) => o.columns[k]).map((k) => [k, o.columns[k]!])),
      starts: envRecords(runDir(c)).map((r) => ({ revision: r.git?.sha?.slice(0, 10) ?? null, machine: machineLabel(r.machine), engine: engineLabel(r) })),
    };
  });
  const finite = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null && Number.isFinite(x));
  const groupStats: TrainingGroupModel[] = keys.map((k) => {
    const idx = cells.map((c, i) => (keyOf(c) === k ? i : -1)).filter((i) => i >= 0);
    const done = idx.filter((i) => outcomes[i]!.status === 'completed');
    return {
      optimizer: cells[idx[0]!]!.optimizer ?? '-', rho: cells[idx[0]!]!.rho, cells: idx,
      diverged: idx.filter((i) => outcomes[i]!.status === 'diverged').length,
      best: stat(finite(done.map((i) => outcomes[i]!.best))), final: stat(finite(done.map((i) => outcomes[i]!.final))),
      train: stat(finite(done.map((i) => cellModels[i]!.train))),
    };
  });
  // The compared numbers: the best epoch's value of the vocabulary's `best` column, and the run's final figure.
  const groups: GroupRow[] = groupStats.map((gs) => {
    const done = gs.cells.filter((i) => outcomes[i]!.status === 'completed');
    const o = done.map((i) => outcomes[i]!);
    const c0 = cells[gs.cells[0]!]!;
    const wall = finite(o.map((x) => x.wallS));
    const step = finite(o.map((x) => x.meanStepS));
    return {
      experiment: def.id, task: def.task, optimizer: c0.optimizer ?? '-', rho: c0.rho, seedsCompleted: done.length, seedsTotal: gs.cells.length,
      failed: gs.cells.filter((i) => outcomes[i]!.status === 'failed').length, metric: v.axis,
      bestMean: gs.best.mean, bestStd: gs.best.std, finalMean: gs.final.mean, finalStd: gs.final.std,
      trainFinalMean: gs.train.mean,
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
  // Label noise: the methods part once the base optimizer fits the noisy labels (train accuracy beyond the clean share).
  // Until it does, the run has not reached the regime the experiment is about, and its claims stay inconclusive.
  const noiseRegime = noisyLabels && noise?.rate && base?.trainFinalMean != null
    ? { rate: noise.rate, train: base.trainFinalMean, reached: base.trainFinalMean > 1 - noise.rate, seeds: base.seedsCompleted } : null;

  // ---- paired differences per seed
  const cellFor = (opt: OptimizerName, seed: number) => cells.findIndex((c) => c.optimizer === opt && c.seed === seed && (opt === 'sgd' || c.rho === groups.find((g) => g.optimizer === opt)?.rho));
  const seeds = [...new Set(cells.map((c) => c.seed))].sort((a, b) => a - b);
  const pairs: Array<[OptimizerName, OptimizerName]> = (def.claims ?? []).map((c) => [c.better, c.worse]);
  const pairData: PairModel[] = [];
  // Runs that some pairwise comparison rests on although they had not converged (the comparison is then not resolved).
  const unresolved = new Set<number>();
  const claims: ClaimRow[] = [];
  // Differences are better − worse: a − b for a metric to maximise, b − a for one to minimise.
  const sFinal = v.headline.goal === 'max' ? 1 : -1;
  const sBest = v.best.goal === 'max' ? 1 : -1;
  for (const [a, b] of pairs) {
    const both = seeds.map((s) => [cellFor(a, s), cellFor(b, s), s] as const)
      .filter(([i, j]) => i >= 0 && j >= 0 && outcomes[i]!.status === 'completed' && outcomes[j]!.status === 'completed');
    const dBest = both.map(([i, j]) => sBest * (outcomes[i]!.best! - outcomes[j]!.best!));
    const dFinal = both.map(([i, j]) => sFinal * (outcomes[i]!.final! - outcomes[j]!.final!));
    // Bootstrap for the first seed whose two runs left per-example results (the vocabulary's bootstrap file).
    let boot: Interval | null = null;
    let bootSeed: number | null = null;
    const bs = v.bootstrap;
    if (bs) {
      for (const [i, j, s] of both) {
        boot = BOOTSTRAPS[bs.statistic](readJsonIfExists(path.join(runDir(cells[i]!), bs.file)), readJsonIfExists(path.join(runDir(cells[j]!), bs.file)), s);
        if (boot) {
          bootSeed = s;
          break;
        }
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
    const ivBest = tInterval(dBest);
    const ivFinal = tInterval(dFinal);
    const pd: PairModel = {
      a, b, claim, difference: sFinal > 0 ? `${label(a)} − ${label(b)}` : `${label(b)} − ${label(a)}`, seeds: both.map(([, , s]) => s), dBest, dFinal,
      ivBest, ivFinal, testBest: pairedTTest(dBest), testFinal: pairedTTest(dFinal), boot, bootSeed, paperDiff: paperDifference(spec.paper), adjFinal: null, adjBest: null,
    };
    pairData.push(pd);
    claims.push({
      claim: `${claim} — ${def.title}`, paper: spec.paper, ours: '–', verdict: both.length === 0 ? 'pending' : 'inconclusive', note: notes.join('; '),
      pairwise: {
        experiment: def.id, seedsPlanned: seeds.length, n: both.length, unit: v.headline.unit, scale: v.headline.scale, digits: v.headline.digits,
        decidedLabel: v.decided.label, otherLabel: v.bestOver.label,
        final: { mean: dFinal.length ? mean(dFinal) : null, lo: ivFinal?.lo ?? null, hi: ivFinal?.hi ?? null, p: pd.testFinal?.p ?? null, pAdjusted: null },
        best: { mean: dBest.length ? mean(dBest) : null, lo: ivBest?.lo ?? null, hi: ivBest?.hi ?? null, p: pd.testBest?.p ?? null, pAdjusted: null },
        blockers, family: null,
        bootstrap: boot ? { seed: bootSeed!, estimate: boot.estimate, lo: boot.lo, hi: boot.hi, over: v.examples } : null,
      },
    });
  }
  const lrIdx = outcomes.findIndex((o) => o.columns.lr?.length);
  const lrO = lrIdx >= 0 ? outcomes[lrIdx]! : null;
  return {
    kind: 'training', experiment: def.id, title: def.title, baseOptimizer: def.baseOptimizer ?? 'sgd', vocabulary: v, configLine: configLine(cells),
    comparable: profile === 'paper', paper: def.paper ? { setting: def.paper.setting, source: def.paper.source, values: { ...def.paper.values } } : null,
    plannedClaims: (def.claims ?? []).map((c) => ({ better: c.better, worse: c.worse, paper: c.paper })),
    cells: cellModels, groups, groupStats, noisyLabels, noise: noiseRegime || null, pairs: pairData, unresolved: [...unresolved],
    lr: lrO ? { epoch: lrO.columns.lr!.map((_, e) => lrO.columns.epoch?.[e] ?? e + 1), lr: lrO.columns.lr! } : null,
    claims,
  };
}

function pmStat(s: Stat, scale: number, digits: number): string {
  if (!s.values.length) return '–';
  return s.values.length > 1 ? `${(s.mean! * scale).toFixed(digits)} ± ${(s.std! * scale).toFixed(digits)}` : (s.values[0]! * scale).toFixed(digits);
}

/**
 * Renders a training section from its model: the groups table (mean ± std over seeds, the paper's numbers, times),
 * the convergence notes, the paired differences, and the charts (bars from zero with error bars and seed dots, a
 * forest plot of the paired differences, learning curves with every seed thin and the mean bold, the learning-rate
 * schedule). Reads the model only: every label, unit and scale comes from its vocabulary.
 */
export function renderTraining(m: TrainingModel): RenderedSection {
  const v = m.vocabulary;
  const scale = v.headline.scale;
  const digits = v.headline.digits;
  const label = (o: string) => labelOf(m.baseOptimizer, o);
  const baseName = label('sgd');
  const methodOf = (opt: string) => (opt === 'sgd' ? m.baseOptimizer : opt);
  const seriesOf = (opt: string, rho: number | null) => `${label(opt)}${opt === 'sgd' ? '' : ` ρ=${rho}`}`;
  const cells = m.cells;
  const groupRows = m.groups.map((g, k) => {
    const gs = m.groupStats[k]!;
    return [
      label(g.optimizer), g.optimizer === 'sgd' ? '–' : String(g.rho), `${g.seedsCompleted}/${g.seedsTotal}${gs.diverged ? ` (${gs.diverged} diverged)` : ''}`,
      pmStat(gs.best, scale, digits), pmStat(gs.final, scale, digits), pmStat(gs.train, v.train.scale, v.train.digits),
      g.seedsCompleted ? `${g.plateaued}/${g.seedsCompleted}` : '–',
      g.paper === null ? '–' : g.paper.toFixed(2),
      fmt(g.wallMeanS === null ? null : g.wallMeanS / 3600, 2), fmt(g.stepMeanS, 3), fmt(g.stepRatioToSgd, 2),
    ];
  });
  const header = ['method', 'ρ', 'seeds done', `best ${v.best.short}, mean ± std`, `${v.headlineShort}, mean ± std`, `final ${v.train.short}`,
    `${v.plateau.short} plateaued`, 'paper (full scale)', 'wall (h)', 'mean step (s)', `step / ${baseName}`];
  const noise = m.noise;
  const noiseLine = noise
    ? `Label noise ${Math.round(noise.rate * 100)} %: ${baseName}'s final train accuracy on the noisy labels is ${(noise.train * 100).toFixed(1)} % (mean over ${noise.seeds} seed(s)); above ${Math.round((1 - noise.rate) * 100)} % it is fitting wrong labels, ${noise.reached ? 'which it does here' : 'which it does not yet do here'}.`
    : '';

  // ---- plots
  const files: Array<[string, ChartSpec]> = [];
  const seedCounts = m.groups.map((g) => g.seedsCompleted).filter((n) => n > 0);
  const bars: Bar[] = m.groups.flatMap((g, k) => {
    if (g.finalMean === null) return [];
    const idx = m.groupStats[k]!.cells.filter((i) => cells[i]!.status === 'completed' && cells[i]!.final !== null);
    return [{
      label: seriesOf(g.optimizer, g.rho), method: methodOf(g.optimizer),
      mean: g.finalMean * scale, std: g.seedsCompleted > 1 ? g.finalStd! * scale : null,
      seeds: idx.map((i) => ({ seed: cells[i]!.seed, value: cells[i]!.final! * scale })),
      reference: g.paper,
    }];
  });
  if (bars.length) {
    const maxN = Math.max(...seedCounts);
    const minN = Math.min(...seedCounts);
    const over = maxN > 1 ? `mean ± std over ${minN === maxN ? maxN : `${minN}–${maxN}`} seeds, dots: seeds` : 'one seed (no error bar)';
    files.push(['bars.svg', barChart({
      title: `${m.title}: ${v.decided.label}, ${over}`, yLabel: v.axis, bars, digits,
      referenceLabel: m.comparable ? 'paper' : 'paper, full-scale recipe (not this setting)',
    })]);
  }
  if (m.pairs.some((p) => p.seeds.length)) {
    const rows: ForestRow[] = m.pairs.filter((p) => p.seeds.length).flatMap((p) => (['final', 'best'] as const).map((which) => {
      const d = which === 'final' ? p.dFinal : p.dBest;
      const iv = which === 'final' ? p.ivFinal : p.ivBest;
      const bootRow = !iv && which === 'final' && p.boot;
      return {
        row: `${p.difference}, ${which === 'final' ? v.decided.short : v.bestOver.short}`,
        seeds: d.map((x, k) => ({ seed: p.seeds[k]!, value: x * scale })),
        interval: iv ? { estimate: iv.estimate * scale, lo: iv.lo * scale, hi: iv.hi * scale, what: `95 % t-interval over ${iv.n} seeds` }
          : bootRow ? { estimate: p.boot!.estimate * scale, lo: p.boot!.lo * scale, hi: p.boot!.hi * scale, what: `95 % bootstrap over ${v.examples}, seed ${p.bootSeed}` } : null,
        paper: p.paperDiff,
      };
    }));
    files.push(['forest.svg', forestChart({
      title: `${m.title}: paired differences (${v.differences})`,
      subtitle: `dots: seeds; square and bar: mean and 95 % interval${m.pairs.some((p) => !p.ivFinal && p.boot) ? ' (over seeds; with one seed, the bootstrap over the test set)' : ' over seeds'}; diamond: the paper's full-scale difference; dashed: zero`,
      xLabel: `difference (${v.differences})`, rows, digits,
    })]);
  }
  const curvePoints = (column: string, s: number): LinePoint[] => {
    const out: LinePoint[] = [];
    for (const gs of m.groupStats) {
      const idx = gs.cells.filter((i) => cells[i]!.columns[column]?.length);
      if (!idx.length) continue;
      const opt = cells[idx[0]!]!.optimizer;
      const method = methodOf(opt);
      const series = seriesOf(opt, cells[idx[0]!]!.rho);
      for (const i of idx) {
        const c = cells[i]!;
        const ep = c.columns.epoch ?? [];
        c.columns[column]!.forEach((y, e) => out.push({ series, method, run: `seed ${c.seed}`, bold: idx.length === 1, x: ep[e] ?? e + 1, y: y * s }));
      }
      if (idx.length > 1) {
        const len = Math.min(...idx.map((i) => cells[i]!.columns[column]!.length));
        const ep = cells[idx[0]!]!.columns.epoch ?? [];
        for (let e = 0; e < len; e++) out.push({ series, method, run: `mean of ${idx.length}`, bold: true, x: ep[e] ?? e + 1, y: mean(idx.map((i) => cells[i]!.columns[column]![e]! * s)) });
      }
    }
    return out;
  };
  for (const cv of v.curves) {
    const points = curvePoints(cv.column, cv.scale);
    const multi = m.groupStats.some((gs) => gs.cells.filter((i) => cells[i]!.columns[cv.column]?.length).length > 1);
    if (points.length) {
      files.push([`curve-${cv.column.replace(/_/g, '-')}.svg`, lineChart({ title: `${m.title}: ${cv.label} per epoch`, subtitle: multi ? 'thin: seeds, bold: mean over seeds' : undefined, xLabel: 'epoch', yLabel: cv.label, points,
        nonNegative: points.every((p) => p.y >= 0), xIsEpoch: true })]);
    }
  }
  if (m.lr) {
    const lr = m.lr;
    files.push(['lr-schedule.svg', lineChart({ title: `${m.title}: learning rate (value at the end of each epoch)`, xLabel: 'epoch', yLabel: 'learning rate', nonNegative: true, xIsEpoch: true,
      points: lr.lr.map((y, e) => ({ series: 'learning rate', method: 'lr', run: 'schedule', bold: true, x: lr.epoch[e]!, y })) })]);
  }

  const flagged = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.status === 'completed' && c.convergence && !c.convergence.plateaued);
  const notDone = cells.filter((c) => c.status !== 'completed');
  const budget = [...new Set(m.unresolved.map((k) => cells[k]!.plannedEpochs ?? cells[k]!.columns.epoch?.length ?? 0))];
  const fmtP = (p: number | null) => (p === null ? '–' : formatP(p));
  const short = v.decided.short;
  const md = (p: string) => [
    `Task config: ${m.configLine}.`, '',
    mdTable(header, groupRows), '',
    ...(noiseLine ? [noiseLine, ''] : []),
    `"${v.plateau.short} plateaued": the mean of the last 10 % of epochs differs from the 10 % before by less than ${v.plateau.tolerance} ${v.plateau.unit}${v.plateau.note ? ` (${v.plateau.note})` : ''}.`, '',
    ...(flagged.length ? [m.noisyLabels
      ? '**Not plateaued** (a comparison involving these runs is inconclusive unless the run\'s best test accuracy was settled before the last 10 % of epochs: with label noise the train curve of a run that fits wrong labels rises until the learning rate reaches 0):'
      : '**Not plateaued** (a comparison involving these runs is inconclusive):', '',
      ...flagged.map(({ c }) => `- \`${c.id}\`: ${v.plateau.short} ${fmt(c.convergence!.last, 2)}, ` +
        (c.convergence!.change !== null ? `changed ${signed(c.convergence!.change, 2)} over the last window` : `${plural(c.columns[v.plateau.column]?.length ?? 0, 'epoch')}: too short to judge (two windows of at least 3 epochs are needed)`) +
        (m.noisyLabels && c.settled ? `; best test accuracy at epoch ${c.settled.bestEpoch}, ${c.settled.settled ? `before the last ${c.settled.window} epochs: settled, counted in the claims` : `within the last ${c.settled.window} epochs: not settled`}` : '')), ''] : []),
    ...(m.unresolved.length && !notDone.length ? [
      `**Not resolved at this scale.** ${[...m.unresolved].sort((x, y) => x - y).map((k) => `\`${cells[k]!.id}\``).join(', ')} had not plateaued after ` +
      `${budget.join('/')} ${budget.length === 1 && budget[0] === 1 ? 'epoch' : 'epochs'}, this profile's budget ` +
      `for the experiment, so the differences below compare runs still improving, not converged models` +
      `${m.plannedClaims.length ? ` (the paper's own differences: ${m.plannedClaims.map((c) => `${label(c.better)} > ${label(c.worse)} ${c.paper}`).join('; ')})` : ''}.`, ''] : []),
    ...(m.pairs.length ? [
      v.comparison, '',
      mdTable(['comparison', 'seeds', `per-seed Δ ${short}`, `Δ ${short}, mean [95 % CI]`, 'p', 'p (Holm)', `Δ ${v.bestOver.short}, mean [95 % CI]`, `p (Holm), ${v.bestOver.short}`, `Δ ${short}, bootstrap over ${v.examples}`],
        m.pairs.map((pd) => [pd.claim, String(pd.seeds.length), pd.dFinal.map((d) => signed(d * scale, digits)).join(', ') || '–',
          fmtInterval(pd.ivFinal, scale, digits), fmtP(pd.testFinal?.p ?? null), fmtP(pd.adjFinal), fmtInterval(pd.ivBest, scale, digits), fmtP(pd.adjBest),
          pd.boot ? `${fmtInterval(pd.boot, scale, digits)} (seed ${pd.bootSeed})` : '–'])), '',
      ...planLine(m.pairs, short),
    ] : []),
    ...provenance(m),
    m.paper ? `Paper (${m.paper.setting}; ${m.paper.source}): ${Object.entries(m.paper.values).map(([k, x]) => `${label(k)} ${x}`).join(' → ')}.${m.comparable ? '' : ' Those are full-scale figures for the published recipe, not for this setting; compare the ordering and the size of the differences, not the values.'}` : '',
    '',
    ...(notDone.length ? ['Cells not completed:', '', ...notDone.map((c) => `- \`${c.id}\`: ${c.status}${c.divergedAt ? ` at epoch ${c.divergedAt.epoch}, step ${c.divergedAt.step} (loss ${c.divergedAt.loss ?? 'NaN'}; the run is kept as its result)` : ''}${c.columns.epoch?.length ? ` (${c.columns.epoch.length}${c.plannedEpochs ? `/${c.plannedEpochs}` : ''} epochs)` : ''}${c.error ? ` — ${c.error.split('\n')[0]}` : ''}`), ''] : []),
    ...files.map(([f]) => `![${m.experiment} ${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files };
}

/** "12", "more than 10,000", "–". */
function seedCount(n: number | null): string {
  return n === null ? '–' : Number.isFinite(n) ? String(n) : `more than ${MAX_PLANNED_SEEDS.toLocaleString('en')}`;
}

/**
 * The planning line under the paired differences: per comparison with two or more seeds, the seeds a study would need
 * for 80 % power at the observed mean difference and spread (raw level, and Holm's strictest level in the family).
 */
function planLine(pairs: readonly PairModel[], short: string): string[] {
  const planned = pairs.filter((p) => p.plan && p.plan.seeds !== null);
  if (!planned.length) return [];
  const k = planned.find((p) => p.plan!.familyAlpha !== null)?.plan!.familyAlpha ?? null;
  const a = planned[0]!.plan!;
  return [`**Seeds for ${Math.round(a.power * 100)} % power** at the observed mean difference and spread (${short}; two-sided paired t at α ${a.alpha}` +
    `${k !== null ? ` / at α/${Math.round(a.alpha / k)}, Holm's strictest threshold in its family of ${Math.round(a.alpha / k)} claims` : ''}; a planning figure from few seeds, not a guarantee): ` +
    planned.map((p) => `${p.claim} ${seedCount(p.plan!.seeds)}${p.plan!.familyAlpha !== null ? ` / ${seedCount(p.plan!.familySeeds)}` : ''}`).join('; ') + '.', ''];
}

/**
 * Where each seed's compared runs ran: per seed, the git revisions, machines and engines of every start of its methods'
 * runs (env.json), each run's number of starts, and whether they all share one revision, machine and engine. Empty
 * for an experiment without pairwise claims or with one seed.
 */
function provenance(m: TrainingModel): string[] {
  const seeds = [...new Set(m.cells.filter((c) => c.starts.length).map((c) => c.seed))].sort((a, b) => a - b);
  if (!m.pairs.length || seeds.length < 2) return [];
  const label = (o: string) => labelOf(m.baseOptimizer, o);
  const distinct = (xs: Array<string | null>) => [...new Set(xs.map((x) => x ?? '?'))];
  const rows = seeds.map((seed) => {
    const runs = m.groupStats.map((gs) => gs.cells.map((i) => m.cells[i]!).find((c) => c.seed === seed) ?? null);
    const starts = runs.flatMap((c) => c?.starts ?? []);
    const revisions = distinct(starts.map((x) => x.revision?.slice(0, 7) ?? null));
    const machines = distinct(starts.map((x) => x.machine));
    const engines = distinct(starts.map((x) => x.engine));
    const complete = runs.every((c) => c?.starts.length);
    return [String(seed), revisions.join(', '), machines.join('; '), engines.join('; '),
      runs.map((c) => (c?.starts.length ? String(c.starts.length) : '–')).join(' / '),
      complete && revisions.length === 1 && machines.length === 1 && engines.length === 1 ? 'yes' : 'no',
      complete && runs.every((c) => c!.starts.length === 1) ? 'yes' : 'no'];
  });
  return [
    'Where each seed\'s runs ran (each run\'s env.json; a run stopped and resumed has one start per process): the git revisions, machines and engines of all its methods\' starts.', '',
    mdTable(['seed', 'revisions', 'machines', 'engines', `starts (${m.groupStats.map((gs) => label(m.cells[gs.cells[0]!]!.optimizer)).join(' / ')})`, 'one revision, machine and engine', 'uninterrupted'], rows), '',
  ];
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
export function decidePairwiseClaims(sections: ReadonlyArray<Pick<SectionModel, 'pairs' | 'claims'>>): { family: string; size: number } {
  // A section's pairs and its pairwise claims are in the same order.
  const pairs = sections.flatMap((s) => {
    const rows = s.claims.filter((c) => c.pairwise);
    return (s.pairs ?? []).map((p, k) => ({ p, row: rows[k]! }));
  });
  const inFamily = pairs.filter(({ row }) => row.pairwise!.seedsPlanned >= 2);
  const adjF = holmAdjust(inFamily.map(({ p }) => p.testFinal?.p ?? null));
  const adjB = holmAdjust(inFamily.map(({ p }) => p.testBest?.p ?? null));
  const byExp = new Map<string, number>();
  for (const { row } of inFamily) byExp.set(row.pairwise!.experiment, (byExp.get(row.pairwise!.experiment) ?? 0) + 1);
  const family = inFamily.length
    ? `the ${inFamily.length} pairwise claim(s) of the experiments planned with two or more seeds (${[...byExp].map(([e, n]) => `\`${e}\` ${n}`).join(', ')})`
    : 'empty (no experiment of this profile is planned with two or more seeds)';
  inFamily.forEach(({ p }, k) => {
    p.adjFinal = adjF[k] ?? null;
    p.adjBest = adjB[k] ?? null;
  });
  for (const { p } of pairs) {
    const familyAlpha = inFamily.some((e) => e.p === p) ? PLAN.alpha / inFamily.length : null;
    p.plan = { power: PLAN.power, alpha: PLAN.alpha, seeds: seedsForPower(p.dFinal, PLAN.alpha, PLAN.power),
      familyAlpha, familySeeds: familyAlpha === null ? null : seedsForPower(p.dFinal, familyAlpha, PLAN.power) };
  }
  for (const entry of pairs) {
    const { p, row } = entry;
    const w = row.pairwise!;
    const member = inFamily.includes(entry);
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
