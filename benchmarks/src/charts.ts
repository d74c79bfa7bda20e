/**
 * The report's charts, declared as Vega-Lite specs and drawn by the library: the same spec is rendered to a static SVG
 * at report time (vega + vega-lite, headless in Node) and embedded interactive in index.html (the vega runtime from
 * the npm package, copied beside the report, so it works offline; tooltips name the series, the seed and the value).
 *
 * Builders: bars from zero with error bars and every seed as a dot, learning curves (every seed thin, the mean bold),
 * scatter plots, forest plots of paired differences, and a plane (contours, regions, trajectories) for the toy figures.
 * `chartProblems` checks a rendered chart with Vega's own scenegraph: no NaN, titles and labels inside the canvas, value
 * labels clear of error bars and of the frame, no axis below zero for a quantity that cannot be negative.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** What the checks need to know about a chart, kept in the spec's `usermeta`. */
export interface ChartMeta {
  /** Position channels whose quantity cannot be negative (accuracy, BLEU, time): their axis must start at ≥ 0. */
  nonNegative?: Array<'x' | 'y'>;
  /** Data labels that must keep clear of the rules and ticks of their plot (the values written above error bars). */
  labelsClear?: boolean;
}

export const PALETTE: Record<string, string> = { sgd: '#555555', adam: '#555555', sam: '#1f77b4', asam: '#d62728' };
const EXTRA = ['#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e'];

/** A stable colour per method name: SGD / Adam grey, SAM blue, ASAM red, others from a fixed list. */
export function colorFor(name: string, index = 0): string {
  const key = name.toLowerCase().split(/[\s\-(]/)[0] ?? '';
  return PALETTE[key] ?? EXTRA[index % EXTRA.length]!;
}

const WIDTH = 520;
const HEIGHT = 280;
/** Characters per title line: long titles are wrapped, never cut. */
const TITLE_CHARS = 78;

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 14, fontWeight: 'bold' as const, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#555', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  view: { stroke: '#ccc' },
};

/** Six significant digits: what a chart can show, without float noise (74.00000000000001) in the specs. */
function round(v: number): number {
  return Number(v.toPrecision(6));
}

/** Splits a title into lines of at most `max` characters at spaces. */
export function wrapText(text: string, max = TITLE_CHARS): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + w.length > max) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out.length ? out : [''];
}

function title(text: string, subtitle?: string): { text: string[]; subtitle?: string[] } {
  return { text: wrapText(text), ...(subtitle ? { subtitle: wrapText(subtitle, TITLE_CHARS + 12) } : {}) };
}

function base(meta: ChartMeta, width = WIDTH, height = HEIGHT): Record<string, unknown> {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width, height, config: CONFIG, background: 'white', padding: 8, usermeta: meta };
}

/** Domain [0, top] for a non-negative quantity: room above the highest value for labels; [0, 1] when all are 0. */
function zeroDomain(values: number[], headroom: number): [number, number] {
  const v = values.filter(Number.isFinite);
  const hi = v.length ? Math.max(...v) : 0;
  return [0, hi > 0 ? hi * headroom : 1];
}

/** Extent of finite values with a margin; [0, 1] (or [lo − 1, lo + 1]) when there is no spread. */
function paddedDomain(values: number[], pad = 0.06, floor0 = false): [number, number] {
  const v = values.filter(Number.isFinite);
  if (!v.length) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (lo === hi) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const m = (hi - lo) * pad;
  return [floor0 ? Math.max(0, lo - m) : lo - m, hi + m];
}

/** A log-scale domain with a margin of 6 % of the decades spanned on each side. */
function logDomain(values: number[]): [number, number] {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (!v.length) return [1, 10];
  const lo = Math.log10(Math.min(...v));
  const hi = Math.log10(Math.max(...v));
  const pad = Math.max(0.05, (hi - lo) * 0.06);
  return [10 ** (lo - pad), 10 ** (hi + pad)];
}

