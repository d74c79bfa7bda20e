/**
 * Report generation from run folders only: per experiment a markdown section (tables of SGD / SAM /
 * ASAM as mean ± std over seeds beside the paper's numbers, wall time and step-time ratios to SGD)
 * and SVG plots; a combined `report.md`, `summary.csv`, `summary.json` and `index.html`.
 * Nothing here runs training; numbers come from result.json / metrics.csv in the cell folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandGrid, type Cell, type ExperimentDef, type OptimizerName, type ProfileName } from './experiment.ts';
import { readJsonIfExists, toCsv, writeFileAtomic, writeJsonAtomic } from './fs-util.ts';
import { readOutcome, type CellOutcome } from './outcome.ts';
import { cellDir } from './runner.ts';
import { kendallTau, mean, std } from './stats.ts';
import { barChart, canvas, colorFor, contourSegments, esc, lineChart, scatterChart } from './svg.ts';

export interface ReportOptions {
  experiments: ExperimentDef[];
  profile: ProfileName;
  /** Root of the run folders for this profile (`<runsDir>/<experiment>/<cell>`). */
  runsDir: string;
  /** Where report.md, index.html, summary.* and plots go. */
  outDir: string;
  now?: Date;
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
  paper: number | null;
  wallMeanS: number | null;
  stepMeanS: number | null;
  stepRatioToSgd: number | null;
  wallRatioToSgd: number | null;
  backends: string;
}

export interface ReportResult {
  files: string[];
  groups: GroupRow[];
  cells: Array<{ experiment: string; cell: string; status: CellOutcome['status']; error: string | null }>;
}

const METRIC: Record<string, { label: string; scale: number; bestLabel: string; finalLabel: string }> = {
  vision: { label: 'test accuracy (%)', scale: 100, bestLabel: 'best test acc (%)', finalLabel: 'final test acc (%)' },
  nmt: { label: 'BLEU', scale: 1, bestLabel: 'best valid BLEU', finalLabel: 'test BLEU (sacreBLEU)' },
};

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', sam: 'SAM', asam: 'ASAM' };

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

function pm(m: number | null, s: number | null, k: number, scale: number, digits = 2): string {
  if (m === null) return '–';
  return k > 1 && s !== null ? `${(m * scale).toFixed(digits)} ± ${(s * scale).toFixed(digits)}` : (m * scale).toFixed(digits);
}

