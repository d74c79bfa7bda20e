import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { segmentBleuStats, testBleuSegments } from '@asam/nmt';
import { describe, expect, it } from 'vitest';
import { checkReport } from '../src/check.ts';
import { pairedBootstrapBleu } from '../src/compare.ts';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { cellDir } from '../src/runner.ts';
import { cellTimeText, generateReport, markdownToHtml, quickPreamble } from '../src/report.ts';
import { mdTable } from '../src/report-training.ts';

// Run folders fabricated here, in the test only, with known numbers so the aggregates can be checked by hand.
const exp = defineExperiment({
  id: 'fab_cifar', title: 'Fabricated CIFAR', task: 'vision', description: 'fabricated runs for the report test',
  base: { model: 'resnet20' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5] }, seed: [0, 1] },
  profiles: { cpu: {} },
  paper: { setting: 'made up', values: { sgd: 90, sam: 91, asam: 92 }, source: 'test' },
});

const ACC: Record<string, [number, number]> = { sgd: [0.80, 0.82], sam: [0.84, 0.86], asam: [0.85, 0.89] };
const STEP: Record<string, number> = { sgd: 1, sam: 2, asam: 2.2 };

function fabricate(runsDir: string, failOne: boolean): void {
  for (const c of expandGrid(exp, 'cpu')) {
    const d = cellDir(runsDir, c);
    fs.mkdirSync(d, { recursive: true });
    const acc = ACC[c.optimizer!]![c.seed]!;
    if (failOne && c.id === 'asam-rho0.5-seed1') {
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ status: 'failed', error: 'out of memory' }));
      continue;
    }
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({
      format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: acc, epoch: 2 }, final: { metric: 'test_acc', value: acc - 0.01 },
      wallSeconds: 100 * STEP[c.optimizer!]!, meanStepSeconds: STEP[c.optimizer!]!,
    }));
    fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n1,0.1,2,0.3,2,${acc - 0.2}\n2,0.05,1,0.6,1,${acc - 0.01}\n`);
    const here = { backend: { backend: 'wasm' }, git: { sha: 'abcdef1234567' }, machine: { cpuModel: 'CPU A', cpuCount: 2 } };
    // seed 1's SAM cell started on another machine and backend, then was resumed here
    const env = c.id === 'sam-rho0.05-seed1'
      ? { ...here, previous: [{ backend: { backend: 'webgpu' }, git: { sha: '1234567abcdef' }, machine: { cpuModel: 'CPU B', cpuCount: 16 } }] }
      : here;
    fs.writeFileSync(path.join(d, 'env.json'), JSON.stringify(env));
  }
}

describe('generateReport', () => {
  it('aggregates seeds (mean ± std), ratios to SGD, paper column, plots, summary files', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-report-'));
    const runsDir = path.join(root, 'runs');
    const outDir = path.join(root, 'results');
    fabricate(runsDir, false);
    const r = generateReport({ experiments: [exp], profile: 'cpu', runsDir, outDir, now: new Date('2026-01-01T00:00:00Z') });
    const sam = r.groups.find((g) => g.optimizer === 'sam')!;
    expect(sam.seedsCompleted).toBe(2);
    expect(sam.bestMean).toBeCloseTo(0.85, 12);
    expect(sam.bestStd).toBeCloseTo(Math.sqrt(2 * 0.01 ** 2), 12); // sample std of 0.84, 0.86
    expect(sam.stepRatioToSgd).toBeCloseTo(2, 12);
    expect(sam.plateaued).toBe(0); // two epochs are too short to call a plateau
    expect(r.groups.find((g) => g.optimizer === 'asam')!.wallRatioToSgd).toBeCloseTo(2.2, 12);
    const md = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8');
    expect(md).toContain('| SAM | 0.05 | 2/2 | 85.00 ± 1.41 | 84.00 ± 1.41 | 60.0 ± 0.0 | 0/2 | 91.00 |');
    expect(md).toContain('| ASAM | 0.5 | 2/2 | 87.00 ± 2.83 |');
    // 2 seeds × (100 + 200 + 220) s of fabricated wall time
    expect(md).toContain('(6/6 cells completed). Measured cell time: 17 min in the 6 finished cell(s) (each cell\'s own wall time, all its starts together; cells run one per core). ');
    expect(JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')).cells.map((c: { wallS: number }) => Math.round(c.wallS * 1e9) / 1e9)).toEqual([100, 100, 200, 200, 220, 220]);
    expect(md).toContain('Backends used: wasm, webgpu. Git revisions of the runs: abcdef1234, 1234567abc. ' +
      'Machines (cells that ran on each, in whole or in part): CPU A (2 cores) × 6; CPU B (16 cores) × 1.');
    for (const f of ['index.html', 'summary.csv', 'summary.json', 'fab_cifar/report.md', 'fab_cifar/curve-test-acc.svg', 'fab_cifar/curve-train-acc.svg', 'fab_cifar/curve-train-loss.svg', 'fab_cifar/lr-schedule.svg', 'fab_cifar/bars.svg']) {
      expect(fs.existsSync(path.join(outDir, f)), f).toBe(true);
    }
    const csv = fs.readFileSync(path.join(outDir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0]).toMatch(/^experiment,task,optimizer,rho,/);
    expect(fs.readFileSync(path.join(outDir, 'fab_cifar/curve-test-acc.svg'), 'utf8')).toMatch(/class="mark-line role-mark/);
    const check = checkReport(outDir, { experiments: ['fab_cifar'] });
    expect(check.problems).toEqual([]);
    expect(check.images).toBeGreaterThanOrEqual(4);
    expect(check.charts).toBe(5); // bars, 3 curves, lr (no claims, so no forest plot): every chart rendered and checked
    // Two-epoch runs: no "−NaN" change, no "after 2 epochs" phrasing problems, a plain reason instead.
    expect(md).not.toMatch(/NaN/);
    expect(md).toContain('- `sgd-seed0`: train acc (%) 60.00, 2 epochs: too short to judge (two windows of at least 3 epochs are needed)');
    // One seed per group would say so instead of "mean ± std": here two seeds.
    expect(JSON.parse(fs.readFileSync(path.join(outDir, 'fab_cifar/bars.vl.json'), 'utf8')).title.text.join(' ')).toContain('mean ± std over 2 seeds');
    // Links: the report lists its sections, each section report links back, index.html has the anchors and live charts.
    expect(md).toContain('- [Fabricated CIFAR](#fab_cifar) ([section report](fab_cifar/report.md))');
    expect(fs.readFileSync(path.join(outDir, 'fab_cifar/report.md'), 'utf8')).toContain('[All experiments of this report](../report.md)');
    const html = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
    expect(html).toContain('<h2 id="fab_cifar">');
    expect(html).toContain('<figure class="chart" id="chart-0"><img src="fab_cifar/bars.svg"');
    expect(html).toContain('<script src="vega.min.js"></script>');
    expect(fs.statSync(path.join(outDir, 'vega.min.js')).size).toBeGreaterThan(100_000);
  });

  it('links the quick report to the committed cpu report', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-quick-'));
    const cpu = path.join(root, 'results', 'cpu');
    fs.mkdirSync(cpu, { recursive: true });
    fs.writeFileSync(path.join(cpu, 'summary.json'), JSON.stringify({ generatedAt: 'then', claims: [{ claim: 'ASAM > SGD — x', verdict: 'inconclusive' }], cells: [{ status: 'completed' }] }));
    const s = quickPreamble(cpu, path.join(root, 'runs', 'quick', 'report'));
    expect(s).toContain('committed in [its report](../../../results/cpu/report.md) ([HTML](../../../results/cpu/index.html))');
    expect(s).toContain('ASAM > SGD — x: inconclusive');
  });

  it('sums the measured cell time of finished and unfinished cells apart, and says nothing when none was measured', () => {
    expect(cellTimeText([{ status: 'completed', wallS: 7200 }, { status: 'diverged', wallS: 1800 }, { status: 'running', wallS: 600 }, { status: 'missing', wallS: null }]))
      .toBe('Measured cell time: 2.5 h in the 2 finished cell(s), plus 10 min so far in 1 unfinished one(s) (each cell\'s own wall time, all its starts together; cells run one per core). ');
    expect(cellTimeText([{ status: 'missing', wallS: null }, { status: 'completed' }])).toBe('');
  });

  it('lists failed cells, counts only completed seeds, and check-report flags them', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-report-'));
    fabricate(path.join(root, 'runs'), true);
    const outDir = path.join(root, 'results');
    const r = generateReport({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir });
    const asam = r.groups.find((g) => g.optimizer === 'asam')!;
    expect(asam.seedsCompleted).toBe(1);
    expect(asam.failed).toBe(1);
    expect(asam.bestMean).toBeCloseTo(0.85, 12);
    expect(fs.readFileSync(path.join(outDir, 'report.md'), 'utf8')).toContain('- `asam-rho0.5-seed1`: failed — out of memory');
    const check = checkReport(outDir);
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toMatch(/asam-rho0.5-seed1 is failed: out of memory/);
    expect(checkReport(outDir, { allowIncomplete: true }).problems).toEqual([]);
    // a result.json in an older trainer's layout (no longer read) makes its cell failed, naming the file and the fix
    const old = cellDir(path.join(root, 'runs'), expandGrid(exp, 'cpu').find((c) => c.id === 'sgd-seed0')!);
    fs.writeFileSync(path.join(old, 'result.json'), JSON.stringify({ status: 'completed', bestTestAcc: 0.8, bestEpoch: 2, finalTestAcc: 0.79 }));
    const again = generateReport({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir });
    expect(again.groups.find((g) => g.optimizer === 'sgd')).toMatchObject({ seedsCompleted: 1, failed: 1 });
    expect(fs.readFileSync(path.join(outDir, 'report.md'), 'utf8'))
      .toContain(`- \`sgd-seed0\`: failed (2 epochs) — ${path.join(old, 'result.json')}: not this runtime's result.json (no "format": "asam-run/1"; `);
  });

  it('reports an experiment without run folders as not run, and check-report catches missing files', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-report-'));
    const outDir = path.join(root, 'results');
    generateReport({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir });
    expect(fs.readFileSync(path.join(outDir, 'report.md'), 'utf8')).toContain('**Not run yet**');
    fs.rmSync(path.join(outDir, 'index.html'));
    const c = checkReport(outDir, { allowIncomplete: true });
    expect(c.ok).toBe(false);
    expect(c.problems.join('\n')).toMatch(/index.html is missing/);
  });
});