function colorScale(groups: Array<{ name: string; color: string }>): { domain: string[]; range: string[] } {
  const seen = new Map<string, string>();
  for (const g of groups) if (!seen.has(g.name)) seen.set(g.name, g.color);
  return { domain: [...seen.keys()], range: [...seen.values()] };
}

// ---------------------------------------------------------------- bars

export interface Bar {
  label: string;
  /** Colour key (method name). */
  method: string;
  mean: number;
  /** Sample std over seeds; null for one seed (no error bar). */
  std: number | null;
  /** Every seed's value. */
  seeds: Array<{ seed: number; value: number }>;
  /** A reference value drawn as a black diamond (e.g. the paper's). */
  reference?: number | null;
}

/**
 * Bars from zero (mean over seeds), error bars of ± one sample std when there are two or more seeds, every seed as a
 * dot, an optional reference value per bar (a diamond right of the bar), and the mean written above the bar's error
 * bar and dots.
 */
export function barChart(o: { title: string; subtitle?: string; yLabel: string; bars: Bar[]; digits?: number; referenceLabel?: string; dotName?: string }): ChartSpec {
  const digits = o.digits ?? 2;
  const dotName = o.dotName ?? 'seed';
  const rows = o.bars.map((b) => {
    const lo = b.std === null ? null : b.mean - b.std;
    const hi = b.std === null ? null : b.mean + b.std;
    // The mean is written above the bar's error bar and seed dots; the reference tick may lie anywhere.
    const top = Math.max(b.mean, hi ?? -Infinity, ...b.seeds.map((s) => s.value));
    return { label: b.label, method: b.method, mean: b.mean, lo, hi, top, n: b.seeds.length, meanText: b.mean.toFixed(digits), std: b.std, reference: b.reference ?? null };
  });
  const seeds = o.bars.flatMap((b) => b.seeds.map((s) => ({ label: b.label, seed: s.seed, value: s.value })));
  const domain = zeroDomain(rows.flatMap((r) => [r.top, r.reference ?? 0]), 1.14);
  const x = { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelAngle: 0, labelLimit: 140 } };
  const y = { type: 'quantitative', scale: { domain, nice: false, zero: true }, title: o.yLabel };
  const cs = colorScale(o.bars.map((b) => ({ name: b.method, color: colorFor(b.method) })));
  const refs = rows.filter((r) => r.reference !== null);
  const sub = [o.subtitle, refs.length ? `black diamond right of a bar: ${o.referenceLabel ?? 'reference'}` : ''].filter(Boolean).join('; ');
  return {
    ...base({ nonNegative: ['y'], labelsClear: true }),
    title: title(o.title, sub || undefined),
    layer: [
      { data: { values: rows }, mark: { type: 'bar', width: { band: 0.6 }, opacity: 0.85 },
        encoding: { x, y: { ...y, field: 'mean' }, color: { field: 'method', type: 'nominal', scale: cs, legend: null },
          tooltip: [{ field: 'label', title: 'group' }, { field: 'mean', title: 'mean', format: `.${digits}f` }, { field: 'std', title: 'std', format: `.${digits}f` }, { field: 'n', title: `${dotName}s` }] } },
      { data: { values: rows.filter((r) => r.lo !== null) }, mark: { type: 'errorbar', ticks: { width: 14 }, color: '#222', thickness: 1.5 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
      { data: { values: seeds }, mark: { type: 'point', filled: true, size: 28, color: '#111', opacity: 0.7 },
        encoding: { x, y: { ...y, field: 'value' }, tooltip: [{ field: 'label', title: 'group' }, { field: 'seed', title: dotName }, { field: 'value', title: 'value', format: `.${digits}f` }] } },
      // Beside the bar (right of it), so it never meets the value written above the bar.
      ...(refs.length ? [{ data: { values: refs }, mark: { type: 'point', shape: 'diamond', filled: true, size: 70, color: '#000', xOffset: Math.round((0.3 * WIDTH) / Math.max(1, rows.length)) + 8 },
        encoding: { x, y: { ...y, field: 'reference' }, tooltip: [{ field: 'label', title: 'group' }, { field: 'reference', title: o.referenceLabel ?? 'reference' }] } }] : []),
      { data: { values: rows }, mark: { type: 'text', baseline: 'bottom', dy: -6, fontSize: 11 },
        encoding: { x, y: { ...y, field: 'top' }, text: { field: 'meanText' } } },
    ],
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------- lines

export interface LinePoint {
  /** Legend entry (e.g. "SAM ρ=0.05"). */
  series: string;
  /** Colour key. */
  method: string;
  /** "seed 0", …, or "mean of 3" (drawn bold). */
  run: string;
  bold: boolean;
  /** Dashed style name (e.g. "PyTorch"); the default solid when absent. */
  style?: string;
  x: number;
  y: number;
}

/**
 * Lines: each (series, run) one line; bold runs (means) thick with point markers, the others thin and light. `logX`
 * draws x on a log scale; `nonNegative` starts y at 0 (accuracy, BLEU, learning rate).
 */
export function lineChart(o: { title: string; subtitle?: string; xLabel: string; yLabel: string; points: LinePoint[]; logX?: boolean; nonNegative?: boolean; yFromZero?: boolean; xIsEpoch?: boolean }): ChartSpec {
  const pts = o.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map((p) => ({ ...p, y: round(p.y), style: p.style ?? 'ours', key: `${p.series}|${p.run}|${p.style ?? ''}` }));
  const ys = pts.map((p) => p.y);
  const yDomain = o.nonNegative || o.yFromZero ? zeroDomain(ys, 1.05) : paddedDomain(ys);
  const cs = colorScale(pts.map((p, i) => ({ name: p.series, color: colorFor(p.method, i) })));
  const styles = [...new Set(pts.map((p) => p.style))];
  const x = { field: 'x', type: 'quantitative', title: o.xLabel, scale: o.logX ? { type: 'log', domain: logDomain(pts.map((p) => p.x)), nice: false } : { zero: false, nice: false, domain: paddedDomain(pts.map((p) => p.x), 0.01) },
    ...(o.xIsEpoch ? { axis: { tickMinStep: 1, format: 'd' } } : {}) };
  const y = { field: 'y', type: 'quantitative', title: o.yLabel, scale: { domain: yDomain, nice: false, zero: false } };
  const color = { field: 'series', type: 'nominal', scale: cs, title: null, legend: { orient: 'bottom', columns: 3 } };
  const dash = styles.length > 1 ? { strokeDash: { field: 'style', type: 'nominal', title: null, scale: { domain: styles, range: styles.map((_, i) => (i ? [6, 3] : [1, 0])) }, legend: { orient: 'bottom', symbolStrokeColor: '#333' } } } : {};
  const tooltip = [{ field: 'series', title: 'series' }, { field: 'run', title: 'run' }, ...(styles.length > 1 ? [{ field: 'style', title: 'implementation' }] : []), { field: 'x', title: o.xLabel }, { field: 'y', title: o.yLabel, format: '.4~f' }];
  // Only what the marks read goes into the spec (curves of 120 epochs × seeds are most of a report's bytes).
  const slim = (p: typeof pts[number]) => ({ series: p.series, run: p.run, ...(styles.length > 1 ? { style: p.style } : {}), x: p.x, y: p.y });
  const thin = pts.filter((p) => !p.bold).map(slim);
  const bold = pts.filter((p) => p.bold).map(slim);
  const key = [{ calculate: "datum.series + '|' + datum.run + '|' + (datum.style || '')", as: 'key' }];
  return {
    ...base({ nonNegative: o.nonNegative ? ['y'] : [] }),
    title: title(o.title, o.subtitle),
    layer: [
      ...(thin.length ? [{ data: { values: thin }, transform: key, mark: { type: 'line', strokeWidth: 1, opacity: 0.45, clip: true },
        encoding: { x, y, color, detail: { field: 'key' }, ...dash, tooltip } }] : []),
      ...(bold.length ? [{ data: { values: bold }, transform: key, mark: { type: 'line', strokeWidth: 2.4, clip: true, ...(new Set(bold.map((p) => p.x)).size <= 30 ? { point: { size: 24, filled: true } } : {}) },
        encoding: { x, y, color, detail: { field: 'key' }, ...dash, tooltip } }] : []),
    ],
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------- scatter

export function scatterChart(o: { title: string; subtitle?: string; xLabel: string; yLabel: string; points: Array<{ x: number; y: number; label: string }>; logX?: boolean; color: string }): ChartSpec {
  const pts = o.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.logX || p.x > 0));
  return {
    ...base({}),
    title: title(o.title, o.subtitle),
    data: { values: pts },
    mark: { type: 'point', filled: true, size: 60, color: o.color, opacity: 0.85 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xLabel, scale: o.logX ? { type: 'log', domain: logDomain(pts.map((p) => p.x)), nice: false } : { zero: false, domain: paddedDomain(pts.map((p) => p.x), 0.06) } },
      y: { field: 'y', type: 'quantitative', title: o.yLabel, scale: { zero: false, domain: paddedDomain(pts.map((p) => p.y), 0.08) } },
      tooltip: [{ field: 'label', title: 'model' }, { field: 'x', title: o.xLabel, format: '.4~g' }, { field: 'y', title: o.yLabel, format: '.4~g' }],
    },
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------- forest plot

export interface ForestRow {
  /** Row label, e.g. "ASAM − SGD, final epoch". */
  row: string;
  /** Per-seed paired differences. */
  seeds: Array<{ seed: number; value: number }>;
  /** The interval drawn as a bar, with what it is (e.g. "95 % t-interval over 3 seeds"). */
  interval: { estimate: number; lo: number; hi: number; what: string } | null;
  /** The paper's full-scale difference, if it has one. */
  paper: number | null;
}

/**
 * A forest plot of paired differences: one row per comparison, every seed's difference as a dot, the interval as a bar
 * with its estimate, a vertical rule at zero and the paper's full-scale difference as a diamond.
 */
export function forestChart(o: { title: string; subtitle?: string; xLabel: string; rows: ForestRow[]; digits?: number }): ChartSpec {
  const digits = o.digits ?? 2;
  const order = o.rows.map((r) => r.row);
  const seeds = o.rows.flatMap((r) => r.seeds.filter((s) => Number.isFinite(s.value)).map((s) => ({ row: r.row, seed: `seed ${s.seed}`, value: s.value })));
  const ivs = o.rows.filter((r) => r.interval && [r.interval.lo, r.interval.hi, r.interval.estimate].every(Number.isFinite))
    .map((r) => ({ row: r.row, ...r.interval!, kind: 'mean and interval' }));
  const paper = o.rows.filter((r) => r.paper !== null && Number.isFinite(r.paper)).map((r) => ({ row: r.row, value: r.paper!, kind: 'paper (full scale)' }));
  const all = [0, ...seeds.map((s) => s.value), ...ivs.flatMap((i) => [i.lo, i.hi]), ...paper.map((p) => p.value)];
  const xDomain = paddedDomain(all, 0.08);
  const y = { field: 'row', type: 'nominal', sort: order, title: null, axis: { labelLimit: 260 } };
  const x = { type: 'quantitative', title: o.xLabel, scale: { domain: xDomain, nice: false, zero: false } };
  const present = [seeds.length > 0, ivs.length > 0, paper.length > 0];
  const pick = <T,>(xs: T[]) => xs.filter((_, i) => present[i]);
  const kinds = pick(['seed', 'mean and interval', 'paper (full scale)']);
  const shape = { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: pick(['circle', 'square', 'diamond']) }, legend: { orient: 'bottom' } };
  const color = { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: pick(['#111111', '#1f4e79', '#e08000']) }, legend: { orient: 'bottom' } };
  return {
    ...base({}, WIDTH, Math.max(90, 46 * o.rows.length)),
    title: title(o.title, o.subtitle),
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { x: { ...x, field: 'zero' } } },
      { data: { values: ivs }, mark: { type: 'rule', strokeWidth: 3, color: '#1f4e79', opacity: 0.6 },
        encoding: { y, x: { ...x, field: 'lo' }, x2: { field: 'hi' }, tooltip: [{ field: 'row', title: 'comparison' }, { field: 'what', title: 'interval' }, { field: 'estimate', title: 'mean', format: `+.${digits}f` }, { field: 'lo', title: 'low', format: `+.${digits}f` }, { field: 'hi', title: 'high', format: `+.${digits}f` }] } },
      { data: { values: ivs }, mark: { type: 'point', filled: true, size: 90, opacity: 1 },
        encoding: { y, x: { ...x, field: 'estimate' }, shape, color, tooltip: [{ field: 'row', title: 'comparison' }, { field: 'estimate', title: 'mean', format: `+.${digits}f` }, { field: 'what', title: 'interval' }] } },
      { data: { values: seeds.map((s) => ({ ...s, kind: 'seed' })) }, mark: { type: 'point', filled: true, size: 40, opacity: 0.6, yOffset: -9 },
        encoding: { y, x: { ...x, field: 'value' }, shape, color, tooltip: [{ field: 'row', title: 'comparison' }, { field: 'seed', title: 'seed' }, { field: 'value', title: 'difference', format: `+.${digits}f` }] } },
      ...(paper.length ? [{ data: { values: paper }, mark: { type: 'point', filled: true, size: 90, opacity: 1, yOffset: 9 },
        encoding: { y, x: { ...x, field: 'value' }, shape, color, tooltip: [{ field: 'row', title: 'comparison' }, { field: 'value', title: 'paper (full scale)', format: `+.${digits}f` }] } }] : []),
    ],
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------- plane (toy figures)

export interface PlaneLine {
  series: string;
  color: string;
  dashed?: boolean;
  width?: number;
  /** Closed outline or open path, drawn in the given order. */
  path: Array<[number, number]>;
  /** A light fill (regions). */
  fill?: boolean;
}

/**
 * A square plane with equal axis scales: grey contour segments, outlined regions and paths (legend by series), and
 * labelled points. The domain covers every region and path, so nothing is cut at the edge.
 */
export function planeChart(o: { title: string; subtitle?: string; xLabel: string; yLabel: string; segments: Array<{ x: number; y: number; x2: number; y2: number; level: number }>; lines: PlaneLine[]; points: Array<{ x: number; y: number; label: string; color: string; text?: string }>; range: [number, number] }): ChartSpec {
  const xs = [...o.lines.flatMap((l) => l.path.map((p) => p[0])), ...o.points.map((p) => p.x), o.range[0], o.range[1]];
  const ys = [...o.lines.flatMap((l) => l.path.map((p) => p[1])), ...o.points.map((p) => p.y), o.range[0], o.range[1]];
  const lo = Math.min(...xs.filter(Number.isFinite), ...ys.filter(Number.isFinite));
  const hi = Math.max(...xs.filter(Number.isFinite), ...ys.filter(Number.isFinite));
  const pad = (hi - lo) * 0.04;
  const domain: [number, number] = [lo - pad, hi + pad];
  // Contours and paths beyond the data domain are clipped by the frame; regions and points define the domain.
  const segs = o.segments.filter((s) => [s.x, s.y, s.x2, s.y2].every(Number.isFinite));
  const lines = o.lines.flatMap((l, k) => l.path.map(([x, y], i) => ({ series: l.series, key: `${k}`, i, x, y, dashed: !!l.dashed, width: l.width ?? 2 })));
  const cs = colorScale(o.lines.map((l) => ({ name: l.series, color: l.color })));
  const x = { type: 'quantitative', title: o.xLabel, scale: { domain, nice: false, zero: false } };
  const y = { type: 'quantitative', title: o.yLabel, scale: { domain, nice: false, zero: false } };
  const side = 400;
  return {
    ...base({}, side, side),
    title: title(o.title, o.subtitle),
    layer: [
      ...(segs.length ? [{ data: { values: segs }, mark: { type: 'rule', color: '#bbb', strokeWidth: 1, clip: true },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, x2: { field: 'x2' }, y2: { field: 'y2' }, tooltip: [{ field: 'level', title: 'loss contour' }] } }] : []),
      ...o.lines.filter((l) => l.fill).map((l) => ({ data: { values: l.path.map(([px, py], i) => ({ x: px, y: py, i })) }, mark: { type: 'line', fill: l.color, fillOpacity: 0.1, strokeWidth: 0, clip: true },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, order: { field: 'i' } } })),
      { data: { values: lines }, mark: { type: 'line', clip: true },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, order: { field: 'i' }, detail: { field: 'key' },
          color: { field: 'series', type: 'nominal', scale: cs, title: null, legend: { orient: 'bottom', columns: 2 } },
          strokeDash: { field: 'dashed', type: 'nominal', scale: { domain: [false, true], range: [[1, 0], [5, 3]] }, legend: null },
          strokeWidth: { field: 'width', type: 'quantitative', scale: null, legend: null },
          tooltip: [{ field: 'series', title: 'series' }, { field: 'x', title: o.xLabel, format: '.3f' }, { field: 'y', title: o.yLabel, format: '.3f' }] } },
      { data: { values: o.points }, mark: { type: 'point', filled: true, size: 40, opacity: 1 },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, color: { field: 'color', type: 'nominal', scale: null, legend: null },
          tooltip: [{ field: 'label', title: 'point' }, { field: 'x', title: o.xLabel, format: '.3f' }, { field: 'y', title: o.yLabel, format: '.3f' }] } },
      { data: { values: o.points.filter((p) => p.text) }, mark: { type: 'text', align: 'left', dx: 6, dy: -8, fontSize: 12 },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, text: { field: 'text' } } },
    ],
  } as unknown as ChartSpec;
}