function nums(xs: Array<number | null>): number[] {
  return xs.filter((x): x is number => x !== null && Number.isFinite(x));
}

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function configLine(cells: Cell[]): string {
  const c = cells[0]?.config ?? {};
  const keys = ['model', 'dataset', 'preset', 'corpus', 'epochs', 'maxUpdates', 'batchSize', 'lr', 'trainLimit', 'testLimit', 'labelNoise', 'labelSmoothing'];
  const parts = keys.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k}=${JSON.stringify(c[k])}`);
  return parts.join(', ');
}

interface Section {
  md: (imgPrefix: string) => string;
  files: Array<[string, string]>;
  groups: GroupRow[];
}

function trainingSection(def: ExperimentDef, profile: ProfileName, cells: Cell[], outcomes: CellOutcome[]): Section {
  const m = METRIC[def.task]!;
  const keyOf = (c: Cell) => `${c.optimizer}|${c.rho}`;
  const keys = [...new Set(cells.map(keyOf))];
  const groups: GroupRow[] = keys.map((k) => {
    const idx = cells.map((c, i) => (keyOf(c) === k ? i : -1)).filter((i) => i >= 0);
    const done = idx.filter((i) => outcomes[i]!.status === 'completed');
    const o = done.map((i) => outcomes[i]!);
    const c0 = cells[idx[0]!]!;
    const best = nums(o.map((x) => x.best));
    const fin = nums(o.map((x) => x.final));
    const wall = nums(o.map((x) => x.wallS));
    const step = nums(o.map((x) => x.meanStepS));
    return {
      experiment: def.id, task: def.task, optimizer: c0.optimizer ?? '-', rho: c0.rho, seedsCompleted: done.length, seedsTotal: idx.length,
      failed: idx.filter((i) => outcomes[i]!.status === 'failed').length, metric: m.label,
      bestMean: best.length ? mean(best) : null, bestStd: best.length ? std(best) : null,
      finalMean: fin.length ? mean(fin) : null, finalStd: fin.length ? std(fin) : null,
      paper: c0.optimizer ? def.paper?.values[c0.optimizer] ?? null : null,
      wallMeanS: wall.length ? mean(wall) : null, stepMeanS: step.length ? mean(step) : null,
      stepRatioToSgd: null, wallRatioToSgd: null,
      backends: [...new Set(o.map((x) => x.backend ?? '?'))].join('+'),
    };
  });
  const sgd = groups.find((g) => g.optimizer === 'sgd');
  for (const g of groups) {
    if (sgd?.stepMeanS && g.stepMeanS !== null) g.stepRatioToSgd = g.stepMeanS / sgd.stepMeanS;
    if (sgd?.wallMeanS && g.wallMeanS !== null) g.wallRatioToSgd = g.wallMeanS / sgd.wallMeanS;
  }
  const comparable = profile === 'paper';
  const label = (o: string) => (def.task === 'nmt' && o === 'sgd' ? 'Adam (base)' : OPT_LABEL[o] ?? o);
  const rows = groups.map((g) => [
    label(g.optimizer), g.optimizer === 'sgd' ? '–' : String(g.rho), `${g.seedsCompleted}/${g.seedsTotal}`,
    pm(g.bestMean, g.bestStd, g.seedsCompleted, m.scale), pm(g.finalMean, g.finalStd, g.seedsCompleted, m.scale),
    ...(def.task === 'nmt' ? [fmt(mean(nums(cells.map((c, i) => (keyOf(c) === `${g.optimizer}|${g.rho}` && outcomes[i]!.status === 'completed' ? outcomes[i]!.extra.testBleuTokenized ?? null : null)))))] : []),
    g.paper === null ? '–' : g.paper.toFixed(2),
    fmt(g.wallMeanS, 1), fmt(g.stepMeanS, 3), fmt(g.stepRatioToSgd, 2), fmt(g.wallRatioToSgd, 2), g.backends || '–',
  ]);
  const header = ['optimizer', 'ρ', 'seeds done', m.bestLabel, m.finalLabel, ...(def.task === 'nmt' ? ['test BLEU (tokenized)'] : []),
    `paper${comparable ? '' : ' (full recipe)'}`, 'wall time (s)', 'mean step (s)', 'step / SGD', 'wall / SGD', 'backend'];

  const series = cells.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ o }) => o.curve).map(({ c, o }) => ({
    name: c.id, x: o.curve!.x, y: o.curve!.y, color: colorFor(c.optimizer ?? c.id), dashed: (c.seed % 2) === 1,
  }));
  const files: Array<[string, string]> = [];
  if (series.length) {
    files.push(['curves.svg', lineChart({ title: `${def.title}: ${series[0] ? outcomes.find((o) => o.curve)!.curve!.yLabel : ''} per epoch`, xLabel: 'epoch', yLabel: def.task === 'vision' ? 'test accuracy (%)' : 'valid BLEU', series })]);
  }
  const bars = groups.filter((g) => g.bestMean !== null).map((g) => ({
    label: `${label(g.optimizer)}${g.optimizer === 'sgd' ? '' : ` ρ=${g.rho}`}`,
    value: (def.task === 'nmt' ? g.finalMean ?? 0 : g.bestMean!) * m.scale,
    err: ((def.task === 'nmt' ? g.finalStd : g.bestStd) ?? 0) * m.scale,
    color: colorFor(g.optimizer),
    ...(comparable && g.paper !== null ? { reference: g.paper } : {}),
  }));
  if (bars.length) {
    files.push(['bars.svg', barChart({ title: `${def.title}: ${def.task === 'nmt' ? 'test BLEU' : 'best test accuracy (%)'}, mean ± std over seeds`, yLabel: def.task === 'nmt' ? 'BLEU' : 'accuracy (%)', bars })]);
  }
  const failed = cells.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ o }) => o.status !== 'completed');
  const md = (p: string) => [
    `Task config: ${configLine(cells)}.`, '',
    mdTable(header, rows), '',
    def.paper ? `Paper (${def.paper.setting}; ${def.paper.source}): ${Object.entries(def.paper.values).map(([k, v]) => `${label(k)} ${v}`).join(' → ')}.${comparable ? '' : ` These are for the full published recipe, not for this profile's reduced setting; compare the ordering, not the values.`}` : 'No published numbers for this setting.',
    '',
    ...(def.task === 'nmt' ? ['Wall time includes one-time work of the first cell of a sweep (training the SentencePiece model, then cached) and decoding the test set; compare step times for speed.', ''] : []),
    ...(failed.length ? ['Cells not completed:', '', ...failed.map(({ c, o }) => `- \`${c.id}\`: ${o.status}${o.error ? ` — ${o.error.split('\n')[0]}` : ''}`), ''] : []),
    ...files.map(([f]) => `![${def.id} ${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files, groups };
}

interface ScaleRaw {
  config: { rho: number; eta: number; a: number; start: [number, number]; rhoTrain: { sam: number; asam: number }; range: [number, number] };
  loss: string;
  points: Array<{ name: string; w: [number, number]; loss: number; sharpness: number; adaptiveSharpness: number; sharpnessBruteForce: number; adaptiveSharpnessBruteForce: number; asamEllipseSemiAxes: [number, number]; samMaximiser: [number, number]; asamMaximiser: [number, number] }>;
  trajectories: Record<string, Array<[number, number]>>;
  finalLoss: Record<string, number>;
  contour: { xs: number[]; ys: number[]; values: number[][] };
}

function contourBody(r: ScaleRaw, toX: (x: number) => number, toY: (y: number) => number): string {
  const levels = [0.02, 0.1, 0.3, 0.6, 1, 2, 4, 8];
  const out: string[] = [];
  for (const lv of levels) {
    const d = contourSegments(r.contour.xs, r.contour.ys, r.contour.values, lv)
      .map(([a, b, c, e]) => `M${toX(a).toFixed(1)},${toY(b).toFixed(1)}L${toX(c).toFixed(1)},${toY(e).toFixed(1)}`).join('');
    if (d) out.push(`<path d="${d}" stroke="#bbb" stroke-width="1" fill="none"><title>L = ${lv}</title></path>`);
  }
  return out.join('\n');
}

function scaleSection(def: ExperimentDef, outcome: CellOutcome): Section {
  const r = outcome.raw as unknown as ScaleRaw | null;
  if (!r || outcome.status !== 'completed') {
    return { md: () => `Not completed (${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}).\n`, files: [], groups: [] };
  }
  const { rho, eta, a } = r.config;
  const regions = canvas({
    title: `SAM ρ-ball vs ASAM ellipse at w and A·w (ρ=${rho}, η=${eta})`, xLabel: 'w1', yLabel: 'w2', xRange: r.config.range, yRange: r.config.range, equalAspect: true,
    legend: [{ name: 'loss contours', color: '#bbb' }, { name: 'SAM region', color: colorFor('sam') }, { name: 'ASAM region', color: colorFor('asam') }, { name: 'w1·w2 = const', color: '#444', dashed: true }],
    body: (X, Y) => {
      const parts = [contourBody(r, X, Y)];
      const prod = r.points[0]!.w[0] * r.points[0]!.w[1];
      const hyp = Array.from({ length: 120 }, (_, i) => 0.05 + (i * 3.6) / 119).map((x, i) => `${i ? 'L' : 'M'}${X(x).toFixed(1)},${Y(prod / x).toFixed(1)}`).join('');
      parts.push(`<path d="${hyp}" stroke="#444" stroke-dasharray="5 3" fill="none"/>`);
      for (const p of r.points) {
        const cx = X(p.w[0]);
        const cy = Y(p.w[1]);
        const rx = Math.abs(X(p.w[0] + rho) - cx);
        const ry = Math.abs(Y(p.w[1] + rho) - cy);
        parts.push(`<ellipse cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" rx="${rx.toFixed(1)}" ry="${ry.toFixed(1)}" fill="${colorFor('sam')}" fill-opacity="0.12" stroke="${colorFor('sam')}" stroke-width="2"/>`);
        const ax = Math.abs(X(p.w[0] + p.asamEllipseSemiAxes[0]) - cx);
        const ay = Math.abs(Y(p.w[1] + p.asamEllipseSemiAxes[1]) - cy);
        parts.push(`<ellipse cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" rx="${ax.toFixed(1)}" ry="${ay.toFixed(1)}" fill="${colorFor('asam')}" fill-opacity="0.12" stroke="${colorFor('asam')}" stroke-width="2"/>`);
        for (const [eps, col] of [[p.samMaximiser, colorFor('sam')], [p.asamMaximiser, colorFor('asam')]] as const) {
          parts.push(`<circle cx="${X(p.w[0] + eps[0]).toFixed(1)}" cy="${Y(p.w[1] + eps[1]).toFixed(1)}" r="3.5" fill="${col}"><title>maximiser of L(w+ε)</title></circle>`);
        }
        parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3" fill="black"/><text x="${(cx + 6).toFixed(1)}" y="${(cy - 6).toFixed(1)}" font-size="12">${esc(p.name)}</text>`);
      }
      return parts.join('\n');
    },
  });
  const traj = canvas({
    title: `Trajectories from (${r.config.start.join(', ')}) (SAM ρ=${r.config.rhoTrain.sam}, ASAM ρ=${r.config.rhoTrain.asam})`, xLabel: 'w1', yLabel: 'w2', xRange: r.config.range, yRange: r.config.range, equalAspect: true,
    legend: Object.keys(r.trajectories).map((k) => ({ name: OPT_LABEL[k] ?? k, color: colorFor(k) })),
    body: (X, Y) => [contourBody(r, X, Y), ...Object.entries(r.trajectories).map(([k, pts]) => {
      const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join('');
      const last = pts[pts.length - 1]!;
      return `<path d="${d}" stroke="${colorFor(k)}" stroke-width="2" fill="none"/><circle cx="${X(last[0]).toFixed(1)}" cy="${Y(last[1]).toFixed(1)}" r="4" fill="${colorFor(k)}"/>`;
    })].join('\n'),
  });
  const files: Array<[string, string]> = [['regions.svg', regions], ['trajectories.svg', traj]];
  const rows = r.points.map((p) => [p.name, `(${p.w.map((x) => x.toFixed(3)).join(', ')})`, p.loss.toFixed(4), p.sharpness.toFixed(4), p.sharpnessBruteForce.toFixed(4), p.adaptiveSharpness.toFixed(4), p.adaptiveSharpnessBruteForce.toFixed(4)]);
  const [pw, paw] = r.points;
  const md = (pre: string) => [
    `Loss ${r.loss}; A = diag(${a}, 1/${a}) leaves it unchanged. Sharpness over the ρ-ball and adaptive sharpness over {‖T_w⁻¹ε‖ ≤ ρ}, T_w = |w| + η, measured with @asam/core (projected gradient ascent, 20 steps) and by brute force over the region:`, '',
    mdTable(['point', 'w', 'L(w)', 'sharpness (core)', 'sharpness (brute force)', 'adaptive sharpness (core)', 'adaptive (brute force)'], rows), '',
    pw && paw ? `Ratio A·w / w: sharpness ×${(paw.sharpness / pw.sharpness).toFixed(2)}, adaptive sharpness ×${(paw.adaptiveSharpness / pw.adaptiveSharpness).toFixed(3)} (exactly 1 for η = 0).` : '', '',
    `Trajectories (${Object.values(r.trajectories)[0]!.length - 1} steps of plain SGD, lr ${(r.config as unknown as { lr: number }).lr}): final loss ${Object.entries(r.finalLoss).map(([k, v]) => `${OPT_LABEL[k] ?? k} ${v.toExponential(2)} at (${r.trajectories[k]!.at(-1)!.map((x) => x.toFixed(2)).join(', ')})`).join('; ')}.`, '',
    ...files.map(([f]) => `![${f}](${pre}${f})`), '',
  ].join('\n');
  return { md, files, groups: [] };
}

