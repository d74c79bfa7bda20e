import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDirs, PACKAGE_ROOT } from './args.ts';

describe('benchmark folders', () => {
  it('PACKAGE_ROOT is the benchmarks package (its package.json and scripts/ are there)', () => {
    expect(existsSync(path.join(PACKAGE_ROOT, 'package.json'))).toBe(true);
    expect(existsSync(path.join(PACKAGE_ROOT, 'scripts', 'torch_bench.py'))).toBe(true);
    expect(path.basename(PACKAGE_ROOT)).toBe('benchmarks');
  });

  it('runs go under benchmarks/runs/<profile>, or $ASAM_RESULTS_DIR/<profile>; reports under benchmarks/results/<profile>', () => {
    expect(defaultDirs('cpu', {})).toEqual({ runsDir: path.join(PACKAGE_ROOT, 'runs', 'cpu'), resultsDir: path.join(PACKAGE_ROOT, 'results', 'cpu') });
    expect(defaultDirs('paper', { ASAM_RESULTS_DIR: '/data/sweeps' })).toEqual({ runsDir: '/data/sweeps/paper', resultsDir: path.join(PACKAGE_ROOT, 'results', 'paper') });
    expect(defaultDirs('smoke', { ASAM_RESULTS_DIR: '' }).runsDir).toBe(path.join(PACKAGE_ROOT, 'runs', 'smoke'));
  });
});