/** Line segments where a bilinear interpolation of `values[j][i]` over the grid (xs[i], ys[j]) crosses `level` (marching squares). */
export function contourSegments(xs: number[], ys: number[], values: number[][], level: number): Array<[number, number, number, number]> {
  const segs: Array<[number, number, number, number]> = [];
  const lerp = (a: number, b: number, va: number, vb: number) => a + ((level - va) / (vb - va)) * (b - a);
  for (let j = 0; j + 1 < ys.length; j++) {
    for (let i = 0; i + 1 < xs.length; i++) {
      const v00 = values[j]![i]!;
      const v10 = values[j]![i + 1]!;
      const v01 = values[j + 1]![i]!;
      const v11 = values[j + 1]![i + 1]!;
      const pts: Array<[number, number]> = [];
      if ((v00 < level) !== (v10 < level)) pts.push([lerp(xs[i]!, xs[i + 1]!, v00, v10), ys[j]!]);
      if ((v10 < level) !== (v11 < level)) pts.push([xs[i + 1]!, lerp(ys[j]!, ys[j + 1]!, v10, v11)]);
      if ((v01 < level) !== (v11 < level)) pts.push([lerp(xs[i]!, xs[i + 1]!, v01, v11), ys[j + 1]!]);
      if ((v00 < level) !== (v01 < level)) pts.push([xs[i]!, lerp(ys[j]!, ys[j + 1]!, v00, v01)]);
      if (pts.length >= 2) segs.push([pts[0]![0], pts[0]![1], pts[1]![0], pts[1]![1]]);
      if (pts.length === 4) segs.push([pts[2]![0], pts[2]![1], pts[3]![0], pts[3]![1]]);
    }
  }
  return segs;
}

