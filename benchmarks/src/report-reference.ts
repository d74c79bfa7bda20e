/**
 * The independent PyTorch runs of the clean CIFAR-10 recipe (`scripts/torch_cifar_reference.py`, format
 * `asam-torch-reference/1`), set beside our runs of the same experiment (`cifar10_resnet20`): best test accuracy,
 * train accuracy at the midpoint and at the end, and the learning curves of both implementations.
 *
 * The reference results are committed inputs of a published report: `<outDir>/torch-reference/*.json`. The data
 * order and initialization of a torch seed are not ours, so our seeds and PyTorch's are compared as two independent
 * samples (Welch's interval of the difference of means); within one implementation the three methods of a seed share
 * their initialization and data order, so the method differences are paired by seed there (Student-t interval), and
 * the two implementations' differences are again compared as independent samples. Final-epoch test accuracy decides
 * (no selection on the test set, as the claims table); best over epochs is shown beside it.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cell, ExperimentDef } from './experiment.ts';
import type { CellOutcome } from './outcome.ts';
import type { RenderedSection, SectionModel } from './report-model.ts';
import { formatP, mdTable } from './report-training.ts';
import { fmtMeanStd, mean } from './stats.ts';
import { holmAdjust, tInterval, welchInterval, welchTTest, type Interval } from './compare.ts';
import { lineChart, type ChartSpec, type LinePoint } from './charts.ts';

export const REFERENCE_DIR = 'torch-reference';
/** The experiment whose recipe the reference script reproduces. */
export const REFERENCE_EXPERIMENT = 'cifar10_resnet20';
const FORMAT = 'asam-torch-reference/1';
const LABEL: Record<string, string> = { sgd: 'SGD', sam: 'SAM', asam: 'ASAM' };

export interface ReferenceEpoch { epoch: number; train_loss: number; train_acc: number; test_loss: number; test_acc: number; seconds: number }

export interface ReferenceRun {
  file: string;
  method: 'sgd' | 'sam' | 'asam';
  rho: number | null;
  seed: number;
  epochs: number;
  best: { test_acc: number; epoch: number };
  /** Test accuracy after the last epoch. */
  final: number;
  wallSeconds: number;
  torch: string;
  threads: number;
  history: ReferenceEpoch[];
}

/** A reference file that is not a finished run of the script's format: names the file and what is wrong. */
export class ReferenceFileError extends Error {}

/** Reads every `*.json` in `dir` but the charts' `*.vl.json` (none when the folder is absent), sorted by method then seed. */
export function readReferenceRuns(dir: string): ReferenceRun[] {
  if (!fs.existsSync(dir)) return [];
  const runs = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.vl.json')).sort().map((f) => {
    const file = path.join(dir, f);
    let raw: Record<string, unknown>;
    try { raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>; } catch (e) {
      throw new ReferenceFileError(`${file}: not JSON (${(e as Error).message}); rerun scripts/torch_cifar_reference.py for it or remove it`);
    }
    const bad = (what: string) => new ReferenceFileError(`${file}: ${what}; expected a finished run of scripts/torch_cifar_reference.py (format ${FORMAT})`);
    if (raw.format !== FORMAT) throw bad(`format ${JSON.stringify(raw.format)}`);
    const method = raw.method as ReferenceRun['method'];
    if (!(method in LABEL)) throw bad(`method ${JSON.stringify(raw.method)}`);
    const history = raw.history as ReferenceEpoch[] | undefined;
    if (!Array.isArray(history) || history.length !== raw.epochs || history.some((h, i) => h.epoch !== i + 1 || !Number.isFinite(h.train_acc) || !Number.isFinite(h.test_acc))) {
      throw bad(`history does not hold epochs 1..${String(raw.epochs)} with finite accuracies`);
    }
    return { file: f, method, rho: (raw.rho as number | null) ?? null, seed: raw.seed as number, epochs: raw.epochs as number, best: raw.best as ReferenceRun['best'], final: history.at(-1)!.test_acc,
      wallSeconds: raw.wallSeconds as number, torch: String(raw.torch), threads: raw.threads as number, history };
  });
  const order = Object.keys(LABEL);
  return runs.sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method) || a.seed - b.seed);
}

