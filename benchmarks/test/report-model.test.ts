/**
 * The report's results model and its section table, on run folders fabricated here with numbers chosen so that the
 * statistics can be worked out by hand: the model (paired differences, t-intervals, p-values, Holm, convergence) is
 * checked against those hand values; rendering the model read back from model.json gives the same files; a task the
 * benchmarks code has never heard of reports through the training section from the vocabulary its runs carry; a task
 * with neither a vocabulary nor a section is refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MetricVocabulary } from '@asam/train';
import { VISION_METRICS } from '@asam/vision';
import { describe, expect, it } from 'vitest';
import { defineExperiment, expandGrid, type ExperimentDef, type TaskName } from '../src/experiment.ts';
import type { TrainingModel } from '../src/report-model.ts';
import { sectionFor, SECTIONS } from '../src/report-sections.ts';
import { TASK_VOCABULARIES } from '../src/report-vocabulary.ts';
import { computeReport, generateReport, renderReport, reportChartProblems } from '../src/report.ts';
import { cellDir } from '../src/runner.ts';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `asam-report-model-${name}-`));
const NOW = new Date('2026-01-01T00:00:00Z');

/** Writes a completed run folder: result.json (with `metrics` when given), metrics.csv from `columns`, env.json. */
function writeRun(dir: string, o: { best: [string, number]; final: number; columns: Record<string, number[]>; metrics?: MetricVocabulary; stepS?: number }): void {
  fs.mkdirSync(dir, { recursive: true });
  const epochs = Object.values(o.columns)[0]!.length;
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({
    format: 'asam-run/1', status: 'completed', epochs, epochsCompleted: epochs,
    best: { metric: o.best[0], value: o.best[1], epoch: epochs }, final: { metric: o.best[0], value: o.final },
    wallSeconds: 100, meanStepSeconds: o.stepS ?? 1, ...(o.metrics ? { metrics: o.metrics } : {}),
  }));
  const names = Object.keys(o.columns);
  const rows = Array.from({ length: epochs }, (_, e) => [e + 1, 0.1, ...names.map((n) => o.columns[n]![e])].join(','));
  fs.writeFileSync(path.join(dir, 'metrics.csv'), `${['epoch', 'lr', ...names].join(',')}\n${rows.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'env.json'), JSON.stringify({ backend: { backend: 'wasm' }, git: { sha: 'abcdef1234567' } }));
}

/** Three seeds of SGD and SAM; SAM's final test accuracy is SGD's + 1.0, 1.2, 1.4 points; best over epochs + 0.5, 0.5, 0.8. */
const visionExp = defineExperiment({
  id: 'fab_model', title: 'Fabricated model', task: 'vision', description: 'fabricated runs for the model test',
  base: { model: 'resnet20' },
  grid: { optimizer: ['sgd', 'sam'], rho: { sam: [0.05] }, seed: [0, 1, 2] },
  profiles: { cpu: {} },
  claims: [{ better: 'sam', worse: 'sgd', paper: '+0.5 (made up)' }],
});
const SGD_FINAL = [0.80, 0.81, 0.79];
const SAM_GAIN = [0.010, 0.012, 0.014];
const BEST_GAIN = [0.005, 0.005, 0.008];

function fabricateVision(runsDir: string, withMetrics: boolean): void {
  for (const c of expandGrid(visionExp, 'cpu')) {
    const sam = c.optimizer === 'sam';
    const final = SGD_FINAL[c.seed]! + (sam ? SAM_GAIN[c.seed]! : 0);
    const best = final + 0.01 + (sam ? BEST_GAIN[c.seed]! - SAM_GAIN[c.seed]! : 0);
    writeRun(cellDir(runsDir, c), {
      best: ['test_acc', best], final, stepS: sam ? 2 : 1, ...(withMetrics ? { metrics: VISION_METRICS } : {}),
      // six epochs; the train accuracy moves 0.1 point between the last two windows of 3 (plateaued: < 0.5), test accuracy ends at `final`
      columns: { train_loss: [2, 1.5, 1.2, 1.1, 1.1, 1.1], train_acc: [0.898, 0.899, 0.9, 0.9, 0.9, 0.9], test_loss: [2, 1.6, 1.3, 1.2, 1.2, 1.2], test_acc: [0.5, 0.6, 0.7, best, final, final] },
    });
  }
}

/** Two-sided p of a paired t-test with df = 2, in closed form: the t(2) CDF is 1/2 + t / (2 √(2 + t²)). */
function pDf2(d: number[]): number {
  const m = d.reduce((a, x) => a + x, 0) / d.length;
  const s = Math.sqrt(d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1));
  const t = m / (s / Math.sqrt(d.length));
  return 1 - Math.abs(t) / Math.sqrt(2 + t * t);
}

describe('computeReport: the results model', () => {
  it('holds per-seed values, paired differences, t-intervals, p-values and Holm adjustments worked out by hand', () => {
    const root = tmp('vision');
    fabricateVision(path.join(root, 'runs'), false);
    const model = computeReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'out'), now: NOW });
    expect(model.generatedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(model.runsDir).toBe('../runs');
    const sec = model.experiments[0]!.section as TrainingModel;
    expect(sec.kind).toBe('training');
    expect(sec.vocabulary.headline.column).toBe('test_acc');
    // groups: per-seed values and their mean ± std
    const sam = sec.groupStats.find((g) => g.optimizer === 'sam')!;
    expect(sam.final.values.map((x) => +x.toFixed(6))).toEqual([0.81, 0.822, 0.804]);
    expect(sam.final.mean).toBeCloseTo(2.436 / 3, 12);
    expect(sec.groups.find((g) => g.optimizer === 'sam')!.stepRatioToSgd).toBeCloseTo(2, 12);
    expect(sec.cells.every((c) => c.convergence?.plateaued)).toBe(true);
    // the pair: SAM − SGD per seed, on the final figure (decided) and on the best epoch (shown beside it)
    const pair = sec.pairs[0]!;
    expect(pair.claim).toBe('SAM > SGD');
    expect(pair.difference).toBe('SAM − SGD');
    expect(pair.seeds).toEqual([0, 1, 2]);
    pair.dFinal.forEach((d, k) => expect(d).toBeCloseTo(SAM_GAIN[k]!, 12));
    pair.dBest.forEach((d, k) => expect(d).toBeCloseTo(BEST_GAIN[k]!, 12));
    // t-interval: mean 0.012, s = 0.002, half-width t(0.975, 2) · s / √3 with t(0.975, 2) = 4.302652729911275
    const half = 4.302652729911275 * 0.002 / Math.sqrt(3);
    expect(pair.ivFinal!.estimate).toBeCloseTo(0.012, 12);
    expect(pair.ivFinal!.lo).toBeCloseTo(0.012 - half, 9);
    expect(pair.ivFinal!.hi).toBeCloseTo(0.012 + half, 9);
    expect(pair.testFinal!.p).toBeCloseTo(pDf2(SAM_GAIN), 9);
    expect(pair.testBest!.p).toBeCloseTo(pDf2(BEST_GAIN), 9);
    // a family of one claim: Holm leaves p as it is
    expect(pair.adjFinal).toBeCloseTo(pair.testFinal!.p, 12);
    const claim = sec.claims[0]!;
    expect(claim.pairwise!.final.pAdjusted).toBe(pair.adjFinal);
    expect(claim.verdict).toBe('reproduced'); // p ≈ 0.009 < 0.05 and SAM − SGD > 0
    expect(model.family).toContain('the 1 pairwise claim(s)');
  });

  it('adjusts by Holm over the claims of every experiment together', () => {
    const root = tmp('holm');
    const runs = path.join(root, 'runs');
    fabricateVision(runs, false);
    // a second experiment with the same numbers gives a second claim with the same p: Holm doubles the smaller p (both equal)
    const second: ExperimentDef = { ...visionExp, id: 'fab_model_2', title: 'Second' };
    for (const c of expandGrid(second, 'cpu')) fs.cpSync(cellDir(runs, { ...c, experiment: visionExp.id }), cellDir(runs, c), { recursive: true });
    const model = computeReport({ experiments: [visionExp, second], profile: 'cpu', runsDir: runs, outDir: path.join(root, 'out'), now: NOW });
    const [a, b] = model.experiments.map((e) => (e.section as TrainingModel).pairs[0]!);
    expect(a!.adjFinal).toBeCloseTo(2 * a!.testFinal!.p, 12);
    expect(b!.adjFinal).toBeCloseTo(2 * a!.testFinal!.p, 12);
  });

  it('is plain data: rendering model.json read back writes the same files as generateReport', () => {
    const root = tmp('json');
    fabricateVision(path.join(root, 'runs'), false);
    const out = path.join(root, 'out');
    generateReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: out, now: NOW });
    const again = path.join(root, 'again');
    renderReport(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')), again);
    const list = (d: string): string[] => fs.readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
    expect(list(again)).toEqual(list(out));
    // vega numbers its clip paths from a process-wide counter: the same chart drawn twice in one process differs there only
    const read = (d: string, f: string) => fs.readFileSync(path.join(d, f), 'utf8').replace(/clip\d+/g, 'clip');
    const differing = list(out).filter((f) => read(again, f) !== read(out, f));
    expect(differing).toEqual([]);
  });

  it('reads the vocabulary a result.json carries: runs with VISION_METRICS report as the older runs without it', () => {
    const a = tmp('without');
    const b = tmp('with');
    fabricateVision(path.join(a, 'runs'), false);
    fabricateVision(path.join(b, 'runs'), true);
    generateReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(a, 'runs'), outDir: path.join(a, 'out'), now: NOW });
    generateReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(b, 'runs'), outDir: path.join(b, 'out'), now: NOW });
    expect(fs.readFileSync(path.join(b, 'out', 'report.md'), 'utf8')).toBe(fs.readFileSync(path.join(a, 'out', 'report.md'), 'utf8'));
    // a vocabulary written before the optional wording existed (required fields only) takes it from the task's entry
    const bare: MetricVocabulary = { evalSplit: 'test', best: 'test_acc', headline: 'test_acc', train: 'train_acc', plateau: VISION_METRICS.plateau, examples: 'test images', unit: 'images',
      metrics: VISION_METRICS.metrics.map(({ short: _short, ...m }) => m) };
    const rewrite = (v: MetricVocabulary) => {
      for (const c of expandGrid(visionExp, 'cpu')) {
        const f = path.join(cellDir(path.join(b, 'runs'), c), 'result.json');
        fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), metrics: v }));
      }
    };
    rewrite(bare);
    generateReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(b, 'runs'), outDir: path.join(b, 'out'), now: NOW });
    expect(fs.readFileSync(path.join(b, 'out', 'report.md'), 'utf8')).toBe(fs.readFileSync(path.join(a, 'out', 'report.md'), 'utf8'));
    // …and a vocabulary in result.json wins over the task's table entry
    rewrite({ ...VISION_METRICS, headlineShort: 'last-epoch top-1 (%)' });
    generateReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(b, 'runs'), outDir: path.join(b, 'out'), now: NOW });
    expect(fs.readFileSync(path.join(b, 'out', 'report.md'), 'utf8')).toContain('last-epoch top-1 (%), mean ± std');
  });

  it('refuses runs of one experiment that carry different vocabularies, naming the runs', () => {
    const root = tmp('mixed');
    fabricateVision(path.join(root, 'runs'), true);
    const c = expandGrid(visionExp, 'cpu')[1]!;
    const f = path.join(cellDir(path.join(root, 'runs'), c), 'result.json');
    fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), metrics: { ...VISION_METRICS, examples: 'images' } }));
    expect(() => computeReport({ experiments: [visionExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'out') }))
      .toThrow(`fab_model/${c.id}/result.json: its metric vocabulary differs from fab_model/${expandGrid(visionExp, 'cpu')[0]!.id}'s`);
  });
});