// ---------------------------------------------------------------- rendering and checks

interface Rendered {
  view: vega.View;
  width: number;
  height: number;
  offset: [number, number];
}

/**
 * Compiles the Vega-Lite spec and evaluates it headless. `View.run()` is synchronous when no data is loaded from a URL
 * (every chart here carries its values inline), so a report is written without awaiting; charts.test.ts checks that
 * the SVG drawn this way equals `View.toSVG()`.
 */
function evaluate(spec: ChartSpec): Rendered {
  const view = new vega.View(vega.parse(toVega(spec) as vega.Spec), { renderer: 'none' });
  view.run();
  const v = view as unknown as { _viewWidth: number; _viewHeight: number; _origin: [number, number] };
  const p = view.padding() as { left: number; right: number; top: number; bottom: number };
  return { view, width: Math.max(0, v._viewWidth + p.left + p.right), height: Math.max(0, v._viewHeight + p.top + p.bottom), offset: [p.left + v._origin[0], p.top + v._origin[1]] };
}

function sceneRoot(view: vega.View): unknown {
  return (view.scenegraph() as unknown as { root: unknown }).root;
}

/** The chart drawn as a standalone SVG document by Vega's SVG renderer. */
export function renderSvg(spec: ChartSpec): string {
  const r = evaluate(spec);
  const Headless = ((vega.renderModule as unknown as (t: string) => unknown)('svg') as { headless: new (loader: unknown) => { initialize(el: null, w: number, h: number, origin: [number, number]): { background(c: unknown): { render(s: unknown): { svg(): string } } } } }).headless;
  const svg = new Headless(r.view.loader()).initialize(null, r.width, r.height, r.offset).background(r.view.background()).render(sceneRoot(r.view)).svg();
  r.view.finalize();
  return svg;
}