function meanCurve(curves: number[][]): number[] {
  const n = Math.min(...curves.map((c) => c.length));
  return Array.from({ length: n }, (_, i) => curves.reduce((a, c) => a + c[i]!, 0) / curves.length);
}

/** Which test accuracy of a run: after the last epoch (decides), or the best over epochs (the paper's). */
export type ReferenceMetric = 'final' | 'best';

/**
 * One method in both implementations: our per-seed values, PyTorch's, ours − PyTorch with Welch's interval (null below
 * two runs on either side), Welch's two-sided p, and that p adjusted by
 * Holm's method over the family of the per-method checks on the same metric (every method with a p; `pHolm` null
 * without one). (`p`/`pHolm` are absent from models written before they were recorded.)
 */
export interface FidelityMethod { method: string; ours: number[]; torch: number[]; diff: Interval | null; p?: number | null; pHolm?: number | null }

/** One method difference (`a` − `b`) in both implementations, paired by seed within each, and ours − PyTorch. */
export interface FidelityContrast {
  a: string; b: string;
  /** Per-seed differences a − b (seeds where both finished). */
  ours: number[]; torch: number[];
  oursIv: Interval | null; torchIv: Interval | null;
  /** Our mean difference − PyTorch's (Welch over the two sets of per-seed differences). */
  diff: Interval | null;
}

export const CONTRASTS: ReadonlyArray<readonly [string, string]> = [['sam', 'sgd'], ['asam', 'sgd'], ['asam', 'sam']];

/**
 * The fidelity comparison on `metric`: per method ours vs PyTorch, and per method difference (SAM − SGD, ASAM − SGD,
 * ASAM − SAM) ours vs PyTorch. Our values are the completed cells of the reference experiment.
 */
/** The fidelity comparison on one metric. */
export interface Fidelity { methods: FidelityMethod[]; contrasts: FidelityContrast[] }

export function referenceFidelity(runs: ReferenceRun[], cells: Cell[], outcomes: CellOutcome[], metric: ReferenceMetric): Fidelity {
  const ourBySeed = (m: string): Map<number, number> => new Map(cells.flatMap((c, i) => {
    const o = outcomes[i]!;
    const v = metric === 'final' ? o.final : o.best;
    return c.optimizer === m && o.status === 'completed' && v !== null ? [[c.seed, v] as [number, number]] : [];
  }));
  const torchBySeed = (m: string): Map<number, number> => new Map(runs.filter((r) => r.method === m).map((r) => [r.seed, metric === 'final' ? r.final : r.best.test_acc]));
  const checked = Object.keys(LABEL).filter((m) => runs.some((r) => r.method === m)).map((m) => {
    const ours = [...ourBySeed(m).values()];
    const torch = [...torchBySeed(m).values()];
    return { method: m, ours, torch, diff: welchInterval(ours, torch), p: welchTTest(ours, torch)?.p ?? null };
  });
  const tested = checked.filter((m) => m.p !== null);
  const adjusted = holmAdjust(tested.map((m) => m.p));
  const methods = checked.map((m) => ({ ...m, pHolm: m.p === null ? null : adjusted[tested.indexOf(m)]! }));
  const paired = (x: Map<number, number>, y: Map<number, number>): number[] => [...x].filter(([s]) => y.has(s)).sort((p, q) => p[0] - q[0]).map(([s, v]) => v - y.get(s)!);
  const contrasts = CONTRASTS.filter(([a, b]) => runs.some((r) => r.method === a) && runs.some((r) => r.method === b)).map(([a, b]) => {
    const ours = paired(ourBySeed(a), ourBySeed(b));
    const torch = paired(torchBySeed(a), torchBySeed(b));
    return { a, b, ours, torch, oursIv: tInterval(ours), torchIv: tInterval(torch), diff: welchInterval(ours, torch) };
  });
  return { methods, contrasts };
}