/** A task the benchmarks code does not know: a regression with a mean squared error to minimise. */
const TOY_METRICS: MetricVocabulary = {
  evalSplit: 'test', best: 'test_mse', headline: 'test_mse', train: 'train_mse',
  plateau: { column: 'train_mse', tolerance: 0.01 }, examples: 'test points', unit: 'points',
  metrics: [
    { column: 'train_mse', label: 'train MSE', goal: 'min', scale: 1, digits: 4, unit: 'MSE' },
    { column: 'test_mse', label: 'test MSE', goal: 'min', scale: 1, digits: 4, unit: 'MSE' },
  ],
};

describe('a new task reports through the training section without a change to the benchmarks code', () => {
  it('renders a toy task with test_mse (goal min) from the vocabulary its runs carry', () => {
    expect(Object.keys(TASK_VOCABULARIES)).not.toContain('toy');
    const exp = { ...defineExperiment({
      id: 'toy_regression', title: 'Toy regression', task: 'vision', description: 'a task the report has no table entry for',
      base: {}, grid: { optimizer: ['sgd', 'sam'], rho: { sam: [0.05] }, seed: [0, 1, 2] }, profiles: { cpu: {} },
      claims: [{ better: 'sam', worse: 'sgd', paper: 'lower test MSE' }],
    }), task: 'toy' as TaskName };
    const root = tmp('toy');
    const runs = path.join(root, 'runs');
    // SAM's test MSE is lower than SGD's by 0.010, 0.011, 0.012: it is better, and the differences (SGD − SAM) are positive
    const sgd = [0.20, 0.21, 0.19];
    const gain = [0.010, 0.011, 0.012];
    for (const c of expandGrid(exp, 'cpu')) {
      const final = sgd[c.seed]! - (c.optimizer === 'sam' ? gain[c.seed]! : 0);
      writeRun(cellDir(runs, c), {
        best: ['test_mse', final - 0.001], final, metrics: TOY_METRICS,
        columns: { train_mse: [0.102, 0.101, 0.1, 0.1, 0.1, 0.1], test_mse: [0.6, 0.4, 0.3, final - 0.001, final, final] },
      });
    }
    const out = path.join(root, 'out');
    const r = generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out, now: NOW });
    const g = r.groups.find((x) => x.optimizer === 'sam')!;
    expect(g.metric).toBe('test MSE');
    expect(g.finalMean).toBeCloseTo((0.19 + 0.199 + 0.178) / 3, 12);
    expect(g.trainFinalMean).toBeCloseTo(0.1, 12);
    expect(g.plateaued).toBe(3);
    const claim = r.claims[0]!;
    expect(claim.claim).toBe('SAM > SGD — Toy regression');
    expect(claim.pairwise!.unit).toBe('MSE');
    expect(claim.pairwise!.final.mean).toBeCloseTo(0.011, 12);
    expect(claim.verdict).toBe('reproduced');
    expect(claim.ours).toBe('+0.0110 [+0.0085, +0.0135] (MSE, n=3)');
    const md = fs.readFileSync(path.join(out, 'toy_regression', 'report.md'), 'utf8');
    expect(md).toContain('| method | ρ | seeds done | best test MSE, mean ± std | final test MSE, mean ± std | final train MSE | train MSE plateaued |');
    expect(md).toContain('| SAM | 0.05 | 3/3 | 0.1880 ± 0.0105 | 0.1890 ± 0.0105 | 0.1000 ± 0.0000 |');
    expect(md).toContain('"train MSE plateaued": the mean of the last 10 % of epochs differs from the 10 % before by less than 0.01 MSE.');
    expect(md).toContain('Paired differences (same seed), MSE.');
    expect(md).toContain('| SAM > SGD | 3 | +0.0100, +0.0110, +0.0120 |');
    for (const f of ['bars.svg', 'forest.svg', 'curve-train-mse.svg', 'curve-test-mse.svg', 'lr-schedule.svg']) expect(fs.existsSync(path.join(out, 'toy_regression', f)), f).toBe(true);
    // better − worse: for a metric to minimise the forest rows read SGD − SAM
    expect(fs.readFileSync(path.join(out, 'toy_regression', 'forest.vl.json'), 'utf8')).toContain('SGD − SAM, final');
    const bars = fs.readFileSync(path.join(out, 'toy_regression', 'bars.vl.json'), 'utf8');
    expect(bars).toContain('final test MSE');
    expect(reportChartProblems(out).problems).toEqual([]);
    const top = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(top).toContain("decided on each run's **final** figure (final test MSE)");
    expect(top).toContain('A − B is positive (for a metric to minimise, B − A: differences are always better − worse)');
  });

  it('refuses a result.json vocabulary that names a column it does not define', () => {
    const exp = { ...visionExp, id: 'toy_bad', task: 'toy' as TaskName, claims: [] };
    const root = tmp('toy-bad');
    for (const c of expandGrid(exp, 'cpu')) {
      writeRun(cellDir(path.join(root, 'runs'), c), { best: ['test_mse', 0.1], final: 0.1, metrics: { ...TOY_METRICS, headline: 'test_mae' }, columns: { train_mse: [0.1], test_mse: [0.1] } });
    }
    expect(() => computeReport({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'out') }))
      .toThrow("metrics.headline is 'test_mae', which is not one of its metrics (train_mse, test_mse)");
  });
});