interface GapRaw {
  config: { rho: number; adaptiveRho: number; eta: number; trainLimit: number; testLimit: number; hidden: number; epochs: number };
  models: Array<{ id: string; trainAcc: number; testAcc: number; trainLoss: number | null; testLoss: number | null; gapAcc: number; gapLoss: number | null; sharpness: number | null; adaptiveSharpness: number | null; diverged?: boolean }>;
}

function gapSection(def: ExperimentDef, outcome: CellOutcome): Section {
  const r = outcome.raw as unknown as GapRaw | null;
  if (!r || outcome.status !== 'completed') {
    return { md: () => `Not completed (${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}).\n`, files: [], groups: [] };
  }
  const all = r.models;
  const ms = all.filter((m) => !m.diverged && m.sharpness !== null && m.adaptiveSharpness !== null && m.gapLoss !== null) as Array<GapRaw['models'][number] & { sharpness: number; adaptiveSharpness: number; gapLoss: number }>;
  const excluded = all.filter((m) => !ms.includes(m as never));
  const tau = {
    sAcc: kendallTau(ms.map((m) => m.sharpness), ms.map((m) => m.gapAcc)),
    aAcc: kendallTau(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.gapAcc)),
    sLoss: kendallTau(ms.map((m) => m.sharpness), ms.map((m) => m.gapLoss)),
    aLoss: kendallTau(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.gapLoss)),
  };
  const sc = (measure: 'sharpness' | 'adaptiveSharpness', gap: 'gapAcc' | 'gapLoss', t: number) => scatterChart({
    title: `${measure === 'sharpness' ? `sharpness (ρ=${r.config.rho})` : `adaptive sharpness (ρ=${r.config.adaptiveRho})`} vs ${gap === 'gapAcc' ? 'accuracy gap' : 'loss gap'}`,
    subtitle: `Kendall τ = ${t.toFixed(3)} (n = ${ms.length})`, xLabel: measure, yLabel: gap === 'gapAcc' ? 'train acc − test acc (%)' : 'test loss − train loss',
    points: ms.map((m) => ({ x: m[measure], y: gap === 'gapAcc' ? m[gap] * 100 : m[gap], label: m.id })), logX: true, color: measure === 'sharpness' ? colorFor('sam') : colorFor('asam'),
  });
  const files: Array<[string, string]> = [
    ['sharpness-vs-gap-acc.svg', sc('sharpness', 'gapAcc', tau.sAcc)], ['adaptive-vs-gap-acc.svg', sc('adaptiveSharpness', 'gapAcc', tau.aAcc)],
    ['sharpness-vs-gap-loss.svg', sc('sharpness', 'gapLoss', tau.sLoss)], ['adaptive-vs-gap-loss.svg', sc('adaptiveSharpness', 'gapLoss', tau.aLoss)],
  ];
  const md = (pre: string) => [
    `${all.length} one-hidden-layer MLPs (${r.config.hidden} units) trained for ${r.config.epochs} epochs on ${r.config.trainLimit} CIFAR-10 images (test: ${r.config.testLimit}), varying batch size, learning rate, weight decay and dropout. Kendall rank correlation τ (τ-b) with the generalization gap over the ${ms.length} models that trained:`, '',
    mdTable(['measure', 'τ with train acc − test acc', 'τ with test loss − train loss'], [
      [`sharpness (ρ = ${r.config.rho})`, tau.sAcc.toFixed(3), tau.sLoss.toFixed(3)],
      [`adaptive sharpness (ρ = ${r.config.adaptiveRho}, η = ${r.config.eta})`, tau.aAcc.toFixed(3), tau.aLoss.toFixed(3)],
    ]), '',
    excluded.length ? `Excluded from τ (training diverged, non-finite loss): ${excluded.map((m) => `\`${m.id}\``).join(', ')}.` : `All ${all.length} models trained without divergence.`, '',
    ...files.map(([f]) => `![${f}](${pre}${f})`), '',
    '<details><summary>Per-model numbers</summary>', '',
    mdTable(['model', 'train acc (%)', 'test acc (%)', 'train loss', 'test loss', 'sharpness', 'adaptive sharpness'],
      all.map((m) => [m.id, (m.trainAcc * 100).toFixed(1), (m.testAcc * 100).toFixed(1), fmt(m.trainLoss, 3), fmt(m.testLoss, 3),
        m.sharpness === null ? 'diverged' : m.sharpness.toExponential(3), m.adaptiveSharpness === null ? 'diverged' : m.adaptiveSharpness.toExponential(3)])),
    '', '</details>', '',
  ].join('\n');
  return { md, files, groups: [] };
}

interface StepRaw {
  config: { model: string; batchSize: number; warmup: number; repeats: number };
  backend: string;
  trainableParams: number;
  medianS: Record<string, number>;
  ratioToSgd: Record<string, number>;
  minS?: Record<string, number>;
  minRatioToSgd?: Record<string, number>;
  imagesPerS: Record<string, number>;
  samplesS: Record<string, number[]>;
}

function stepSection(def: ExperimentDef, outcome: CellOutcome): Section {
  const r = outcome.raw as unknown as StepRaw | null;
  if (!r || outcome.status !== 'completed') {
    return { md: () => `Not completed (${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}).\n`, files: [], groups: [] };
  }
  const names = Object.keys(r.medianS);
  const bars = barChart({ title: `Step time, ${r.config.model}, batch ${r.config.batchSize} (${r.backend})`, yLabel: 'seconds per step (median)', bars: names.map((n) => ({ label: OPT_LABEL[n] ?? n, value: r.medianS[n]!, color: colorFor(n) })), yMin: 0 });
  const md = (pre: string) => [
    `${r.config.model} (${r.trainableParams} trainable parameters), one batch of ${r.config.batchSize} CIFAR-10 images, backend \`${r.backend}\`; ${r.config.warmup} warm-up round(s), then ${r.config.repeats} timed rounds interleaving SGD, SAM, ASAM (weights reset before each step; the timer stops after \`dataSync()\` of the loss).`, '',
    mdTable(['optimizer', 'median step (s)', 'median / SGD', 'fastest step (s)', 'fastest / SGD', 'images/s (median)', 'samples (s)'],
      names.map((n) => [OPT_LABEL[n] ?? n, r.medianS[n]!.toFixed(3), r.ratioToSgd[n]!.toFixed(2), fmt(r.minS?.[n], 3), fmt(r.minRatioToSgd?.[n], 2), r.imagesPerS[n]!.toFixed(1), r.samplesS[n]!.map((x) => x.toFixed(3)).join(', ')])), '',
    'On a machine shared with other work the fastest sample is the least disturbed; a SAM/ASAM step does two forward-backward passes, so about 2× is expected.', '',
    `![step time](${pre}step-time.svg)`, '',
  ].join('\n');
  return { md, files: [['step-time.svg', bars]], groups: [] };
}

