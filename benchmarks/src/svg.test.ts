import { describe, expect, it } from 'vitest';
import { barChart, contourSegments, lineChart, looksLikeSvg, niceTicks } from './svg.ts';

describe('svg helpers', () => {
  it('niceTicks gives 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(12.3, 87.9, 4)).toEqual([20, 40, 60, 80]);
  });
  it('contourSegments finds the level crossing of a linear field', () => {
    // f(x, y) = x on a 3x3 grid over [0, 2]²; level 0.5 crosses at x = 0.5 in both rows of cells.
    const xs = [0, 1, 2];
    const ys = [0, 1, 2];
    const v = ys.map(() => xs.map((x) => x));
    const segs = contourSegments(xs, ys, v, 0.5);
    expect(segs).toHaveLength(2);
    for (const [x0, , x1] of segs) {
      expect(x0).toBeCloseTo(0.5, 12);
      expect(x1).toBeCloseTo(0.5, 12);
    }
  });
  it('charts are complete SVG documents and escape text', () => {
    const l = lineChart({ title: 'a < b', xLabel: 'x', yLabel: 'y', series: [{ name: 'sam', x: [1, 2], y: [3, 4] }] });
    expect(looksLikeSvg(l)).toBe(true);
    expect(l).toContain('a &lt; b');
    const b = barChart({ title: 't', yLabel: 'y', bars: [{ label: 'SGD', value: 1, err: 0.1, reference: 1.2 }] });
    expect(looksLikeSvg(b)).toBe(true);
    expect(looksLikeSvg('<svg>NaN</svg>')).toBe(false);
  });
});