describe('the section table', () => {
  it('lists the section kinds and refuses an unknown one, naming the kinds and how a task gets a section', () => {
    expect(SECTIONS.ids()).toEqual(['training', 'rho_sweep', 'scale_invariance', 'sharpness_gap', 'step_time']);
    expect(() => sectionFor('bogus', 'some_exp')).toThrow("experiment 'some_exp': no report section for 'bogus' (sections: training, rho_sweep, scale_invariance, sharpness_gap, step_time)");
    expect(() => SECTIONS.register('training', SECTIONS.get('training'))).toThrow("report section 'training' is already registered");
  });

  it('refuses an experiment of a task with neither a metric vocabulary nor a section', () => {
    const exp = { ...visionExp, id: 'bogus_exp', task: 'bogus' as TaskName, claims: [] };
    const root = tmp('bogus');
    for (const c of expandGrid(exp, 'cpu')) {
      fs.mkdirSync(cellDir(path.join(root, 'runs'), c), { recursive: true });
      fs.writeFileSync(path.join(cellDir(path.join(root, 'runs'), c), 'result.json'), JSON.stringify({ status: 'completed', wallTimeS: 1 }));
    }
    expect(() => generateReport({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'out') }))
      .toThrow(/no report section for 'bogus' \(sections: training, .*\)\. A training task gets the training section from its metric vocabulary/);
  });
});
