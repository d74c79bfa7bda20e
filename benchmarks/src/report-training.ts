/**
 * The report section of a training experiment (vision or nmt): groups over seeds, convergence flags, paired
 * differences between methods with confidence intervals, the claims they decide, and the plots (bars from zero
 * with error bars, learning curves with every seed thin and the mean bold, the learning-rate schedule).
 */
import * as path from 'node:path';
import { readTestBleuSegments, TEST_BLEU_SEGMENTS_FILE } from '@asam/nmt';
import { pairedBootstrap, pairedBootstrapBleu, plateauCheck, tInterval, verdictOf, type Interval, type Verdict } from './compare.ts';
import type { Cell, ExperimentDef, OptimizerName, ProfileName } from './experiment.ts';
import { readJsonIfExists } from './fs-util.ts';
import type { CellOutcome } from './outcome.ts';
import { mean, std } from './stats.ts';
import { barChart, colorFor, lineChart, type LineSeries, type Marker } from './svg.ts';

/** One row of the claims table at the top of a report. */
export interface ClaimRow {
  claim: string;
  paper: string;
  ours: string;
  verdict: Verdict | 'pending';
  note: string;
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
  files: Array<[string, string]>;
  groups: GroupRow[];
  claims: ClaimRow[];
}

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', adam: 'Adam', sam: 'SAM', asam: 'ASAM' };
const MARKER: Record<string, Marker> = { sgd: 'circle', sam: 'square', asam: 'triangle' };

/** What a task's report compares and how convergence is judged. */
const TASK: Record<string, {
  metric: string; scale: number; bestLabel: string; finalLabel: string; digits: number;
  /** metrics.csv column whose plateau means "converged", its display name and scale, and the tolerance (display units). */
  converge: { column: string; label: string; scale: number; tolerance: number };
  curves: Array<{ column: string; label: string; scale: number }>;
}> = {
  vision: {
    metric: 'test accuracy (%)', scale: 100, bestLabel: 'best test acc (%)', finalLabel: 'final test acc (%)', digits: 2,
    converge: { column: 'train_acc', label: 'train acc (%)', scale: 100, tolerance: 0.5 },
    curves: [{ column: 'train_loss', label: 'train loss', scale: 1 }, { column: 'train_acc', label: 'train accuracy (%)', scale: 100 }, { column: 'test_acc', label: 'test accuracy (%)', scale: 100 }],
  },
  nmt: {
    metric: 'BLEU', scale: 1, bestLabel: 'best valid BLEU', finalLabel: 'test BLEU', digits: 2,
    converge: { column: 'valid_bleu', label: 'valid BLEU', scale: 1, tolerance: 0.3 },
    curves: [{ column: 'train_loss', label: 'train loss', scale: 1 }, { column: 'valid_loss', label: 'valid loss', scale: 1 }, { column: 'valid_bleu', label: 'valid BLEU', scale: 1 }],
  },
};

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

function pm(xs: number[], scale: number, digits: number): string {
  if (!xs.length) return '–';
  return xs.length > 1 ? `${(mean(xs) * scale).toFixed(digits)} ± ${(std(xs) * scale).toFixed(digits)}` : (xs[0]! * scale).toFixed(digits);
}

function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
}

function fmtInterval(iv: Interval | null, scale: number, digits: number): string {
  if (!iv) return '–';
  return `${signed(iv.estimate * scale, digits)} [${signed(iv.lo * scale, digits)}, ${signed(iv.hi * scale, digits)}]`;
}