/** The spec compiled to Vega (what index.html hands to the vega runtime). */
export function toVega(spec: ChartSpec): unknown {
  return compile(spec, { logger: QUIET }).spec;
}

/** Vega-Lite's compile-time notes (e.g. legends merged across layers) are not the reader's business. */
const QUIET = (() => {
  const l = { level: (..._a: unknown[]) => (_a.length ? l : 0), warn: () => l, info: () => l, debug: () => l, error: (...a: unknown[]) => { throw new Error(`Vega-Lite: ${a.join(' ')}`); } };
  return l as unknown as NonNullable<Parameters<typeof compile>[1]>['logger'];
})();

interface SceneItem { marktype: string; role: string; bounds: { x1: number; y1: number; x2: number; y2: number }; text?: string; group: { x1: number; y1: number; x2: number; y2: number } | null }

function sceneItems(root: unknown, offset: [number, number]): SceneItem[] {
  const out: SceneItem[] = [];
  type Mark = { marktype: string; role: string; items?: Array<Record<string, unknown>> };
  const walk = (mark: Mark, ox: number, oy: number, frame: SceneItem['group']) => {
    for (const item of mark.items ?? []) {
      const b = item.bounds as { x1: number; y1: number; x2: number; y2: number } | undefined;
      if (b && Number.isFinite(b.x1) && b.x2 >= b.x1) {
        out.push({ marktype: mark.marktype, role: mark.role, bounds: { x1: b.x1 + ox, y1: b.y1 + oy, x2: b.x2 + ox, y2: b.y2 + oy }, text: item.text === undefined ? undefined : String(item.text), group: frame });
      }
      if (mark.marktype === 'group') {
        const gx = ox + ((item.x as number) || 0);
        const gy = oy + ((item.y as number) || 0);
        const w = item.width as number | undefined;
        const h = item.height as number | undefined;
        const inner = w && h ? { x1: gx, y1: gy, x2: gx + w, y2: gy + h } : frame;
        for (const m of (item.items ?? []) as Mark[]) walk(m, gx, gy, inner);
      }
    }
  };
  walk(root as Mark, offset[0], offset[1], null);
  return out;
}

