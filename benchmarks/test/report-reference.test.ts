import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReport } from '../src/check.ts';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { generateReport } from '../src/report.ts';
import { ReferenceFileError, readReferenceRuns } from '../src/report-reference.ts';
import { cellDir } from '../src/runner.ts';

// Our runs and the PyTorch reference runs are fabricated here, with numbers chosen so each figure can be checked by hand.
const exp = defineExperiment({
  id: 'cifar10_resnet20', title: 'Fabricated clean CIFAR', task: 'vision', description: 'fabricated runs',
  base: { model: 'resnet20' }, grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.5] }, seed: [0, 1, 2] }, profiles: { cpu: {} },
});
const EPOCHS = 4;
/** best test accuracy of our seeds 0..2 */
const OURS: Record<string, number[]> = { sgd: [0.70, 0.72, 0.74], asam: [0.75, 0.76, 0.78] };
/** train accuracy per epoch (ours: every seed the same curve) */
const TRAIN: Record<string, number[]> = { sgd: [0.5, 0.8, 0.95, 1.0], asam: [0.4, 0.7, 0.9, 0.99] };

/** PyTorch runs at seeds 0 and 1 of SGD and ASAM with these best (= final) accuracies, on the same train curves. */
function twoSeedsEach(sgd: [number, number], asam: [number, number]): Array<{ method: string; seed: number; best: number; train: number[] }> {
  return [
    ...sgd.map((best, seed) => ({ method: 'sgd', seed, best, train: [0.6, 0.9, 0.97, 1.0] })),
    ...asam.map((best, seed) => ({ method: 'asam', seed, best, train: [0.3, 0.6, 0.85, 0.98] })),
  ];
}

function fabricate(root: string, reference: Array<{ method: string; seed: number; best: number; train: number[] }>): { runs: string; out: string } {
  const runs = path.join(root, 'runs');
  const out = path.join(root, 'results');
  for (const c of expandGrid(exp, 'cpu')) {
    const d = cellDir(runs, c);
    fs.mkdirSync(d, { recursive: true });
    const best = OURS[c.optimizer!]![c.seed]!;
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: EPOCHS }, final: { metric: 'test_acc', value: best } }));
    const rows = TRAIN[c.optimizer!]!.map((t, e) => `${e + 1},0.1,1,${t},1,${e + 1 === EPOCHS ? best : best - 0.1}`);
    fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
  }
  fs.mkdirSync(path.join(out, 'torch-reference'), { recursive: true });
  for (const r of reference) {
    const history = r.train.map((t, e) => ({ epoch: e + 1, train_loss: 1, train_acc: t, test_loss: 1, test_acc: e + 1 === EPOCHS ? r.best : r.best - 0.1, seconds: 900 }));
    fs.writeFileSync(path.join(out, 'torch-reference', `${r.method}-seed${r.seed}.json`), JSON.stringify({
      format: 'asam-torch-reference/1', method: r.method, rho: r.method === 'sgd' ? null : 0.5, seed: r.seed, epochs: EPOCHS,
      best: { test_acc: r.best, epoch: EPOCHS }, final: history.at(-1), wallSeconds: 3600, torch: '1.13.0', threads: 1, history,
    }));
  }
  return { runs, out };
}

/** The report of our fabricated runs beside {@link twoSeedsEach}'s PyTorch runs. */
function referenceReport(sgd: [number, number], asam: [number, number]): string {
  const { runs, out } = fabricate(fs.mkdtempSync(path.join(os.tmpdir(), 'asam-ref-')), twoSeedsEach(sgd, asam));
  generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out });
  return fs.readFileSync(path.join(out, 'report.md'), 'utf8');
}

