import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeBlockIsCurrent, readmeIntervalsNotInReports, staleReadmeNote } from '../src/readme-results.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('README results section', () => {
  it('is what the committed cpu summary generates (regenerate with pnpm bench:publish)', () => {
    expect(readmeBlockIsCurrent(path.join(ROOT, 'README.md'), path.join(ROOT, 'benchmarks/results/cpu'), ROOT, 'cpu')).toBe(true);
  });
});

describe('committed cpu results', () => {
  it('hold the run folder of every cell the committed report counts (a clean clone can resume and re-derive them)', () => {
    const dir = path.join(ROOT, 'benchmarks/results/cpu');
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { cells: Array<{ experiment: string; cell: string; status: string }> };
    const counted = summary.cells.filter((c) => c.status !== 'missing');
    expect(counted.length).toBeGreaterThan(0);
    for (const c of counted) expect(fs.existsSync(path.join(dir, 'runs', c.experiment, c.cell, 'cell.json')), `${c.experiment}/${c.cell}`).toBe(true);
    for (const c of counted.filter((x) => x.status !== 'completed')) {
      expect(fs.existsSync(path.join(dir, 'runs', c.experiment, c.cell, 'checkpoint.bin')), `${c.experiment}/${c.cell} checkpoint`).toBe(true);
    }
  });
});

describe('README prose', () => {
  it('quotes only intervals the committed cpu report prints (after a publication, update the findings paragraphs)', () => {
    expect(readmeIntervalsNotInReports(path.join(ROOT, 'README.md'), path.join(ROOT, 'benchmarks/results/cpu'))).toEqual([]);
  });
});

describe('readmeIntervalsNotInReports', () => {
  it('names the quoted intervals no report prints, reads − as -, and ignores the run folders\' own reports', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-readme-'));
    try {
      fs.mkdirSync(path.join(dir, 'results/exp'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'results/runs/exp/cell'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'results/report.md'), '| ASAM > SAM | +2.78 [+1.62, +3.95] |\n');
      fs.writeFileSync(path.join(dir, 'results/exp/report.md'), 'SGD -1.32 [-2.82, +0.19]\n');
      fs.writeFileSync(path.join(dir, 'results/runs/exp/cell/report.md'), 'old +1.30 [+0.51, +2.03]\n');
      const readme = path.join(dir, 'README.md');
      fs.writeFileSync(readme, 'holds: +2.78 [+1.62, +3.95]; gap −1.32 [−2.82, +0.19]; once +1.30 [+0.51, +2.03]; stale +0.90 [−0.65, +2.45]; again +2.78 [+1.62, +3.95]\n');
      expect(readmeIntervalsNotInReports(readme, path.join(dir, 'results'))).toEqual(['+1.30 [+0.51, +2.03]', '+0.90 [−0.65, +2.45]']);
      expect(staleReadmeNote(readme, path.join(dir, 'results')))
        .toBe('README.md quotes 2 interval(s) the report no longer prints; update the prose around them: +1.30 [+0.51, +2.03]; +0.90 [−0.65, +2.45]');
      fs.writeFileSync(readme, 'holds: +2.78 [+1.62, +3.95]\n');
      expect(staleReadmeNote(readme, path.join(dir, 'results'))).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