/** "+0.42 [−0.10, +0.94]" in points (×100), or the mean alone when there is no interval. */
function ptsIv(iv: Interval | null, xs: number[]): string {
  const sg = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(2)}`;
  if (iv) return `${sg(iv.estimate)} [${sg(iv.lo)}, ${sg(iv.hi)}]`;
  return xs.length ? `${sg(mean(xs))} (one seed, no interval)` : '–';
}

/** Markdown of the fidelity comparison: two tables (methods, differences) on final-epoch accuracy with best-over-epochs beside, and notes. */
function fidelityMarkdown(fin: Fidelity, best: Fidelity): string[] {
  const pct = (xs: number[]) => (xs.length ? `${fmtMeanStd(xs, 2, 100)} (${xs.length})` : '–');
  const label = (c: FidelityContrast) => `${LABEL[c.a]} − ${LABEL[c.b]}`;
  const excludes0 = (iv: Interval | null) => iv !== null && (iv.lo > 0 || iv.hi < 0);
  const fmtP = (p: number | null | undefined) => (p === null || p === undefined ? '–' : formatP(p));
  const family = fin.methods.filter((m) => m.p !== null && m.p !== undefined).length;
  const methodRows = fin.methods.map((m, i) => [LABEL[m.method]!, pct(m.ours), pct(m.torch), ptsIv(m.diff, []), fmtP(m.p), fmtP(m.pHolm), ptsIv(best.methods[i]!.diff, [])]);
  const pText = (m: FidelityMethod) => (m.p === null || m.p === undefined ? '' : `; Welch p ${fmtP(m.p)}, ${fmtP(m.pHolm)} after Holm over the ${family} methods' checks`);
  const differs = (m: FidelityMethod) => {
    const side = `ours ${m.diff!.estimate > 0 ? 'higher' : 'lower'}`;
    if (m.pHolm === null || m.pHolm === undefined || m.pHolm < 0.05) return `the two implementations **differ** (the interval excludes 0; ${side}${pText(m)})`;
    return `the interval excludes 0 (${side}${pText(m)}), but the adjusted p is not below 0.05: with ${family} methods checked, a gap this large in one of them is not beyond chance, so the implementations **differ before correction only**`;
  };
  const contrastRows = fin.contrasts.map((c, i) => [label(c), `${ptsIv(c.oursIv, c.ours)} (${c.ours.length})`, `${ptsIv(c.torchIv, c.torch)} (${c.torch.length})`,
    ptsIv(c.diff, []), `${ptsIv(best.contrasts[i]!.oursIv, best.contrasts[i]!.ours)} / ${ptsIv(best.contrasts[i]!.torchIv, best.contrasts[i]!.torch)}`]);
  const notes: string[] = [];
  for (const m of fin.methods) {
    if (!m.diff) notes.push(`${LABEL[m.method]}: fewer than two runs on one side (ours ${m.ours.length}, PyTorch ${m.torch.length}); no interval yet.`);
    else notes.push(`${LABEL[m.method]}: ours − PyTorch ${ptsIv(m.diff, [])} points on final-epoch accuracy: ${excludes0(m.diff) ? differs(m) : `consistent (the interval covers 0${pText(m)})`}.`);
  }
  for (const c of fin.contrasts) {
    if (!c.diff) continue;
    notes.push(`${label(c)}: ${ptsIv(c.oursIv, c.ours)} in ours, ${ptsIv(c.torchIv, c.torch)} in PyTorch; the difference of the two ${ptsIv(c.diff, [])} ${excludes0(c.diff) ? '**excludes 0**: the implementations disagree on this method difference' : 'covers 0: the implementations agree on it within the spread'}.`);
  }
  return [
    '**Fidelity on final-epoch test accuracy** (the metric the claims are decided on; best over epochs beside it). Per method, our seeds and PyTorch\'s are two independent samples: ours − PyTorch with Welch\'s 95 % interval. ' +
    'Welch\'s two-sided p beside it, adjusted by Holm\'s method over the family of the per-method checks (one per method with runs on both sides). Per method difference, each implementation pairs its methods by seed (Student-t 95 % interval), and the two implementations\' differences are compared with Welch\'s interval. Values in accuracy points; (n) = runs or paired seeds.', '',
    mdTable(['method', 'final test acc (%), ours (n)', 'final test acc (%), PyTorch (n)', 'ours − PyTorch, final [95 % CI]', 'p (Welch)', 'p (Holm)', 'ours − PyTorch, best over epochs [95 % CI]'], methodRows), '',
    mdTable(['difference', 'ours, final [95 % CI] (seeds)', 'PyTorch, final [95 % CI] (seeds)', 'ours − PyTorch [95 % CI]', 'best over epochs: ours / PyTorch'], contrastRows), '',
    ...notes.map((n) => `- ${n}`), ...(notes.length ? [''] : []),
  ];
}

