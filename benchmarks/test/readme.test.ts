import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeBlockIsCurrent } from '../src/readme-results.ts';

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