// Three seeds of 60 epochs each with plateaued train curves; ASAM beats SGD by 2–3 points on every seed, SAM loses
// 1–3 points to SGD on every seed, ASAM beats SAM by 3.5–4 points; in the second test one ASAM run is cut
// short (train accuracy still rising).
const claimExp = defineExperiment({
  id: 'fab_claims', title: 'Fabricated claims', task: 'vision', description: 'fabricated runs for the claims table',
  base: { model: 'resnet20' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5] }, seed: [0, 1, 2] },
  profiles: { cpu: {} },
  claims: [
    { better: 'asam', worse: 'sgd', paper: '+0.94' },
    { better: 'sam', worse: 'sgd', paper: '+0.64' },
    { better: 'asam', worse: 'sam', paper: '+0.30' },
  ],
});
const BEST: Record<string, number[]> = { sgd: [0.80, 0.81, 0.79], sam: [0.78, 0.80, 0.77], asam: [0.82, 0.84, 0.805] };

function fabricateClaims(runsDir: string, cut: string | null, finalShift: Record<string, number> = {}): void {
  for (const c of expandGrid(claimExp, 'cpu')) {
    const d = cellDir(runsDir, c);
    fs.mkdirSync(d, { recursive: true });
    const best = BEST[c.optimizer!]![c.seed]!;
    fs.writeFileSync(path.join(d, 'cell.json'), JSON.stringify({ config: { epochs: 60 } }));
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: 60 },
      final: { metric: 'test_acc', value: best + (finalShift[c.optimizer!] ?? 0) }, wallSeconds: 10, meanStepSeconds: 1 }));
    const rising = c.id === cut;
    const rows = Array.from({ length: 60 }, (_, e) => {
      const train = rising ? 0.3 + e * 0.01 : Math.min(0.99, 0.3 + e * 0.03);
      return `${e + 1},${0.1 * (1 - e / 60)},${2 - train},${train},1,${best - (e === 59 ? 0 : 0.01)}`;
    });
    fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
    // 1,000 test images; this run is right on the first round(best·1000) of them.
    const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
    const k = Math.round(best * 1000);
    fs.writeFileSync(path.join(d, 'test-predictions-last.json'), JSON.stringify({ epoch: 60, labels, predicted: labels.map((y, i) => (i < k ? y : (y + 1) % 10)) }));
  }
}