/**
 * The final epoch's losses, ours vs PyTorch, and for each method whose final test accuracy differs between the two
 * (Welch's interval excludes 0) whether the training fit differs too (train loss) or only the test set (test loss).
 */
function lossMarkdown(m: ReferenceModel): string[] {
  if (!m.losses?.length) return [];
  const f3 = (xs: number[]) => (xs.length ? `${fmtMeanStd(xs, 3, 1)} (${xs.length})` : '–');
  const iv = (x: Interval | null) => (x ? `${x.estimate >= 0 ? '+' : '−'}${Math.abs(x.estimate).toFixed(3)} [${x.lo >= 0 ? '+' : '−'}${Math.abs(x.lo).toFixed(3)}, ${x.hi >= 0 ? '+' : '−'}${Math.abs(x.hi).toFixed(3)}]` : '–');
  const excludes0 = (x: Interval | null) => x !== null && (x.lo > 0 || x.hi < 0);
  const rows = m.losses.map((l) => [LABEL[l.method]!, f3(l.ours.train), f3(l.torch.train), iv(l.train), f3(l.ours.test), f3(l.torch.test), iv(l.test)]);
  const notes = m.fidelity.final.methods.filter((x) => excludes0(x.diff)).flatMap((x) => {
    const l = m.losses!.find((y) => y.method === x.method);
    if (!l || !l.train || !l.test) return [];
    const where = excludes0(l.train)
      ? 'the final train loss differs too (the interval excludes 0): the two implementations fit the training set differently — look at the optimization (step, weight decay, BatchNorm, augmentation)'
      : excludes0(l.test)
        ? 'the final train loss agrees (the interval covers 0) while the test loss differs: the implementations fit the training set alike and part on the test set, which points to generalization varying with the seed more than to the optimization'
        : 'neither loss differs beyond its interval: the accuracy gap is not matched by a loss gap';
    return [`${LABEL[x.method]} (its final test accuracy differs): ${where}.`];
  });
  return [
    '**Where they part: final-epoch losses** (train loss of the clean pass on the augmented batches, as both trainers log it; test loss on the test images). ours − PyTorch with Welch\'s 95 % interval; (n) = runs.', '',
    mdTable(['method', 'train loss, ours', 'train loss, PyTorch', 'ours − PyTorch', 'test loss, ours', 'test loss, PyTorch', 'ours − PyTorch'], rows), '',
    ...notes.map((n) => `- ${n}`), ...(notes.length ? [''] : []),
  ];
}

/** The reference section's model: per method our completed seeds' and PyTorch's figures, and the curves to draw. */
export interface ReferenceModel extends SectionModel {
  kind: 'torch_reference';
  experiment: string;
  title: string;
  /** Our runs' and PyTorch's per method (accuracies in [0, 1]); `mid`: train accuracy at the schedule's midpoint, `end`: at its end. */
  methods: Array<{
    method: string; rho: number | null; epochs: number;
    ours: { best: number[]; mid: number[]; end: number[] };
    torch: { best: number[]; mid: number[]; end: number[] };
  }>;
  /** Train and test accuracy per epoch (from epoch 1) per method: ours as the mean over our seeds (`oursSeeds` of them), PyTorch per seed. */
  curves: Record<'train_acc' | 'test_acc', Array<{ method: string; ours: number[]; oursSeeds: number; torch: Array<{ seed: number; values: number[] }> }>>;
  /** Ours vs PyTorch on final-epoch test accuracy (decides) and on best over epochs. */
  fidelity: { final: Fidelity; best: Fidelity };
  /**
   * The final epoch's train and test loss per method, ours (completed seeds) and PyTorch's, with ours − PyTorch
   * (Welch): where two implementations whose accuracies differ part — in fitting the training set, or on the test set.
   * Absent in models written before.
   */
  losses?: Array<{ method: string; ours: { train: number[]; test: number[] }; torch: { train: number[]; test: number[] }; train: Interval | null; test: Interval | null }>;
  versions: string;
  hours: number;
  midEpoch: number;
}

