import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDirs, PACKAGE_ROOT, parseStopBy } from './args.ts';

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

describe('--stop-by', () => {
  const now = Date.parse('2026-12-07T01:00:00Z');
  it('takes a duration from now or a date-time with its zone', () => {
    expect(parseStopBy('90m', now)).toBe(now + 90 * 60_000);
    expect(parseStopBy('2h30m', now)).toBe(now + 150 * 60_000);
    expect(parseStopBy('45s', now)).toBe(now + 45_000);
    expect(parseStopBy('1h0m5s', now)).toBe(now + 3_605_000);
    expect(parseStopBy('2026-12-07T02:40Z', now)).toBe(Date.parse('2026-12-07T02:40:00Z'));
    expect(parseStopBy('2026-12-07T03:40:30+01:00', now)).toBe(Date.parse('2026-12-07T02:40:30Z'));
  });
  it('refuses anything else with one line naming the value and the forms, and a moment that has passed', () => {
    for (const bad of ['', 'soon', '90', '2h 30m', '2026-12-07 02:40', '2026-12-07T02:40']) {
      expect(() => parseStopBy(bad, now)).toThrow(`--stop-by "${bad}" is not a deadline: give a duration from now (90m, 2h30m, 45s) or a date-time with its zone (2026-12-07T02:40Z)`);
    }
    expect(() => parseStopBy('2026-12-07T00:59Z', now)).toThrow('--stop-by "2026-12-07T00:59Z" has passed (it is now 2026-12-07T01:00:00.000Z); give a later time or a duration');
  });
});