describe('claims table', () => {
  it('decides on paired t-tests with Holm\'s adjustment over the family of pairwise claims, beside the t intervals', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-claims-'));
    fabricateClaims(path.join(root, 'runs'), null);
    const r = generateReport({ experiments: [claimExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const v = Object.fromEntries(r.claims.map((c) => [c.claim.split(' — ')[0], c]));
    // Final-epoch differences per seed (points): ASAM − SGD +2, +3, +1.5; SAM − SGD −2, −1, −2; ASAM − SAM +4, +4, +3.5.
    // For df = 2 the two-sided p of a t statistic is exactly 1 − t / √(2 + t²):
    //   ASAM − SGD: mean 13/6, s = √(7/12), t = (13/6) / (s/√3) = 4.9135 → p = 0.03907
    //   SAM − SGD:  mean −5/3, s = 1/√3,    t = −5                  → p = 1 − 5/√27 = 0.03775
    //   ASAM − SAM: mean 23/6, s = 1/(2√3), t = 23                  → p = 1 − 23/√531 = 0.001884
    // Holm over the m = 3 claims: 3 · 0.001884 = 0.00565; 2 · 0.03775 = 0.0755; max(0.0755, 1 · 0.03907) = 0.0755.
    const p = (t: number) => 1 - t / Math.sqrt(2 + t * t);
    const tAsamSgd = (13 / 6) / (Math.sqrt(7 / 12) / Math.sqrt(3));
    expect(v['ASAM > SGD']!.pairwise!.final.p).toBeCloseTo(p(tAsamSgd), 10);
    expect(v['SAM > SGD']!.pairwise!.final.p).toBeCloseTo(p(5), 10);
    expect(v['ASAM > SAM']!.pairwise!.final.p).toBeCloseTo(p(23), 10);
    expect(v['ASAM > SAM']!.pairwise!.final.pAdjusted).toBeCloseTo(3 * p(23), 10);
    expect(v['SAM > SGD']!.pairwise!.final.pAdjusted).toBeCloseTo(2 * p(5), 10);
    expect(v['ASAM > SGD']!.pairwise!.final.pAdjusted).toBeCloseTo(2 * p(5), 10);
    // Raw p of ASAM > SGD and SAM > SGD is below 0.05, but not after Holm: only ASAM > SAM holds.
    expect(v['ASAM > SGD']!.verdict).toBe('inconclusive');
    expect(v['SAM > SGD']!.verdict).toBe('inconclusive');
    expect(v['ASAM > SAM']!.verdict).toBe('reproduced');
    expect(v['ASAM > SAM']!.pairwise!.n).toBe(3);
    // ASAM − SGD: mean 2.1667, s = 0.7638, t(0.975, 2) = 4.3027 → half-width 1.897
    expect(v['ASAM > SGD']!.ours).toBe('+2.17 [+0.27, +4.06] (points, n=3)');
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain("## The paper's claims at this scale");
    expect(md).toContain('The family: the 3 pairwise claim(s) of the experiments planned with two or more seeds (`fab_claims` 3)');
    expect(md).toMatch(/\| ASAM > SAM — Fabricated claims \| \+0\.30 \| \+3\.83 \[\+3\.12, \+4\.55\] \(points, n=3\) \| 3 \| 0\.002 \| 0\.006 \| \*\*reproduced\*\* \|/);
    expect(md).not.toContain('Not resolved at this scale');
    // bootstrap over test images, seed 0: ASAM right on 820 images, SGD on 800, the first 800 shared: Δ = +2.00 exactly
    expect(md).toMatch(/\| ASAM > SGD \| 3 \| \+2\.00, \+3\.00, \+1\.50 \| \+2\.17 \[\+0\.27, \+4\.06\] \| 0\.039 \| 0\.075 \| .* \| \+2\.00 \[\+1\.\d\d, \+2\.\d\d\] \(seed 0\) \|/);
    // seeds for 80 % power at the observed difference and spread (SciPy gives 4 / 5, 4 / 5 and 2 / 3 at α 0.05 / 0.05÷3)
    const model = JSON.parse(fs.readFileSync(path.join(root, 'results', 'model.json'), 'utf8')) as { experiments: Array<{ section: { pairs?: Array<{ claim: string; plan?: unknown }> } }> };
    const plan = (claim: string) => model.experiments.flatMap((x) => x.section.pairs ?? []).find((x) => x.claim === claim)?.plan;
    expect(plan('ASAM > SGD')).toEqual({ power: 0.8, alpha: 0.05, seeds: 4, familyAlpha: 0.05 / 3, familySeeds: 5 });
    expect(plan('SAM > SGD')).toMatchObject({ seeds: 4, familySeeds: 5 });
    expect(plan('ASAM > SAM')).toMatchObject({ seeds: 2, familySeeds: 3 });
    const section = fs.readFileSync(path.join(root, 'results', 'fab_claims', 'report.md'), 'utf8');
    expect(section).toMatch(/\*\*Seeds for 80 % power\*\* at the observed mean difference and spread \(final epoch; two-sided paired t at α 0\.05 \/ at α\/3, Holm's strictest threshold in its family of 3 claims; a planning figure from few seeds, not a guarantee\): .*ASAM > SAM 2 \/ 3/);
    expect(section).toContain('ASAM > SGD 4 / 5');
    expect(fs.readFileSync(path.join(root, 'results', 'summary.json'), 'utf8')).toContain('"verdict": "reproduced"');
    expect(fs.existsSync(path.join(root, 'results', 'fab_claims', 'forest.svg'))).toBe(true);
    expect(checkReport(path.join(root, 'results')).problems).toEqual([]);
  });

  it('records per seed the revisions, machines and engines its methods ran on, their starts, and whether they match', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-claims-'));
    const runsDir = path.join(root, 'runs');
    fabricateClaims(runsDir, null);
    const start = (sha: string, cpuModel: string, kernels: string[] = []) => ({
      git: { sha }, machine: { cpuModel, cpuCount: 2 }, backend: { backend: 'wasm', native: { loaded: true }, kernels },
    });
    const fused = ['wasm:BatchNormTraining'];
    for (const c of expandGrid(claimExp, 'cpu')) {
      // seed 0: every run one start on one revision, machine and engine; seed 1: SAM resumed once on another
      // revision (same machine and engine); seed 2: ASAM started without the fused kernels, resumed with them
      let records = [start('aaaaaaa111', 'CPU A', fused)];
      if (c.seed === 1 && c.optimizer === 'sam') records = [start('bbbbbbb222', 'CPU A', fused), start('aaaaaaa111', 'CPU A', fused)];
      if (c.seed === 2 && c.optimizer === 'asam') records = [start('aaaaaaa111', 'CPU A'), start('aaaaaaa111', 'CPU A', fused)];
      const [last, ...before] = [...records].reverse();
      fs.writeFileSync(path.join(cellDir(runsDir, c), 'env.json'), JSON.stringify({ ...last, previous: before.reverse() }));
    }
    generateReport({ experiments: [claimExp], profile: 'cpu', runsDir, outDir: path.join(root, 'results') });
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('| seed | revisions | machines | engines | starts (SGD / SAM / ASAM) | one revision, machine and engine | uninterrupted |');
    expect(md).toContain('| 0 | aaaaaaa | CPU A (2 cores) | wasm + native kernels + fused BatchNorm | 1 / 1 / 1 | yes | yes |');
    expect(md).toContain('| 1 | aaaaaaa, bbbbbbb | CPU A (2 cores) | wasm + native kernels + fused BatchNorm | 1 / 2 / 1 | no | no |');
    expect(md).toContain('| 2 | aaaaaaa | CPU A (2 cores) | wasm + native kernels + fused BatchNorm; wasm + native kernels | 1 / 1 / 2 | no | no |');
    const model = JSON.parse(fs.readFileSync(path.join(root, 'results', 'model.json'), 'utf8'));
    const sam1 = model.experiments.flatMap((e: { section: { cells?: Array<{ id: string }> } }) => e.section.cells ?? [])
      .find((c: { id: string }) => c.id === 'sam-rho0.05-seed1');
    expect(sam1.starts).toEqual([
      { revision: 'bbbbbbb222', machine: 'CPU A (2 cores)', engine: 'wasm + native kernels + fused BatchNorm' },
      { revision: 'aaaaaaa111', machine: 'CPU A (2 cores)', engine: 'wasm + native kernels + fused BatchNorm' },
    ]);
  });

  it('decides on the final epoch, not the best over epochs, and says where the two disagree', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-claims-'));
    // Best over epochs as above; the final epoch of every ASAM run 3 points lower: ASAM − SAM final +1, +1, +0.5.
    fabricateClaims(path.join(root, 'runs'), null, { asam: -0.03 });
    const r = generateReport({ experiments: [claimExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const c = r.claims.find((x) => x.claim.startsWith('ASAM > SAM'))!;
    // final: mean 5/6, s = 1/(2√3), t = 5 → p = 1 − 5/√27 = 0.0378; Holm: SAM − SGD (p 0.0378) ties, ASAM − SGD
    // (final −1, 0, −1.5: p = 0.225) is largest → adjusted 0.0755 for both: inconclusive. Best over epochs (as in the
    // test above) would read reproduced.
    expect(c.pairwise!.final.mean).toBeCloseTo(5 / 600, 12);
    expect(c.verdict).toBe('inconclusive');
    expect(c.note).toContain("the best-over-epochs test accuracy (the paper's metric) disagrees: +3.83 [+3.12, +4.55], Holm p 0.006, which would read reproduced");
  });

  it('calls a claim inconclusive when one of its runs has not plateaued, and names the run', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-claims-'));
    fabricateClaims(path.join(root, 'runs'), 'asam-rho0.5-seed1');
    const r = generateReport({ experiments: [claimExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const c = r.claims.find((x) => x.claim.startsWith('ASAM > SGD'))!;
    expect(c.verdict).toBe('inconclusive');
    expect(c.note).toContain('not plateaued: asam-rho0.5-seed1');
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('**Not plateaued**');
    expect(md).toContain('**Not resolved at this scale.** `asam-rho0.5-seed1` had not plateaued after 60 epochs, this profile\'s budget for the experiment, so the differences below compare runs still improving, not converged models (the paper\'s own differences: ASAM > SGD +0.94; SAM > SGD +0.64; ASAM > SAM +0.30).');
  });
});

describe('markdownToHtml', () => {
  it('renders headings, tables with their alignment, images, lists, and ids on section headings', () => {
    const html = markdownToHtml('# T\n\n| a | b |\n| --- | ---: |\n| 1 | `x` |\n\n![p](d/p.svg)\n- one\n- two\n\n## Section (`exp_one`)\n\n[to it](#exp_one)');
    expect(html).toContain('<h1>T</h1>');
    expect(html).toContain('<th>a</th>\n<th align="right">b</th>');
    expect(html).toContain('<td align="right"><code>x</code></td>');
    expect(html).toContain('<img src="d/p.svg" alt="p">');
    expect(html).toContain('<ul>\n<li>one</li>\n<li>two</li>\n</ul>');
    expect(html).toContain('<h2 id="exp_one">Section (<code>exp_one</code>)</h2>');
    expect(html).toContain('<a href="#exp_one">to it</a>');
  });
  it('right-aligns numeric columns and left-aligns text columns', () => {
    expect(mdTable(['method', 'acc', 'CI'], [['SGD', '74.50 ± 1.20', '+2.17 [+0.27, +4.06]'], ['SAM ρ=0.05', '–', '−0.34']]).split('\n')[1]).toBe('| --- | ---: | ---: |');
  });
});

describe('label-noise claims', () => {
  const noisyExp = defineExperiment({
    id: 'fab_noise', title: 'Fabricated noise', task: 'vision', description: 'fabricated runs under 40 % label noise',
    base: { model: 'resnet20', labelNoise: { rate: 0.4, kind: 'symmetric' } },
    grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.5] }, seed: [0, 1, 2] },
    profiles: { cpu: {} },
    claims: [{ better: 'asam', worse: 'sgd', paper: 'robust' }],
  });
  // ASAM ahead by 2–3 points on every seed; SGD's train accuracy on the noisy labels plateaus at `sgdTrain`.
  function fabricateNoise(runsDir: string, sgdTrain: number, sgdCurve: 'flat' | 'rising' | 'rising, best last' = 'flat'): void {
    for (const c of expandGrid(noisyExp, 'cpu')) {
      const d = cellDir(runsDir, c);
      fs.mkdirSync(d, { recursive: true });
      const best = c.optimizer === 'sgd' ? 0.6 : 0.62 + 0.005 * c.seed;
      const top = c.optimizer === 'sgd' ? sgdTrain : 0.58;
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: 60 }, final: { metric: 'test_acc', value: best } }));
      const rising = c.optimizer === 'sgd' && sgdCurve !== 'flat';
      const bestLast = c.optimizer === 'sgd' && sgdCurve === 'rising, best last';
      const rows = Array.from({ length: 60 }, (_, e) => `${e + 1},0.1,1,${rising ? 0.2 + e * 0.0125 : Math.min(top, 0.2 + e * 0.05)},1,${bestLast ? best - (59 - e) * 0.001 : best}`);
      fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
    }
  }
  const claimFor = (sgdTrain: number, sgdCurve: 'flat' | 'rising' | 'rising, best last' = 'flat') => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-noise-'));
    fabricateNoise(path.join(root, 'runs'), sgdTrain, sgdCurve);
    const r = generateReport({ experiments: [noisyExp], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    return { claim: r.claims[0]!, md: fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8') };
  };

  it('gives a verdict once SGD fits the noisy labels beyond the share that is right', () => {
    const { claim, md } = claimFor(0.9);
    expect(claim.verdict).toBe('reproduced');
    expect(md).toContain("SGD's final train accuracy on the noisy labels is 90.0 % (mean over 3 seed(s)); above 60 % it is fitting wrong labels, which it does here.");
  });

  it('accepts a train curve still rising at the end of the schedule when the best test accuracy was settled earlier', () => {
    const { claim, md } = claimFor(0.94, 'rising');
    expect(claim.verdict).toBe('reproduced');
    expect(md).toContain('| SGD | – | 3/3 | 60.00 ± 0.00 | 60.00 ± 0.00 | 93.8 ± 0.0 | 0/3 |');
    expect(md).toMatch(/- `sgd-seed0`: train acc \(%\) 93\.75, changed \+\d\.\d\d over the last window; best test accuracy at epoch 1, before the last 6 epochs: settled, counted in the claims/);
    expect(md).not.toContain('Not resolved at this scale'); // settled runs count as converged
  });

  it('keeps a claim inconclusive when the rising run\'s best test accuracy came in the last 10 % of epochs', () => {
    const { claim, md } = claimFor(0.94, 'rising, best last');
    expect(claim.verdict).toBe('inconclusive');
    expect(md).toContain('**Not resolved at this scale.** `sgd-seed0`, `sgd-seed1`, `sgd-seed2` had not plateaued after 60 epochs');
    expect(claim.note).toContain('not plateaued: sgd-seed0, sgd-seed1, sgd-seed2');
  });

  it('calls the claims inconclusive while SGD has not reached the label-noise regime', () => {
    const { claim, md } = claimFor(0.55);
    expect(claim.verdict).toBe('inconclusive');
    expect(claim.note).toContain('SGD does not fit the noisy labels (final train accuracy 55.0 %, 60 % of the labels are right)');
    expect(md).toContain('which it does not yet do here');
  });
});

describe('diverged runs in the report', () => {
  it('a claim with a diverged run is inconclusive and names it; the run is listed with where it diverged', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-diverged-'));
    const runs = path.join(root, 'runs');
    fabricateClaims(runs, null);
    const cell = expandGrid(claimExp, 'cpu').find((c) => c.id === 'asam-rho0.5-seed1')!;
    fs.writeFileSync(path.join(cellDir(runs, cell), 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'diverged', divergedAt: { epoch: 6, step: 17, loss: null } }));
    // a run stopped at a checkpoint (as a partial publication commits it): unfinished, whatever its result.json says
    const stopped = expandGrid(claimExp, 'cpu').find((c) => c.id === 'sgd-seed2')!;
    fs.writeFileSync(path.join(cellDir(runs, stopped), 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'running' }));
    const r = generateReport({ experiments: [claimExp], profile: 'cpu', runsDir: runs, outDir: path.join(root, 'results') });
    const c = r.claims.find((x) => x.claim.startsWith('ASAM > SGD'))!;
    expect(c.verdict).toBe('inconclusive');
    expect(c.note).toContain('diverged: asam-rho0.5-seed1');
    expect(r.claims.find((x) => x.claim.startsWith('SAM > SGD'))!.note).toContain('2 of 3 seeds done');
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('- `asam-rho0.5-seed1`: diverged at epoch 7, step 17 (loss NaN; the run is kept as its result)');
    expect(md).toContain('| ASAM | 0.5 | 2/3 (1 diverged) |');
    expect(md).toContain('(7/9 cells completed, 1 diverged)');
    expect(md).toContain('- `sgd-seed2`: unfinished (60/60 epochs)');
    expect(checkReport(path.join(root, 'results')).problems).toEqual(['cell fab_claims/sgd-seed2 is unfinished']);
  });
});