/**
 * The section's numbers: per method, ours (completed seeds) and PyTorch's best test accuracy, train accuracy at the
 * schedule's midpoint and at the end; the learning curves (ours as the mean over seeds, PyTorch per seed).
 */
export function computeReference(runs: ReferenceRun[], def: ExperimentDef, cells: Cell[], outcomes: CellOutcome[]): ReferenceModel {
  const methods = Object.keys(LABEL).filter((m) => runs.some((r) => r.method === m));
  const ours = (m: string) => cells.map((c, i) => ({ c, o: outcomes[i]! })).filter(({ c, o }) => c.optimizer === m && o.status === 'completed' && o.best !== null);
  const curves = (column: 'train_acc' | 'test_acc') => methods.map((m) => {
    const mine = ours(m).map(({ o }) => o.columns[column] ?? []).filter((c) => c.length);
    return {
      method: m, ours: mine.length ? meanCurve(mine) : [], oursSeeds: mine.length,
      // readReferenceRuns checked that a history holds epochs 1..n in order
      torch: runs.filter((r) => r.method === m).map((r) => ({ seed: r.seed, values: r.history.map((h) => h[column]) })),
    };
  });
  return {
    kind: 'torch_reference', groups: [], claims: [], experiment: def.id, title: def.title,
    methods: methods.map((m) => {
      const mine = ours(m);
      const ref = runs.filter((r) => r.method === m);
      const epochs = ref[0]!.epochs;
      const mid = Math.floor(epochs / 2);
      const ourAt = (e: number) => mine.map(({ o }) => o.columns.train_acc?.[e - 1]).filter((v): v is number => v !== undefined);
      const refAt = (e: number) => ref.map((r) => r.history[e - 1]!.train_acc);
      return {
        method: m, rho: ref[0]!.rho, epochs,
        ours: { best: mine.map(({ o }) => o.best!), mid: ourAt(mid), end: ourAt(epochs) },
        torch: { best: ref.map((r) => r.best.test_acc), mid: refAt(mid), end: refAt(epochs) },
      };
    }),
    curves: { train_acc: curves('train_acc'), test_acc: curves('test_acc') },
    fidelity: { final: referenceFidelity(runs, cells, outcomes, 'final'), best: referenceFidelity(runs, cells, outcomes, 'best') },
    losses: methods.map((m) => {
      const lastOf = (xs: number[] | undefined) => xs?.at(-1);
      const mine = ours(m).map(({ o }) => o.columns);
      const ref = runs.filter((r) => r.method === m).map((r) => r.history.at(-1)!);
      const o = { train: mine.map((c) => lastOf(c.train_loss)).filter((v): v is number => v !== undefined), test: mine.map((c) => lastOf(c.test_loss)).filter((v): v is number => v !== undefined) };
      const t = { train: ref.map((h) => h.train_loss), test: ref.map((h) => h.test_loss) };
      return { method: m, ours: o, torch: t, train: welchInterval(o.train, t.train), test: welchInterval(o.test, t.test) };
    }),
    versions: [...new Set(runs.map((r) => `torch ${r.torch}, ${r.threads} thread(s)`))].join('; '),
    hours: runs.reduce((a, r) => a + r.wallSeconds, 0) / 3600,
    midEpoch: Math.floor(runs[0]!.epochs / 2),
  };
}

/**
 * The section: per method, ours and PyTorch's best test accuracy (mean ± std; min–max), train accuracy at the
 * schedule's midpoint and at the end, and whether each torch value lies within our seeds' range; learning curves.
 */
