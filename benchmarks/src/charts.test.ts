import * as vega from 'vega';
import { describe, expect, it } from 'vitest';
import { barChart, chartProblems, contourSegments, forestChart, lineChart, looksLikeSvg, planeChart, renderSvg, scatterChart, toVega, wrapText, type ChartSpec } from './charts.ts';

const bars = barChart({
  title: 'CIFAR-10 subset, 40% symmetric label noise, ResNet-20: final-epoch test accuracy (%), mean ± std over 3 seeds, dots: seeds',
  yLabel: 'test accuracy (%)', referenceLabel: 'paper',
  bars: [
    { label: 'SGD', method: 'sgd', mean: 74.5, std: 1.2, seeds: [{ seed: 0, value: 73.3 }, { seed: 1, value: 75.9 }, { seed: 2, value: 74.3 }], reference: 96.34 },
    { label: 'ASAM ρ=0.5', method: 'asam', mean: 76.4, std: null, seeds: [{ seed: 0, value: 76.4 }], reference: 77 },
  ],
});

describe('charts', () => {
  it('draws the SVG synchronously exactly as vega\'s own View.toSVG()', async () => {
    for (const spec of [bars, forestChart({ title: 'f', xLabel: 'd', rows: [{ row: 'A − B', seeds: [{ seed: 0, value: 1 }, { seed: 1, value: 2 }], interval: { estimate: 1.5, lo: -4.8, hi: 7.8, what: 't' }, paper: 0.3 }] })]) {
      const view = new vega.View(vega.parse(toVega(spec) as vega.Spec), { renderer: 'none' });
      expect(renderSvg(spec)).toBe(await view.toSVG());
      view.finalize();
    }
  });

  it('gives every seed dot a tooltip with its seed and value (what index.html shows on hover)', () => {
    const view = new vega.View(vega.parse(toVega(bars) as vega.Spec), { renderer: 'none' });
    view.run();
    const tips: unknown[] = [];
    const walk = (node: { items?: Array<Record<string, unknown>> }) => {
      for (const it of node.items ?? []) {
        if (it.tooltip) tips.push(it.tooltip);
        walk(it as { items?: Array<Record<string, unknown>> });
      }
    };
    walk((view.scenegraph() as unknown as { root: { items?: Array<Record<string, unknown>> } }).root);
    view.finalize();
    expect(tips).toContainEqual({ group: 'SGD', seed: 1, value: '75.90' });
    expect(tips).toContainEqual({ group: 'ASAM ρ=0.5', seed: 0, value: '76.40' });
  });

  it('wraps long titles instead of cutting them, and keeps every text inside the canvas', () => {
    expect(wrapText('a b c d', 3)).toEqual(['a b', 'c d']);
    expect(chartProblems(bars)).toEqual([]);
    const svg = renderSvg(bars);
    expect(looksLikeSvg(svg)).toBe(true);
    expect(svg).toContain('CIFAR-10 subset, 40% symmetric label noise, ResNet-20: final-epoch test accuracy');
  });

  it('finds what the checks are for: a clipped title, a negative axis for accuracy, NaN', () => {
    // A title forced to one line on a canvas that may not grow (autosize none) runs past the canvas.
    const clipped = { ...bars, autosize: { type: 'none' }, title: { text: 'x'.repeat(200) } } as unknown as ChartSpec;
    expect(chartProblems(clipped).join('\n')).toMatch(/outside the .* canvas/);
    // An accuracy axis from −1: the check reads the scale's domain from Vega.
    const negative = lineChart({ title: 't', xLabel: 'epoch', yLabel: 'test accuracy (%)', nonNegative: true, points: [{ series: 'SGD', method: 'sgd', run: 'seed 0', bold: true, x: 1, y: 0 }, { series: 'SGD', method: 'sgd', run: 'seed 0', bold: true, x: 2, y: 0 }] }) as unknown as { layer: Array<{ encoding: { y: { scale: unknown } } }> };
    expect(chartProblems(negative as unknown as ChartSpec)).toEqual([]);
    negative.layer[0]!.encoding.y.scale = { domain: [-1, 1] };
    expect(chartProblems(negative as unknown as ChartSpec).join('\n')).toMatch(/y axis starts at -1/);
    const nan = { ...bars, title: { text: 'value NaN' } } as unknown as ChartSpec;
    expect(chartProblems(nan).join('\n')).toMatch(/NaN/);
  });

  it('finds a value label sitting on an error bar', () => {
    // The label written at the mean instead of above the error bar lands on the bar's whisker.
    const spec = JSON.parse(JSON.stringify(bars)) as { layer: Array<{ mark: { type: string; dy?: number; baseline?: string }; encoding: { y: { field: string } } }> };
    const text = spec.layer.find((l) => l.mark.type === 'text')!;
    text.encoding.y.field = 'mean';
    text.mark.dy = 0;
    text.mark.baseline = 'middle';
    expect(chartProblems(spec as unknown as ChartSpec).join('\n')).toMatch(/data label "74.50" overlaps a rule/);
  });

  it('starts an all-zero accuracy curve at 0, not below', () => {
    const spec = lineChart({ title: 'all zero', xLabel: 'epoch', yLabel: 'test accuracy (%)', nonNegative: true, xIsEpoch: true,
      points: [1, 2, 3].map((x) => ({ series: 'SGD', method: 'sgd', run: 'seed 0', bold: true, x, y: 0 })) });
    expect(chartProblems(spec)).toEqual([]);
    expect(renderSvg(spec)).not.toMatch(/>−1</);
  });

  it('draws forest, scatter and plane charts without problems, the plane covering its regions', () => {
    const forest = forestChart({ title: 'paired differences', xLabel: 'difference (points)', rows: [
      { row: 'ASAM − SGD, final epoch', seeds: [{ seed: 0, value: 1.2 }, { seed: 1, value: 2.5 }], interval: { estimate: 1.85, lo: -6.4, hi: 10.1, what: '95 % t' }, paper: 0.94 },
      { row: 'ASAM − SAM, final epoch', seeds: [{ seed: 0, value: -0.3 }], interval: null, paper: null },
    ] });
    expect(chartProblems(forest)).toEqual([]);
    expect(renderSvg(forest)).toContain('seed: seed 1');
    const sc = scatterChart({ title: 's', xLabel: 'sharpness', yLabel: 'gap', logX: true, color: '#d62728', points: [{ x: 0.01, y: 1, label: 'a' }, { x: 0.1, y: 2, label: 'b' }] });
    expect(chartProblems(sc)).toEqual([]);
    const ring = Array.from({ length: 73 }, (_, i) => [3 + 0.5 * Math.cos((i / 72) * 2 * Math.PI), 0.3 + 1.5 * Math.sin((i / 72) * 2 * Math.PI)] as [number, number]);
    const plane = planeChart({ title: 'p', xLabel: 'w1', yLabel: 'w2', range: [0, 3.2], segments: [], lines: [{ series: 'ASAM region', color: '#d62728', path: ring }], points: [] }) as unknown as { layer: Array<{ encoding: { x: { scale: { domain: [number, number] } } } }> };
    const dom = plane.layer[plane.layer.length - 1]!.encoding.x.scale.domain;
    expect(dom[0]).toBeLessThanOrEqual(-1.2);
    expect(dom[1]).toBeGreaterThanOrEqual(3.5);
    expect(chartProblems(plane as unknown as ChartSpec)).toEqual([]);
  });

  it('contourSegments finds the level crossing of a linear field', () => {
    // f(x, y) = x on a 3x3 grid over [0, 2]²; level 0.5 crosses at x = 0.5 in both rows of cells.
    const segs = contourSegments([0, 1, 2], [0, 1, 2], [0, 1, 2].map(() => [0, 1, 2]), 0.5);
    expect(segs).toHaveLength(2);
    for (const [x0, , x1] of segs) {
      expect(x0).toBeCloseTo(0.5, 12);
      expect(x1).toBeCloseTo(0.5, 12);
    }
  });
});