describe('ρ sensitivity section', () => {
  const ref = defineExperiment({
    id: 'fab_ref', title: 'Fabricated reference', task: 'vision', description: 'published ρ',
    base: { model: 'resnet20' }, grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5] }, seed: [0] }, profiles: { cpu: {} },
  });
  const sweep = defineExperiment({
    id: 'fab_rho', title: 'Fabricated ρ sweep', task: 'vision', description: 'other ρ',
    base: { model: 'resnet20' }, grid: { optimizer: ['sam', 'asam'], rho: { sam: [0.01, 0.2], asam: [0.1, 2] }, seed: [0] }, profiles: { cpu: {} },
    rhoSweepOf: 'fab_ref',
  });
  // best test accuracy per method:ρ. SAM: only 0.05 within a point of its best; ASAM: all three.
  const BEST_AT: Record<string, number> = { 'sam:0.01': 0.70, 'sam:0.05': 0.75, 'sam:0.2': 0.72, 'asam:0.1': 0.752, 'asam:0.5': 0.76, 'asam:2': 0.755, 'sgd:0': 0.73 };
  function fabricateRho(runs: string, divergeAsam2: boolean, risingSam001 = false): void {
    for (const c of [...expandGrid(ref, 'cpu'), ...expandGrid(sweep, 'cpu')]) {
      const d = cellDir(runs, c);
      fs.mkdirSync(d, { recursive: true });
      const best = BEST_AT[`${c.optimizer}:${c.rho}`]!;
      const diverged = divergeAsam2 && c.optimizer === 'asam' && c.rho === 2;
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify(diverged
        ? { format: 'asam-run/1', status: 'diverged', divergedAt: { epoch: 0, step: 3, loss: null } }
        : { format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: 30 }, final: { metric: 'test_acc', value: best } }));
      // A rising run gains 1.5 points of train accuracy per epoch to the end; the others flatten at 99 % by epoch 14.
      const rising = risingSam001 && c.optimizer === 'sam' && c.rho === 0.01;
      const rows = Array.from({ length: 30 }, (_, e) => `${e + 1},0.1,1,${rising ? 0.5 + e * 0.015 : Math.min(0.99, 0.3 + e * 0.05)},1,${best}`);
      fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${diverged ? '' : rows.join('\n')}\n`);
    }
  }
  const report = (divergeAsam2: boolean, risingSam001 = false) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-rho-'));
    fabricateRho(path.join(root, 'runs'), divergeAsam2, risingSam001);
    const r = generateReport({ experiments: [ref, sweep], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    return { claim: r.claims.find((c) => c.claim.startsWith('ASAM keeps'))!, md: fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8'), out: path.join(root, 'results') };
  };

  it('counts the ρ values within a point of each method\'s best, with the published ρ from the reference experiment', () => {
    const { claim, md, out } = report(false);
    expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 3/3 ρ values, SAM 1/3");
    expect(claim.verdict).toBe('reproduced');
    expect(claim.note).toBe('one seed: no interval');
    expect(md).toContain('| ASAM | 2 | – | 75.50 | 75.50 |');
    expect(md).toContain('Best of each over ρ, final-epoch test accuracy: ASAM 76.00 % (best over epochs 76.00 %) vs SAM 75.00 % (best over epochs 75.00 %)');
    expect(fs.readFileSync(path.join(out, 'fab_rho', 'accuracy-vs-rho.svg'), 'utf8')).toMatch(/class="mark-line role-mark/);
  });

  it('with two seeds per ρ, compares ρ values by their mean over seeds and counts ρ values, not runs', () => {
    const ref2 = defineExperiment({ ...ref, id: 'fab_ref2', grid: { ...ref.grid, seed: [0, 1] } });
    const sweep2 = defineExperiment({ ...sweep, id: 'fab_rho2', grid: { ...sweep.grid, seed: [0, 1] }, rhoSweepOf: 'fab_ref2' });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-rho2-'));
    // Seed 1 is seed 0 shifted by −1.5 points for SAM ρ 0.2 only: SAM 0.2's mean (72 + 70.5)/2 = 71.25, still outside.
    // ASAM 2 on seed 1 drops 2 points: its mean 74.5 is 1.5 below ASAM's best mean (76.0), so ASAM has 2 of 3 within.
    for (const c of [...expandGrid(ref2, 'cpu'), ...expandGrid(sweep2, 'cpu')]) {
      const d = cellDir(path.join(root, 'runs'), c);
      fs.mkdirSync(d, { recursive: true });
      const shift = c.seed === 1 ? (c.optimizer === 'sam' && c.rho === 0.2 ? -0.015 : c.optimizer === 'asam' && c.rho === 2 ? -0.02 : 0) : 0;
      const best = BEST_AT[`${c.optimizer}:${c.rho}`]! + shift;
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: 30 }, final: { metric: 'test_acc', value: best } }));
      const rows = Array.from({ length: 30 }, (_, e) => `${e + 1},0.1,1,${Math.min(0.99, 0.3 + e * 0.05)},1,${best}`);
      fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
    }
    const r = generateReport({ experiments: [ref2, sweep2], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const claim = r.claims.find((c) => c.claim.startsWith('ASAM keeps'))!;
    expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best (mean over seeds): ASAM 2/3 ρ values, SAM 1/3");
    expect(claim.verdict).toBe('inconclusive');
    expect(claim.note).toBe('2 seeds per ρ, compared by their mean: no interval; a difference of one ρ value is within what the seeds can flip');
    expect(checkReport(path.join(root, 'results')).problems).toEqual([]);
  });

  it('counts a diverged ρ as outside the window, and calls a difference of one value inconclusive', () => {
    const { claim, md } = report(true);
    expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 2/3 ρ values, SAM 1/3");
    expect(claim.verdict).toBe('inconclusive');
    expect(claim.note).toBe('one seed: no interval; a difference of one ρ value is within what one seed can flip; ASAM diverged at ρ 2');
    expect(md).toContain('| ASAM | 2 | – | diverged at epoch 1 |');
  });

  it('gives no verdict while a run of the sweep is still rising, and names it', () => {
    const { claim, md } = report(false, true);
    // The same counts that are "reproduced" above: SAM ρ 0.01 could still come into its window with more epochs.
    expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 3/3 ρ values, SAM 1/3");
    expect(claim.verdict).toBe('inconclusive');
    expect(claim.note).toBe('one seed: no interval; not plateaued (train accuracy still rising at the last epoch): SAM ρ 0.01');
    expect(md).toMatch(/\| SAM \| 0\.01 \| – \| 70\.00 \| 70\.00 \| 93\.5 \| no \|/);
  });
  it('decides on final-epoch accuracy, and counts a ρ value on its labelled longer schedule, the standard runs superseded', () => {
    const ref3 = defineExperiment({ ...ref, id: 'fab_ref3', base: { model: 'resnet20', epochs: 30 } });
    const sweep3 = defineExperiment({
      ...sweep, id: 'fab_rho3', base: { model: 'resnet20', epochs: 30 }, rhoSweepOf: 'fab_ref3',
      profiles: { cpu: { longer: { label: 'e60', patch: { epochs: 60 }, rho: { asam: [2] }, reason: 'ASAM ρ 2 was still fitting.' } } },
    });
    expect(expandGrid(sweep3, 'cpu').map((c) => c.id)).toEqual(['sam-rho0.01-seed0', 'sam-rho0.2-seed0', 'asam-rho0.1-seed0', 'asam-rho2-seed0', 'asam-rho2-seed0-e60']);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-rho3-'));
    // SAM ρ 0.2 peaks at 75.0 mid-run (its best would be within a point of SAM's best) but ends at 72.0: on final
    // accuracy it is outside. ASAM ρ 2 on 30 epochs is still rising and ends at 70.0; on 60 epochs it plateaus at 75.5.
    const FINAL: Record<string, [number, number]> = { // [final, best]
      'sam:0.01': [0.70, 0.70], 'sam:0.05': [0.75, 0.75], 'sam:0.2': [0.72, 0.75], 'asam:0.1': [0.752, 0.752], 'asam:0.5': [0.76, 0.76], 'asam:2': [0.70, 0.70], 'asam:2:e60': [0.755, 0.758], 'sgd:0': [0.73, 0.73],
    };
    for (const c of [...expandGrid(ref3, 'cpu'), ...expandGrid(sweep3, 'cpu')]) {
      const d = cellDir(path.join(root, 'runs'), c);
      fs.mkdirSync(d, { recursive: true });
      const [final, best] = FINAL[`${c.optimizer}:${c.rho}${c.schedule ? `:${c.schedule}` : ''}`]!;
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: best, epoch: 10 }, final: { metric: 'test_acc', value: final } }));
      const rising = c.optimizer === 'asam' && c.rho === 2 && !c.schedule;
      const rows = Array.from({ length: c.config.epochs as number }, (_, e) => `${e + 1},0.1,1,${rising ? 0.3 + e * 0.015 : Math.min(0.99, 0.3 + e * 0.05)},1,${final}`);
      fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
    }
    const r = generateReport({ experiments: [ref3, sweep3], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const claim = r.claims.find((c) => c.claim.startsWith('ASAM keeps'))!;
    expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 3/3 ρ values, SAM 1/3");
    expect(claim.verdict).toBe('reproduced');
    expect(claim.note).toBe('one seed: no interval; longer schedule (60 epochs, labelled e60) for ASAM ρ 2, against 30 for the other ρ values: the count does not separate what the longer schedule adds by itself from ρ');
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('**Longer schedule (labelled `e60`, 60 epochs):** ASAM ρ 2 was still fitting.');
    expect(md).toContain('| ASAM | 2 | 30, superseded | 70.00 | 70.00 | 73.5 | no | – | – | fab_rho3/asam-rho2-seed0 |');
    expect(md).toContain('| ASAM | 2 | 60 (longer, e60) | 75.50 | 75.80 | 99.0 | yes | – | – | fab_rho3/asam-rho2-seed0-e60 |');
    expect(md).toContain('| SAM | 0.2 | 30 | 72.00 | 75.00 |');
    expect(checkReport(path.join(root, 'results')).problems).toEqual([]);
  });

  describe('with controls: the reference ρ values rerun on the longer schedule', () => {
    const ref4 = defineExperiment({ ...ref, id: 'fab_ref4', base: { model: 'resnet20', epochs: 30 } });
    const sweep4 = defineExperiment({
      ...sweep, id: 'fab_rho4', base: { model: 'resnet20', epochs: 30 }, rhoSweepOf: 'fab_ref4',
      profiles: { cpu: { longer: { label: 'e60', patch: { epochs: 60 }, rho: { asam: [2] }, reason: 'ASAM ρ 2 was still fitting.', controls: { sam: [0.05], asam: [0.5] } } } },
    });
    // As in the test above for the standard count (ASAM 3/3, SAM 1/3). The controls: SAM ρ 0.05 and ASAM ρ 0.5 on 60
    // epochs, `lifted` (+2.0 and +1.5 points, which push ASAM ρ 0.1 and ρ 2 out of ASAM's new window) or not (+0.5 and
    // +0.1 points); `missing` leaves ASAM's control unrun.
    const FINAL: Record<string, number> = { 'sam:0.01': 0.70, 'sam:0.05': 0.75, 'sam:0.2': 0.72, 'asam:0.1': 0.752, 'asam:0.5': 0.76, 'asam:2': 0.70, 'asam:2:e60': 0.755, 'sgd:0': 0.73 };
    const run = (controls: 'lifted' | 'flat' | 'missing') => {
      const ctl = controls === 'lifted' ? { 'sam:0.05:e60': 0.77, 'asam:0.5:e60': 0.775 } : { 'sam:0.05:e60': 0.755, 'asam:0.5:e60': 0.761 };
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-rho4-'));
      for (const c of [...expandGrid(ref4, 'cpu'), ...expandGrid(sweep4, 'cpu')]) {
        if (controls === 'missing' && c.id === 'asam-rho0.5-seed0-e60') continue;
        const d = cellDir(path.join(root, 'runs'), c);
        fs.mkdirSync(d, { recursive: true });
        const key = `${c.optimizer}:${c.rho}${c.schedule ? `:${c.schedule}` : ''}`;
        const final = (ctl as Record<string, number>)[key] ?? FINAL[key]!;
        fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: final, epoch: 10 }, final: { metric: 'test_acc', value: final } }));
        const rising = c.optimizer === 'asam' && c.rho === 2 && !c.schedule;
        const rows = Array.from({ length: c.config.epochs as number }, (_, e) => `${e + 1},0.1,1,${rising ? 0.3 + e * 0.015 : Math.min(0.99, 0.3 + e * 0.05)},1,${final}`);
        fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n${rows.join('\n')}\n`);
        // SAM ρ 0.05's control was stopped once and resumed on a native-kernel engine: two starts.
        if (c.id === 'sam-rho0.05-seed0-e60') {
          const start = (sha: string) => ({ git: { sha }, backend: { backend: 'wasm', native: { loaded: true } } });
          fs.writeFileSync(path.join(d, 'env.json'), JSON.stringify({ ...start('75d6d4c945aa'), previous: [start('75d6d4c945aa')] }));
        }
      }
      const r = generateReport({ experiments: [ref4, sweep4], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
      return { claim: r.claims.find((c) => c.claim.startsWith('ASAM keeps'))!, md: fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8'), out: path.join(root, 'results') };
    };

    it('a verdict both counts give stands, and the note gives the lift the longer schedule gives the controls', () => {
      const { claim, md, out } = run('flat');
      expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 3/3 ρ values, SAM 1/3; with SAM ρ 0.05, ASAM ρ 0.5 also on the longer schedule (controls): ASAM 3/3 ρ values, SAM 1/3");
      expect(claim.verdict).toBe('reproduced');
      expect(claim.note).toBe('one seed: no interval; longer schedule (60 epochs, labelled e60) for ASAM ρ 2, against 30 for the other ρ values: the controls measure what the longer schedule adds by itself (final-epoch, mean over seeds): SAM ρ 0.05 +0.50 points, ASAM ρ 0.5 +0.10 points');
      expect(md).toContain('| SAM | 0.05 | 60 (longer, e60, control) | 75.50 | 75.50 | 99.0 | yes | 75d6d4c (2 starts) | wasm + native kernels | fab_rho4/sam-rho0.05-seed0-e60 |');
      expect(md).toContain('| SAM | 0.05 | 30 | 75.00 | 75.00 | 99.0 | yes | – | – | fab_ref4/sam-rho0.05-seed0 |');
      expect(md).toContain('The controls (SAM ρ 0.05, ASAM ρ 0.5) are the reference ρ values rerun on it at the same seeds');
      expect(fs.readFileSync(path.join(out, 'fab_rho4', 'accuracy-vs-rho.vl.json'), 'utf8')).toContain('ASAM, e60 control');
      expect(checkReport(out).problems).toEqual([]);
    });

    it('where the counts disagree the verdict is inconclusive and the note says the verdict depends on the schedule', () => {
      const { claim } = run('lifted');
      // With the controls ASAM's best is 77.5: ASAM ρ 0.1 (75.2) and ρ 2 (75.5) fall out of its window.
      expect(claim.ours).toBe("final-epoch test accuracy within 1 point of the method's best: ASAM 3/3 ρ values, SAM 1/3; with SAM ρ 0.05, ASAM ρ 0.5 also on the longer schedule (controls): ASAM 1/3 ρ values, SAM 1/3");
      expect(claim.verdict).toBe('inconclusive');
      expect(claim.note).toBe('one seed: no interval; longer schedule (60 epochs, labelled e60) for ASAM ρ 2, against 30 for the other ρ values: the controls measure what the longer schedule adds by itself (final-epoch, mean over seeds): SAM ρ 0.05 +2.00 points, ASAM ρ 0.5 +1.50 points; the two counts disagree (reproduced; with the controls inconclusive): the verdict depends on the schedule of the reference ρ values');
    });

    it('stays pending until the controls have run, and says how many have', () => {
      const { claim } = run('missing');
      expect(claim.verdict).toBe('pending');
      expect(claim.note).toBe('6 of 6 runs done, with the controls 5 of 6 runs done; longer schedule (60 epochs, labelled e60) for ASAM ρ 2, against 30 for the other ρ values: the controls measure what the longer schedule adds by itself (final-epoch, mean over seeds): SAM ρ 0.05 +0.50 points, ASAM ρ 0.5 pending');
    });
  });
});