export function renderReference(m: ReferenceModel): RenderedSection {
  const pct = (xs: number[]) => fmtMeanStd(xs, 2, 100);
  const range = (xs: number[]) => (xs.length > 1 ? ` (${(Math.min(...xs) * 100).toFixed(2)}–${(Math.max(...xs) * 100).toFixed(2)})` : '');
  const rows: string[][] = [];
  const notes: string[] = [];
  const points = (column: 'train_acc' | 'test_acc'): LinePoint[] => m.curves[column].flatMap((c) => [
    ...c.ours.map((v, i) => ({ series: LABEL[c.method]!, method: c.method, run: `ours, mean of ${c.oursSeeds} seeds`, bold: true, style: 'ours (mean over seeds)', x: i + 1, y: v * 100 })),
    ...c.torch.flatMap((r) => r.values.map((v, i) => ({ series: LABEL[c.method]!, method: c.method, run: `PyTorch seed ${r.seed}`, bold: false, style: 'PyTorch (per seed)', x: i + 1, y: v * 100 }))),
  ]);
  for (const x of m.methods) {
    const ourBest = x.ours.best;
    const refBest = x.torch.best;
    const lo = Math.min(...ourBest);
    const hi = Math.max(...ourBest);
    const inside = refBest.filter((v) => v >= lo && v <= hi).length;
    rows.push([LABEL[x.method]!, x.rho === null ? '–' : String(x.rho),
      `${pct(ourBest)}${range(ourBest)}`, `${pct(refBest)}${range(refBest)}`, `${ourBest.length} / ${refBest.length}`,
      `${pct(x.ours.mid)} / ${pct(x.torch.mid)}`, `${pct(x.ours.end)} / ${pct(x.torch.end)}`]);
    if (ourBest.length > 1) {
      notes.push(`${LABEL[x.method]}: ${inside} of ${refBest.length} PyTorch run(s) within the range of our ${ourBest.length} seeds (${(lo * 100).toFixed(2)}–${(hi * 100).toFixed(2)} %)` +
        (inside < refBest.length ? `; the others are ${refBest.filter((v) => v < lo || v > hi).map((v) => `${(Math.abs(v - (v < lo ? lo : hi)) * 100).toFixed(2)} points ${v < lo ? 'below' : 'above'} it`).join(', ')}` : '') + '.');
    }
  }
  const files: Array<[string, ChartSpec]> = [
    ['torch-reference-train-acc.svg', lineChart({ title: `${m.title}: train accuracy per epoch, ours vs PyTorch`, subtitle: 'solid: ours, mean over seeds; dashed: PyTorch, each seed', xLabel: 'epoch', yLabel: 'train accuracy (%)', points: points('train_acc'), nonNegative: true, xIsEpoch: true })],
    ['torch-reference-test-acc.svg', lineChart({ title: `${m.title}: test accuracy per epoch, ours vs PyTorch`, subtitle: 'solid: ours, mean over seeds; dashed: PyTorch, each seed', xLabel: 'epoch', yLabel: 'test accuracy (%)', points: points('test_acc'), nonNegative: true, xIsEpoch: true })],
  ];
  const md = (p: string) => [
    `The clean recipe of \`${m.experiment}\` trained a second time by an independent PyTorch implementation (\`benchmarks/scripts/torch_cifar_reference.py\`: the same data, model, loss, schedule and SAM / ASAM rule, written from the papers; ${m.versions}; ${m.hours.toFixed(1)} h in all). ` +
    'A PyTorch seed draws its own initialization and data order, so compare levels and spreads, not pairs. Train accuracy is that of the clean pass on the augmented batches, as both trainers log it.', '',
    mdTable(['method', 'ρ', 'best test acc (%), ours', 'best test acc (%), PyTorch', 'seeds (ours / PyTorch)', `train acc at epoch ${m.midEpoch} (%), ours / PyTorch`, `final train acc (%), ours / PyTorch`], rows), '',
    ...notes.map((n) => `- ${n}`), ...(notes.length ? [''] : []),
    ...fidelityMarkdown(m.fidelity.final, m.fidelity.best),
    ...lossMarkdown(m),
    ...files.map(([f]) => `![${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files };
}