/** Converts the markdown this module writes (headings, tables, images, lists, paragraphs) to HTML. */
export function markdownToHtml(md: string): string {
  const lines = md.split('\n');
  const out: string[] = [];
  const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
    .replace(/!\[([^\]]*)\]\(([^)]+)\)/g, '<img alt="$1" src="$2">').replace(/\[([^\]]+)\]\(([^)]+)\)/g, '<a href="$2">$1</a>');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^<\/?details|^<summary/.test(l)) { out.push(l); continue; }
    const h = /^(#{1,4}) (.*)$/.exec(l);
    if (h) { out.push(`<h${h[1]!.length}>${inline(h[2]!)}</h${h[1]!.length}>`); continue; }
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        rows.push(lines[i]!.slice(1, -1).split('|').map((c) => c.trim()));
        i++;
      }
      i--;
      const [head, , ...body] = rows;
      out.push('<table>', `<tr>${head!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`, ...body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`), '</table>');
      continue;
    }
    if (l.startsWith('- ')) {
      out.push('<ul>');
      while (i < lines.length && lines[i]!.startsWith('- ')) out.push(`<li>${inline(lines[i++]!.slice(2))}</li>`);
      i--;
      out.push('</ul>');
      continue;
    }
    if (l.trim()) out.push(`<p>${inline(l)}</p>`);
  }
  return out.join('\n');
}

/**
 * Writes the report for one profile from the run folders: `<outDir>/report.md`, `index.html`,
 * `summary.csv`, `summary.json`, and `<outDir>/<experiment>/{report.md, *.svg}`. Experiments
 * without any run folder are listed as not run. Returns the files written and the summary rows.
 */
export function generateReport(o: ReportOptions): ReportResult {
  const now = o.now ?? new Date();
  fs.mkdirSync(o.outDir, { recursive: true });
  const files: string[] = [];
  const groups: GroupRow[] = [];
  const cellsOut: ReportResult['cells'] = [];
  const sections: string[] = [];
  const backends = new Set<string>();
  const shas = new Set<string>();
  for (const def of o.experiments) {
    if (!def.profiles[o.profile]) continue;
    const cells = expandGrid(def, o.profile);
    const outcomes = cells.map((c) => readOutcome(def.task, cellDir(o.runsDir, c)));
    cells.forEach((c, i) => {
      const oc = outcomes[i]!;
      cellsOut.push({ experiment: def.id, cell: c.id, status: oc.status, error: oc.error });
      if (oc.backend) backends.add(oc.backend);
      const env = readEnvSha(cellDir(o.runsDir, c));
      if (env) shas.add(env);
    });
    const sec = def.task === 'vision' || def.task === 'nmt' ? trainingSection(def, o.profile, cells, outcomes)
      : def.task === 'scale_invariance' ? scaleSection(def, outcomes[0]!)
        : def.task === 'sharpness_gap' ? gapSection(def, outcomes[0]!)
          : stepSection(def, outcomes[0]!);
    const expDir = path.join(o.outDir, def.id);
    fs.mkdirSync(expDir, { recursive: true });
    for (const [name, svg] of sec.files) {
      writeFileAtomic(path.join(expDir, name), svg);
      files.push(path.join(expDir, name));
    }
    const note = def.profiles[o.profile]?.note;
    const head = [`## ${def.title} (\`${def.id}\`)`, '', def.description, ...(note ? ['', `Profile \`${o.profile}\`: ${note}`] : []), ''].join('\n');
    const status = outcomes.every((x) => x.status === 'missing') ? `\n**Not run yet** (no run folders under ${path.relative(process.cwd(), path.join(o.runsDir, def.id)) || '.'}).\n` : '';
    writeFileAtomic(path.join(expDir, 'report.md'), `# ${def.title}\n\n${head.split('\n').slice(2).join('\n')}${status}\n${sec.md('')}`);
    files.push(path.join(expDir, 'report.md'));
    sections.push(`${head}${status}\n${sec.md(`${def.id}/`)}`);
    groups.push(...sec.groups);
  }
  const completed = cellsOut.filter((c) => c.status === 'completed').length;
  const header = [
    `# ASAM benchmarks — profile \`${o.profile}\``, '',
    `Generated ${now.toISOString()} from the run folders in \`${path.relative(process.cwd(), o.runsDir) || '.'}\` (${completed}/${cellsOut.length} cells completed). ` +
    `Backends used: ${[...backends].join(', ') || '–'}. Git revisions of the runs: ${[...shas].map((s) => s.slice(0, 10)).join(', ') || '–'}.`, '',
    'Tables give mean ± sample std over seeds (a single seed shows the value alone). "step / SGD" and "wall / SGD" divide by the SGD row of the same experiment. Accuracy is in %, BLEU in points.', '',
  ].join('\n');
  const md = `${header}\n${sections.join('\n')}`;
  writeFileAtomic(path.join(o.outDir, 'report.md'), md);
  const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>ASAM benchmarks (${esc(o.profile)})</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:4px;border:1px solid #eee}code{background:#f4f4f4;padding:0 3px}</style></head>\n<body>\n${markdownToHtml(md)}\n</body></html>\n`;
  writeFileAtomic(path.join(o.outDir, 'index.html'), html);
  const cols: Array<keyof GroupRow> = ['experiment', 'task', 'optimizer', 'rho', 'seedsCompleted', 'seedsTotal', 'failed', 'metric', 'bestMean', 'bestStd', 'finalMean', 'finalStd', 'paper', 'wallMeanS', 'stepMeanS', 'stepRatioToSgd', 'wallRatioToSgd', 'backends'];
  writeFileAtomic(path.join(o.outDir, 'summary.csv'), toCsv(cols, groups as unknown as Array<Record<string, unknown>>));
  writeJsonAtomic(path.join(o.outDir, 'summary.json'), { profile: o.profile, generatedAt: now.toISOString(), runsDir: o.runsDir, groups, cells: cellsOut });
  files.push(...['report.md', 'index.html', 'summary.csv', 'summary.json'].map((f) => path.join(o.outDir, f)));
  return { files, groups, cells: cellsOut };
}

function readEnvSha(dir: string): string | null {
  return readJsonIfExists<{ git?: { sha?: string } }>(path.join(dir, 'env.json'))?.git?.sha ?? null;
}

/** Display label of an optimizer name. */
export function optimizerLabel(o: OptimizerName): string {
  return OPT_LABEL[o]!;
}