describe('translation update-time section', () => {
  it('tabulates Adam / SAM / ASAM update times, ratios and the epoch estimate', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-nmtstep-'));
    const def = defineExperiment({ id: 'fab_nmt_step', title: 'Fabricated update time', task: 'step_time', description: 'fabricated', base: { kind: 'nmt' }, grid: {}, profiles: { cpu: {} } });
    const d = cellDir(path.join(root, 'runs'), expandGrid(def, 'cpu')[0]!);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({
      status: 'completed', task: 'step_time', kind: 'nmt', backend: 'wasm', trainableParams: 1000,
      config: { preset: 'transformer_mini', corpus: 'multi30k', maxTokens: 1024, vocabSize: 2000, validLimit: 300, search: 'greedy', warmup: 1, repeats: 2 },
      samplesS: { sgd: [0.5, 0.6], sam: [1.0, 1.2], asam: [1.1, 1.1] }, medianS: { sgd: 0.55, sam: 1.1, asam: 1.1 }, ratioToSgd: { sgd: 1, sam: 2, asam: 2 },
      minS: { sgd: 0.5, sam: 1.0, asam: 1.1 }, minRatioToSgd: { sgd: 1, sam: 2, asam: 2.2 }, tokensPerS: { sgd: 1600, sam: 800, asam: 800 },
      meanTargetTokens: 880, updatesPerEpoch: 600, validationS: 30, epochS: { sgd: 360, sam: 690, asam: 690 },
    }));
    generateReport({ experiments: [def], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('| Adam | 0.550 | 1.00 | 0.500 | 1.00 | 1600 | 6.0 | 0.500, 0.600 |');
    expect(md).toContain('| SAM | 1.100 | 2.00 | 1.000 | 2.00 | 800 | 11.5 | 1.000, 1.200 |');
    expect(md).toContain('An epoch is 600 updates plus one validation pass (300 sentences, loss and greedy decoding for BLEU), which took 30.0 s');
    expect(checkReport(path.join(root, 'results')).problems).toEqual([]);
  });
});

