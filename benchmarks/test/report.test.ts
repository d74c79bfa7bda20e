import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReport } from '../src/check.ts';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { cellDir } from '../src/runner.ts';
import { generateReport, markdownToHtml } from '../src/report.ts';

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
      status: 'completed', bestTestAcc: acc, finalTestAcc: acc - 0.01, wallSeconds: 100 * STEP[c.optimizer!]!, meanStepSeconds: STEP[c.optimizer!]!,
    }));
    fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,lr,train_loss,train_acc,test_loss,test_acc\n1,0.1,2,0.3,2,${acc - 0.2}\n2,0.05,1,0.6,1,${acc - 0.01}\n`);
    fs.writeFileSync(path.join(d, 'env.json'), JSON.stringify({ backend: { backend: 'wasm' }, git: { sha: 'abcdef1234567' } }));
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
    expect(r.groups.find((g) => g.optimizer === 'asam')!.wallRatioToSgd).toBeCloseTo(2.2, 12);
    const md = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8');
    expect(md).toContain('| SAM | 0.05 | 2/2 | 85.00 ± 1.41 | 84.00 ± 1.41 | 91.00 |');
    expect(md).toContain('| ASAM | 0.5 | 2/2 | 87.00 ± 2.83 |');
    expect(md).toContain('Git revisions of the runs: abcdef1234');
    for (const f of ['index.html', 'summary.csv', 'summary.json', 'fab_cifar/report.md', 'fab_cifar/curves.svg', 'fab_cifar/bars.svg']) {
      expect(fs.existsSync(path.join(outDir, f)), f).toBe(true);
    }
    const csv = fs.readFileSync(path.join(outDir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0]).toMatch(/^experiment,task,optimizer,rho,/);
    expect(fs.readFileSync(path.join(outDir, 'fab_cifar/curves.svg'), 'utf8')).toMatch(/<path d="M/);
    const check = checkReport(outDir, { experiments: ['fab_cifar'] });
    expect(check.problems).toEqual([]);
    expect(check.images).toBeGreaterThanOrEqual(4);
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
    expect(checkReport(outDir, { allowIncomplete: true }).ok).toBe(true);
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

describe('markdownToHtml', () => {
  it('renders headings, tables, images and lists', () => {
    const html = markdownToHtml('# T\n\n| a | b |\n| --- | --- |\n| 1 | `x` |\n\n![p](d/p.svg)\n- one\n- two');
    expect(html).toContain('<h1>T</h1>');
    expect(html).toContain('<tr><th>a</th><th>b</th></tr>');
    expect(html).toContain('<td><code>x</code></td>');
    expect(html).toContain('<img alt="p" src="d/p.svg">');
    expect(html).toContain('<ul>\n<li>one</li>\n<li>two</li>\n</ul>');
  });
});
