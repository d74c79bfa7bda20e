import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReport } from '../src/check.ts';
import { expandGrid } from '../src/experiment.ts';
import { createExperimentRegistry } from '../src/experiments/index.ts';
import { generateReport } from '../src/report.ts';
import { runSweep } from '../src/runner.ts';
import { taskModulePath } from '../src/tasks/registry.ts';
import { bruteForceSharpness, toyLoss } from '../src/tasks/scale-invariance.ts';

describe('scale-invariance toy', () => {
  it('brute force matches a hand-derived value', () => {
    // At w = (1, 1), c = 2: L(w + ε) − L(w) is maximised over the ρ-ball (ρ = 0.5) along ε ∝ −(1, 1)
    // (moving away from w1·w2 = 2): w1 = w2 = 1 − ρ/√2, L = ½(w1² − 2)².
    const a = 1 - 0.5 / Math.SQRT2;
    const expected = toyLoss(a, a, 2) - toyLoss(1, 1, 2);
    expect(bruteForceSharpness([1, 1], [1, 1], 0.5, 2, 1440).value).toBeCloseTo(expected, 4);
  });

  it('runs through the sweep runner with @asam/core and yields a complete report', async () => {
    const reg = createExperimentRegistry();
    const def = reg.get('scale_invariance');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-int-'));
    const runsDir = path.join(root, 'runs');
    const s = await runSweep({ cells: expandGrid(def, 'smoke'), runsDir, backend: 'cpu', dataDir: os.tmpdir(), taskModule: taskModulePath, log: () => {} });
    expect(s.failed).toBe(0);
    const r = JSON.parse(fs.readFileSync(path.join(runsDir, 'scale_invariance', 'seed0', 'result.json'), 'utf8'));
    const [w, aw] = r.points;
    // Same loss at w and A·w; plain sharpness changes, adaptive sharpness does not (up to η).
    expect(aw.loss).toBeCloseTo(w.loss, 12);
    expect(aw.sharpness / w.sharpness).toBeGreaterThan(2);
    expect(Math.abs(aw.adaptiveSharpness / w.adaptiveSharpness - 1)).toBeLessThan(0.02);
    for (const p of r.points) {
      expect(p.sharpness).toBeCloseTo(p.sharpnessBruteForce, 2);
      expect(p.adaptiveSharpness).toBeCloseTo(p.adaptiveSharpnessBruteForce, 2);
    }
    const env = JSON.parse(fs.readFileSync(path.join(runsDir, 'scale_invariance', 'seed0', 'env.json'), 'utf8'));
    expect(env.backend.backend).toBe('cpu');
    expect(env.versions.tfjsCore).toBe('4.22.0');
    // the run record @asam/cli writes for CLI runs, plus the data hashes: one env.json layout for both
    expect(env.git.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(env.machine.cpuCount).toBeGreaterThan(0);
    expect(env.command.argv).toContain('--cell-dir');
    expect(env.data).toMatchObject({ files: {}, combined: null });
    const outDir = path.join(root, 'results');
    generateReport({ experiments: [def], profile: 'smoke', runsDir, outDir });
    expect(checkReport(outDir, { experiments: ['scale_invariance'] }).problems).toEqual([]);
  }, 240_000); // spawns a tsx child; slow on a loaded machine
});