describe('translation experiments', () => {
  it('bootstraps the test BLEU difference over test sentences from the runs\' per-sentence statistics', () => {
    const nmtExp = defineExperiment({
      id: 'fab_nmt', title: 'Fabricated translation', task: 'nmt', description: 'fabricated runs', base: { preset: 'transformer_mini' },
      grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.2] }, seed: [1] }, baseOptimizer: 'adam', profiles: { cpu: {} },
      claims: [{ better: 'asam', worse: 'sgd', paper: '+0.16 BLEU' }],
    });
    const refs = Array.from({ length: 30 }, (_, i) => `a man in a ${['red', 'blue', 'green'][i % 3]} shirt rides a bike number ${i} .`);
    const hyps: Record<string, string[]> = {
      sgd: refs.map((r, i) => (i % 2 ? r.replace('rides a bike', 'is on a bicycle') : r)),
      asam: refs.map((r, i) => (i % 5 ? r : r.replace('shirt', 'jacket'))),
    };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-nmt-'));
    const runsDir = path.join(root, 'runs');
    for (const c of expandGrid(nmtExp, 'cpu')) {
      const d = cellDir(runsDir, c);
      fs.mkdirSync(d, { recursive: true });
      const seg = testBleuSegments(hyps[c.optimizer!]!, refs);
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({
        format: 'asam-run/1', status: 'completed', best: { metric: 'valid_bleu', value: 30, epoch: 2 }, final: { metric: 'test_bleu', value: 40 },
        wallSeconds: 100, meanStepSeconds: 1,
      }));
      fs.writeFileSync(path.join(d, 'metrics.csv'), 'epoch,step,lr,train_loss,valid_loss,valid_bleu,valid_nll,seconds,tokens_per_sec\n1,10,0.001,5,4,20,4,10,100\n2,20,0.001,4,3,30,3,10,100\n');
      fs.writeFileSync(path.join(d, 'test-bleu-segments.json'), JSON.stringify(seg));
    }
    generateReport({ experiments: [nmtExp], profile: 'cpu', runsDir, outDir: path.join(root, 'results') });
    const md = fs.readFileSync(path.join(root, 'results', 'report.md'), 'utf8');
    expect(md).toContain('| comparison | seeds | per-seed Δ test BLEU | Δ test BLEU, mean [95 % CI] | p | p (Holm) | Δ best valid BLEU, mean [95 % CI] | p (Holm), best valid BLEU | Δ test BLEU, bootstrap over test sentences |');
    const iv = pairedBootstrapBleu(segmentBleuStats(hyps.asam!, [refs]), segmentBleuStats(hyps.sgd!, [refs]), { resamples: 2000, seed: 1 });
    expect(iv.lo).toBeGreaterThan(0);
    const f = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
    expect(md).toContain(`| ASAM > Adam | 1 | +0.00 | – | – | – | – | – | ${f(iv.estimate)} [${f(iv.lo)}, ${f(iv.hi)}] (seed 1) |`);
    // One planned seed: outside the tested family, and the note states the bootstrap result.
    expect(md).toContain('one seed planned: outside the tested family (no test over seeds)');
    expect(md).toContain(`one-seed paired bootstrap over the test sentences (seed 1): ${f(iv.estimate)} [${f(iv.lo)}, ${f(iv.hi)}] BLEU — the interval excludes 0`);
  });
});