function overlaps(a: SceneItem['bounds'], b: SceneItem['bounds']): boolean {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/**
 * What is wrong with a chart as Vega draws it, one line per problem (empty when none): NaN in the SVG or in a text;
 * a title, axis or legend text outside the canvas; a data label outside the plot frame or overlapping an error bar
 * or a tick; an axis below zero for a channel declared non-negative (`usermeta.nonNegative`).
 */
export function chartProblems(spec: ChartSpec, name = 'chart'): string[] {
  const problems: string[] = [];
  const svg = renderSvg(spec);
  if (/NaN|Infinity/.test(svg)) problems.push(`${name}: the SVG contains NaN or Infinity`);
  const r = evaluate(spec);
  const items = sceneItems(sceneRoot(r.view), r.offset);
  const eps = 0.5;
  const meta = (spec as { usermeta?: ChartMeta }).usermeta ?? {};
  for (const it of items) {
    if (it.marktype !== 'text' || !it.text) continue;
    const b = it.bounds;
    if (b.x1 < -eps || b.y1 < -eps || b.x2 > r.width + eps || b.y2 > r.height + eps) {
      problems.push(`${name}: ${it.role} "${it.text.slice(0, 60)}" lies outside the ${r.width}×${r.height} canvas (${b.x1.toFixed(0)}..${b.x2.toFixed(0)}, ${b.y1.toFixed(0)}..${b.y2.toFixed(0)})`);
    }
    if (/NaN/.test(it.text)) problems.push(`${name}: text "${it.text}" shows NaN`);
    if (it.role === 'mark' && it.group) {
      const g = it.group;
      if (b.x1 < g.x1 - eps || b.y1 < g.y1 - eps || b.x2 > g.x2 + eps || b.y2 > g.y2 + eps) problems.push(`${name}: data label "${it.text}" crosses the plot frame`);
      for (const o of meta.labelsClear ? items : []) {
        if (o.role !== 'mark' || (o.marktype !== 'rule' && o.marktype !== 'rect') || o.group !== g) continue;
        // Bars (rect) end below the label by construction; only what is drawn above a bar's mean can collide.
        if (overlaps(b, o.bounds) && !(o.marktype === 'rect' && o.bounds.y2 - o.bounds.y1 > 8 && o.bounds.x2 - o.bounds.x1 > 20)) {
          problems.push(`${name}: data label "${it.text}" overlaps a ${o.marktype === 'rule' ? 'rule (error bar)' : 'tick'}`);
        }
      }
    }
  }
  for (const ch of meta.nonNegative ?? []) {
    let dom: unknown[];
    try { dom = r.view.scale(ch)?.domain?.() ?? []; } catch { dom = []; }
    const lo = Number(dom[0]);
    if (dom.length && Number.isFinite(lo) && lo < 0) problems.push(`${name}: the ${ch} axis starts at ${lo} although the quantity cannot be negative`);
  }
  r.view.finalize();
  return problems;
}

/** Whether a text is a complete SVG document without NaN (what a report's image links must point to). */
export function looksLikeSvg(s: string): boolean {
  return /^<svg[\s>]/.test(s.trimStart()) && s.trimEnd().endsWith('</svg>') && !/NaN/.test(s);
}

/** The vega runtime (the npm package's minified browser build) that index.html loads, and its file name. */
export function vegaRuntime(): { file: string; text: string } {
  const entry = createRequire(import.meta.url).resolve('vega');
  const file = path.join(path.dirname(entry), 'vega.min.js');
  return { file: 'vega.min.js', text: fs.readFileSync(file, 'utf8') };
}

/** Escapes text for HTML content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