export function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
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
  const pairRows: string[][] = [];
  // Runs that some pairwise comparison rests on although they had not converged (the comparison is then not resolved).
  const unresolved = new Set<number>();
  const claims: ClaimRow[] = [];
  for (const [a, b] of pairs) {
    const both = seeds.map((s) => [cellFor(a, s), cellFor(b, s), s] as const)
      .filter(([i, j]) => i >= 0 && j >= 0 && outcomes[i]!.status === 'completed' && outcomes[j]!.status === 'completed');
    const dBest = both.map(([i, j]) => outcomes[i]!.best! - outcomes[j]!.best!);
    const dFinal = both.map(([i, j]) => outcomes[i]!.final! - outcomes[j]!.final!);
    const ivBest = tInterval(dBest);
    const ivFinal = tInterval(dFinal);
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
    const claim = `${label(a)} > ${label(b)}`;
    pairRows.push([
      claim, String(both.length), dBest.map((d) => signed(d * t.scale, t.digits)).join(', ') || '–',
      fmtInterval(ivBest, t.scale, t.digits), fmtInterval(ivFinal, t.scale, t.digits),
      boot ? `${fmtInterval(boot, t.scale, t.digits)} (seed ${bootSeed})` : '–',
    ]);
    const spec = def.claims!.find((c) => c.better === a && c.worse === b)!;
    let verdict: ClaimRow['verdict'] = both.length === 0 ? 'pending' : verdictOf(ivBest);
    const notes: string[] = [];
    if (both.length < 2) notes.push(both.length ? 'one seed: no interval over seeds' : 'no completed seed pair yet');
    if (notConverged.length && both.length) { verdict = 'inconclusive'; notes.push(`not plateaued: ${notConverged.join(', ')}`); }
    for (const [i, j] of both) for (const k of [i, j]) if (!converged(k)) unresolved.add(k);
    if (divergedRuns.length) { verdict = 'inconclusive'; notes.push(`diverged: ${divergedRuns.join(', ')}`); }
    if (noiseRegime && !noiseRegime.reached && both.length) {
      verdict = 'inconclusive';
      notes.push(`${baseName} does not fit the noisy labels (final train accuracy ${(noiseRegime.train * 100).toFixed(1)} %, ${Math.round((1 - noiseRegime.rate) * 100)} % of the labels are right): the label-noise regime is not reached`);
    }
    const total = seeds.length;
    if (both.length && both.length < total) notes.push(`${both.length} of ${total} seeds done`);
    claims.push({
      claim: `${claim} — ${def.title}`, paper: spec.paper,
      ours: both.length ? `${fmtInterval(ivBest, t.scale, t.digits) === '–' ? signed(mean(dBest) * t.scale, t.digits) : fmtInterval(ivBest, t.scale, t.digits)} (${t.scale === 100 ? 'points' : 'BLEU'}, n=${both.length})` : '–',
      verdict, note: notes.join('; '),
    });
  }

  // ---- plots
  const files: Array<[string, string]> = [];
  const comparable = profile === 'paper';
  const bars = groups.filter((g) => (isVision ? g.bestMean : g.finalMean) !== null).map((g) => ({
    label: `${label(g.optimizer)}${g.optimizer === 'sgd' ? '' : ` ρ=${g.rho}`}`,
    value: (isVision ? g.bestMean! : g.finalMean!) * t.scale,
    err: ((isVision ? g.bestStd : g.finalStd) ?? 0) * t.scale,
    color: colorFor(g.optimizer),
    ...(g.paper !== null ? { reference: g.paper } : {}),
  }));
  if (bars.length) {
    files.push(['bars.svg', barChart({
      title: `${def.title}: ${isVision ? 'best test accuracy (%)' : 'test BLEU'}, mean ± std over seeds`, yLabel: isVision ? 'accuracy (%)' : 'BLEU', bars,
      referenceLabel: comparable ? 'paper' : 'paper, full-scale recipe (not this setting)',
    })]);
  }
  const curveSeries = (column: string, scale: number): LineSeries[] => {
    const out: LineSeries[] = [];
    for (const k of keys) {
      const idx = cells.map((c, i) => (keyOf(c) === k ? i : -1)).filter((i) => i >= 0 && outcomes[i]!.columns[column]?.length);
      if (!idx.length) continue;
      const opt = cells[idx[0]!]!.optimizer ?? 'sgd';
      const color = colorFor(opt);
      const name = `${label(opt)}${opt === 'sgd' ? '' : ` ρ=${cells[idx[0]!]!.rho}`}`;
      for (const i of idx) {
        const { c, o } = at(i);
        out.push({ name: `${name} seed ${c.seed}`, x: o.columns.epoch ?? [], y: o.columns[column]!.map((v) => v * scale), color, width: 0.9, opacity: 0.45, hideInLegend: idx.length > 1 });
      }
      if (idx.length > 1) {
        const len = Math.min(...idx.map((i) => outcomes[i]!.columns[column]!.length));
        const y = Array.from({ length: len }, (_, e) => mean(idx.map((i) => outcomes[i]!.columns[column]![e]! * scale)));
        out.push({ name: `${name} (mean of ${idx.length})`, x: (outcomes[idx[0]!]!.columns.epoch ?? []).slice(0, len), y, color, width: 2.6, marker: MARKER[opt], markerEvery: Math.max(1, Math.round(len / 12)) });
      } else {
        out[out.length - 1]!.width = 2;
        out[out.length - 1]!.opacity = 1;
        out[out.length - 1]!.marker = MARKER[opt];
        out[out.length - 1]!.markerEvery = Math.max(1, Math.round(out[out.length - 1]!.x.length / 12));
      }
    }
    return out;
  };
  for (const cv of t.curves) {
    const s = curveSeries(cv.column, cv.scale);
    if (s.length) files.push([`curve-${cv.column.replace(/_/g, '-')}.svg`, lineChart({ title: `${def.title}: ${cv.label} per epoch (thin: seeds, bold: mean)`, xLabel: 'epoch', yLabel: cv.label, series: s })]);
  }
  const lrIdx = outcomes.findIndex((o) => o.columns.lr?.length);
  if (lrIdx >= 0) {
    const o = outcomes[lrIdx]!;
    files.push(['lr-schedule.svg', lineChart({ title: `${def.title}: learning rate (value at the end of each epoch)`, xLabel: 'epoch', yLabel: 'learning rate', series: [{ name: 'lr', x: o.columns.epoch ?? [], y: o.columns.lr!, color: '#444', width: 2 }], yFromZero: true })]);
  }

  const flagged = cells.map((c, i) => ({ c, o: outcomes[i]!, v: conv[i], i })).filter(({ o, v }) => o.status === 'completed' && v && !v.plateaued);
  const notDone = cells.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ o }) => o.status !== 'completed');
  const md = (p: string) => [
    `Task config: ${configLine(cells)}.`, '',
    mdTable(header, groupRows), '',
    ...(noiseLine ? [noiseLine, ''] : []),
    `"${t.converge.label} plateaued": the mean of the last 10 % of epochs differs from the 10 % before by less than ${t.converge.tolerance} ${isVision ? 'points' : 'BLEU'}${isVision ? ' (train accuracy on the labels trained on, augmented, measured during the epoch)' : ''}.`, '',
    ...(flagged.length ? [noisyLabels
      ? '**Not plateaued** (a comparison involving these runs is inconclusive unless the run\'s best test accuracy was settled before the last 10 % of epochs: with label noise the train curve of a run that fits wrong labels rises until the learning rate reaches 0):'
      : '**Not plateaued** (a comparison involving these runs is inconclusive):', '',
      ...flagged.map(({ c, v, i }) => `- \`${c.id}\`: ${t.converge.label} ${fmt(v!.last, 2)}, changed ${signed(v!.change, 2)} over the last window` +
        (noisyLabels && settled[i] ? `; best test accuracy at epoch ${settled[i]!.bestEpoch}, ${settled[i]!.settled ? `before the last ${settled[i]!.window} epochs: settled, counted in the claims` : `within the last ${settled[i]!.window} epochs: not settled`}` : '')), ''] : []),
    ...(unresolved.size && !notDone.length ? [
      `**Not resolved at this scale.** ${[...unresolved].sort((x, y) => x - y).map((k) => `\`${cells[k]!.id}\``).join(', ')} had not plateaued after ` +
      `${[...new Set([...unresolved].map((k) => outcomes[k]!.plannedEpochs ?? outcomes[k]!.columns.epoch?.length ?? 0))].join('/')} epochs, this profile's budget ` +
      `for the experiment, so the differences below compare runs still improving, not converged models` +
      `${def.claims?.length ? ` (the paper's own differences: ${def.claims.map((c) => `${label(c.better)} > ${label(c.worse)} ${c.paper}`).join('; ')})` : ''}.`, ''] : []),
    ...(pairRows.length ? [
      isVision
        ? `Paired differences (same seed = same initialization, data order and augmentation), accuracy points: per-seed differences of the best-over-epochs value, their mean with a 95 % Student-t interval over seeds (best and final epoch), and a 95 % paired bootstrap interval over the test images (final epoch, 2,000 resamples) for one seed.`
        : `Paired differences (same seed = same initialization, batch order and dropout masks), BLEU: per-seed differences of the best validation BLEU, their mean with a 95 % Student-t interval over seeds (best validation BLEU, and test BLEU of the best-validation weights), and a 95 % paired bootstrap interval of the test BLEU difference over the test sentences (Koehn 2004: each resample's corpus BLEU from its sentences' statistics, 2,000 resamples) for one seed.`, '',
      mdTable(['comparison', 'seeds', `per-seed Δ best`, 'Δ best, mean [95 % CI]', 'Δ final, mean [95 % CI]', `Δ final, bootstrap over test ${isVision ? 'images' : 'sentences'}`], pairRows), '',
    ] : []),
    def.paper ? `Paper (${def.paper.setting}; ${def.paper.source}): ${Object.entries(def.paper.values).map(([k, v]) => `${label(k)} ${v}`).join(' → ')}.${comparable ? '' : ' Those are full-scale figures for the published recipe, not for this setting; compare the ordering and the size of the differences, not the values.'}` : '',
    '',
    ...(notDone.length ? ['Cells not completed:', '', ...notDone.map(({ c, o }) => `- \`${c.id}\`: ${o.status}${o.divergedAt ? ` at epoch ${o.divergedAt.epoch}, step ${o.divergedAt.step} (loss ${o.divergedAt.loss ?? 'NaN'}; the run is kept as its result)` : ''}${o.columns.epoch?.length ? ` (${o.columns.epoch.length}${o.plannedEpochs ? `/${o.plannedEpochs}` : ''} epochs)` : ''}${o.error ? ` — ${o.error.split('\n')[0]}` : ''}`), ''] : []),
    ...files.map(([f]) => `![${def.id} ${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files, groups, claims };
}