describe('sharpness vs gap section', () => {
  it('draws the four scatter plots with Vega, every chart passing check-report\'s chart checks', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-gap-'));
    const def = defineExperiment({ id: 'fab_gap', title: 'Fabricated gap', task: 'sharpness_gap', description: 'fabricated', base: {}, grid: {}, profiles: { cpu: {} } });
    const d = cellDir(path.join(root, 'runs'), expandGrid(def, 'cpu')[0]!);
    fs.mkdirSync(d, { recursive: true });
    // Sharpness rising with the gap except for one model; adaptive sharpness in the gap's order.
    const models = Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, trainAcc: 0.6 + i * 0.05, testAcc: 0.5, trainLoss: 1 - i * 0.1, testLoss: 1.2, gapAcc: 0.1 + i * 0.05, gapLoss: 0.2 + i * 0.1, sharpness: i === 2 ? 0.5 : 0.01 * (i + 1), adaptiveSharpness: 0.02 * (i + 1) }));
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ status: 'completed', config: { rho: 0.05, adaptiveRho: 0.5, eta: 0.01, trainLimit: 100, testLimit: 50, hidden: 8, epochs: 2 }, models }));
    generateReport({ experiments: [def], profile: 'cpu', runsDir: path.join(root, 'runs'), outDir: path.join(root, 'results') });
    const c = checkReport(path.join(root, 'results'));
    expect(c.problems).toEqual([]);
    expect(c.charts).toBe(4);
    const svg = fs.readFileSync(path.join(root, 'results', 'fab_gap', 'adaptive-vs-gap-acc.svg'), 'utf8');
    expect(svg).toContain('adaptive sharpness (ρ=0.5) vs accuracy gap');
    expect(svg).toContain('Kendall τ = 1.000 (n = 6 models)');
    expect(svg).not.toMatch(/adaptiveSharpness/); // the axis says "adaptive sharpness", not the field name
  });
});