describe('PyTorch reference section', () => {
  it('sets each PyTorch run beside our seeds: best accuracy, train accuracy at the midpoint and the end, within-range notes, curves', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-ref-'));
    const { runs, out } = fabricate(root, [
      { method: 'sgd', seed: 0, best: 0.73, train: [0.6, 0.9, 0.97, 1.0] },
      { method: 'asam', seed: 0, best: 0.80, train: [0.3, 0.6, 0.85, 0.98] },
    ]);
    generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out });
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Independent PyTorch run of the clean recipe (`torch-reference`)');
    expect(md).toContain('torch 1.13.0, 1 thread(s); 2.0 h in all');
    // ours: mean ± sample std (min–max) over 3 seeds; torch: one seed. Midpoint = epoch 2.
    expect(md).toContain('| SGD | – | 72.00 ± 2.00 (70.00–74.00) | 73.00 | 3 / 1 | 80.00 ± 0.00 / 90.00 | 100.00 ± 0.00 / 100.00 |');
    expect(md).toContain('| ASAM | 0.5 | 76.33 ± 1.53 (75.00–78.00) | 80.00 | 3 / 1 | 70.00 ± 0.00 / 60.00 | 99.00 ± 0.00 / 98.00 |');
    expect(md).toContain('- SGD: 1 of 1 PyTorch run(s) within the range of our 3 seeds (70.00–74.00 %).');
    expect(md).toContain('- ASAM: 0 of 1 PyTorch run(s) within the range of our 3 seeds (75.00–78.00 %); the others are 2.00 points above it.');
    for (const f of ['torch-reference-train-acc.svg', 'torch-reference-test-acc.svg']) {
      expect(md).toContain(`![${f}](torch-reference/${f})`);
      expect(fs.readFileSync(path.join(out, 'torch-reference', f), 'utf8')).toMatch(/class="mark-line role-mark/);
    }
    expect(checkReport(out).problems).toEqual([]);
  });

  it('compares final-epoch accuracy ours vs PyTorch (Welch) and the method differences in both (paired t), with best over epochs beside', () => {
    const md = referenceReport([0.73, 0.75], [0.80, 0.78]);
    // Welch intervals checked with scipy (numpy var ddof=1, stats.t.ppf(0.975, ν)):
    // SGD: ours [70, 72, 74] vs PyTorch [73, 75]: −2.00, ν = 2.8824 → [−6.98, +2.98];
    // ASAM: ours [75, 76, 78] vs [80, 78]: −2.67, ν = 2.4265 → [−7.54, +2.20]
    // Welch p (scipy.stats.ttest_ind, equal_var=False): SGD 0.28502, ASAM 0.16062; Holm over the two: 0.321 both
    expect(md).toContain('| SGD | 72.00 ± 2.00 (3) | 74.00 ± 1.41 (2) | −2.00 [−6.98, +2.98] | 0.285 | 0.321 | −2.00 [−6.98, +2.98] |');
    expect(md).toContain('| ASAM | 76.33 ± 1.53 (3) | 79.00 ± 1.41 (2) | −2.67 [−7.54, +2.20] | 0.161 | 0.321 |');
    // ASAM − SGD: ours per seed [5, 4, 4] → +4.33 ± t_{.975,2}·0.5774/√3 = 4.3027·0.3333 = 1.4342 → [+2.90, +5.77];
    // PyTorch per seed [7, 3] → +5.00 ± t_{.975,1}·2.8284/√2 = 12.7062·2 → [−20.41, +30.41]
    expect(md).toContain('| ASAM − SGD | +4.33 [+2.90, +5.77] (3) | +5.00 [−20.41, +30.41] (2) |');
    expect(md).toContain("- SGD: ours − PyTorch −2.00 [−6.98, +2.98] points on final-epoch accuracy: consistent (the interval covers 0; Welch p 0.285, 0.321 after Holm over the 2 methods' checks).");
  });

  it('says when a per-method gap excludes 0 but not after Holm over the methods checked', () => {
    const md = referenceReport([0.77, 0.775], [0.745, 0.77]);
    expect(md).toContain('- ASAM: 1 of 2 PyTorch run(s) within the range of our 3 seeds (75.00–78.00 %); the others are 0.50 points below it.');
    // SciPy: SGD [70, 72, 74] vs [77, 77.5]: Welch p 0.040037 (the 95 % interval excludes 0); ASAM [75, 76, 78] vs [74.5, 77]:
    // p 0.73973. Holm over the two: SGD 2 · 0.040037 = 0.080, ASAM max(0.080, 0.740) = 0.740
    expect(md).toContain("- SGD: ours − PyTorch −5.25 [");
    expect(md).toContain("points on final-epoch accuracy: the interval excludes 0 (ours lower; Welch p 0.040, 0.080 after Holm over the 2 methods' checks), but the adjusted p is not below 0.05: with 2 methods checked, a gap this large in one of them is not beyond chance");
    expect(md).toContain('**differ before correction only**');
    expect(md).toContain("- ASAM: ours − PyTorch +0.58 [");
    expect(md).toContain("consistent (the interval covers 0; Welch p 0.740, 0.740 after Holm over the 2 methods' checks).");
  });

  it('shows where two implementations part: final train and test loss, ours vs PyTorch, and for a method whose accuracy differs, which of the two differs', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-ref-'));
    const { runs, out } = fabricate(root, twoSeedsEach([0.80, 0.801], [0.76, 0.77]));
    // our SGD seeds: train loss 0.50 / 0.51 / 0.52, test loss 0.90 / 0.91 / 0.92 at the last epoch; PyTorch's SGD: 0.505 / 0.515 and 0.80 / 0.801
    expandGrid(exp, 'cpu').filter((c) => c.optimizer === 'sgd').forEach((c) => {
      const f = path.join(cellDir(runs, c), 'metrics.csv');
      const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
      const last = lines.at(-1)!.split(',');
      last[2] = String(0.50 + 0.01 * c.seed);
      last[4] = String(0.90 + 0.01 * c.seed);
      fs.writeFileSync(f, [...lines.slice(0, -1), last.join(',')].join('\n') + '\n');
    });
    for (const [seed, train, test] of [[0, 0.505, 0.80], [1, 0.515, 0.801]] as const) {
      const f = path.join(out, 'torch-reference', `sgd-seed${seed}.json`);
      const r = JSON.parse(fs.readFileSync(f, 'utf8'));
      Object.assign(r.history.at(-1), { train_loss: train, test_loss: test });
      fs.writeFileSync(f, JSON.stringify(r));
    }
    generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out });
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    // Welch intervals checked with SciPy: accuracy [70, 72, 74] vs [80, 80.1]: −8.05 [−13.01, −3.09] (differs);
    // train loss [.50, .51, .52] vs [.505, .515]: 0.000 [−0.025, +0.025]; test loss [.90, .91, .92] vs [.80, .801]: +0.110 [+0.085, +0.134]
    // Welch p 0.019801 (scipy); Holm over the two methods' checks: 2 · 0.019801 = 0.040, below 0.05
    expect(md).toContain("- SGD: ours − PyTorch −8.05 [−13.01, −3.09] points on final-epoch accuracy: the two implementations **differ** (the interval excludes 0; ours lower; Welch p 0.020, 0.040 after Holm over the 2 methods' checks).");
    expect(md).toContain('| SGD | 0.510 ± 0.010 (3) | 0.510 ± 0.007 (2) | +0.000 [−0.025, +0.025] | 0.910 ± 0.010 (3) | 0.800 ± 0.001 (2) | +0.110 [+0.085, +0.134] |');
    expect(md).toContain('- SGD (its final test accuracy differs): the final train loss agrees (the interval covers 0) while the test loss differs: the implementations fit the training set alike and part on the test set');
    expect(md).not.toContain('- ASAM (its final test accuracy differs)');
  });

  it('leaves the section out without reference files, and names a broken one', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-ref-'));
    const { runs, out } = fabricate(root, []);
    generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out });
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).not.toContain('PyTorch');
    const bad = path.join(out, 'torch-reference', 'sam-seed0.json');
    fs.writeFileSync(bad, JSON.stringify({ format: 'asam-torch-reference/1', method: 'sam', epochs: 4, history: [] }));
    expect(() => readReferenceRuns(path.dirname(bad))).toThrow(ReferenceFileError);
    expect(() => generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out }))
      .toThrow(`${bad}: history does not hold epochs 1..4 with finite accuracies; expected a finished run of scripts/torch_cifar_reference.py (format asam-torch-reference/1)`);
  });
});
