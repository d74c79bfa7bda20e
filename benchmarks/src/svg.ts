/**
 * Hand-written SVG charts for reports: line charts (learning curves), bar charts with error bars,
 * scatter plots, and a free 2-D canvas (contours, ellipses, trajectories) for the toy figures.
 * Output is a self-contained SVG string (no scripts, no external fonts).
 */

export const PALETTE: Record<string, string> = { sgd: '#555555', sam: '#1f77b4', asam: '#d62728' };
const EXTRA = ['#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e'];

/** A stable colour per series name: SGD grey, SAM blue, ASAM red, others from a fixed list. */
export function colorFor(name: string, index = 0): string {
  const key = name.toLowerCase().split(/[\s\-(]/)[0] ?? '';
  return PALETTE[key] ?? EXTRA[index % EXTRA.length]!;
}

/** Escapes text for SVG/XML content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0';
}

/** "Nice" tick values covering [lo, hi] (1-2-5 steps), about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function sx(f: Frame, x: number): number {
  return f.left + ((x - f.x0) / (f.x1 - f.x0 || 1)) * (f.width - f.left - f.right);
}
function sy(f: Frame, y: number): number {
  return f.height - f.bottom - ((y - f.y0) / (f.y1 - f.y0 || 1)) * (f.height - f.top - f.bottom);
}

function extent(vals: number[], padFrac = 0.05): [number, number] {
  const v = vals.filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const pad = (hi - lo) * padFrac;
  return [lo - pad, hi + pad];
}

function axes(f: Frame, title: string, xLabel: string, yLabel: string, xTickLabels?: string[]): string {
  const parts: string[] = [];
  const xt = xTickLabels ? [] : niceTicks(f.x0, f.x1);
  const yt = niceTicks(f.y0, f.y1);
  parts.push(`<rect x="${f.left}" y="${f.top}" width="${f.width - f.left - f.right}" height="${f.height - f.top - f.bottom}" fill="white" stroke="#999"/>`);
  for (const t of yt) {
    if (t < f.y0 || t > f.y1) continue;
    const y = num(sy(f, t));
    parts.push(`<line x1="${f.left}" x2="${f.width - f.right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${f.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${esc(fmtTick(t))}</text>`);
  }
  for (const t of xt) {
    if (t < f.x0 || t > f.x1) continue;
    const x = num(sx(f, t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${f.height - f.bottom + 16}" text-anchor="middle" font-size="11">${esc(fmtTick(t))}</text>`);
  }
  parts.push(`<text x="${f.width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(f.top + f.height - f.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  return parts.join('\n');
}

function legend(f: Frame, items: Array<{ name: string; color: string; dashed?: boolean }>): string {
  const parts: string[] = [];
  items.forEach((it, i) => {
    const y = f.top + 12 + i * 16;
    const x = f.width - f.right + 10;
    parts.push(`<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${x + 23}" y="${y}" dominant-baseline="middle" font-size="11">${esc(it.name)}</text>`);
  });
  return parts.join('\n');
}

function wrap(width: number, height: number, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond';

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  color?: string;
  dashed?: boolean;
  /** Stroke width (default 1.8); thin lines for single seeds, bold for means. */
  width?: number;
  /** Stroke opacity (default 1). */
  opacity?: number;
  /** Marker drawn at every `markerEvery`-th point, so series that coincide stay visible. */
  marker?: Marker;
  markerEvery?: number;
  /** Leave the series out of the legend (e.g. per-seed lines whose mean is listed). */
  hideInLegend?: boolean;
}

function markerSvg(m: Marker, x: number, y: number, color: string): string {
  const r = 3.5;
  if (m === 'circle') return `<circle cx="${num(x)}" cy="${num(y)}" r="${r}" fill="${color}"/>`;
  if (m === 'square') return `<rect x="${num(x - r)}" y="${num(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
  if (m === 'triangle') return `<path d="M${num(x)},${num(y - r - 1)}L${num(x + r + 1)},${num(y + r)}L${num(x - r - 1)},${num(y + r)}Z" fill="${color}"/>`;
  return `<path d="M${num(x)},${num(y - r - 1)}L${num(x + r + 1)},${num(y)}L${num(x)},${num(y + r + 1)}L${num(x - r - 1)},${num(y)}Z" fill="none" stroke="${color}" stroke-width="1.5"/>`;
}

/**
 * A line chart (e.g. a learning curve per seed and their mean). With `logX` the x axis is log10 (ticks show the
 * values); `yFromZero` starts the y axis at 0.
 */
export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: LineSeries[]; width?: number; height?: number; logX?: boolean; yFromZero?: boolean }): string {
  const width = o.width ?? 720;
  const height = o.height ?? 400;
  const tx = (v: number) => (o.logX ? Math.log10(v) : v);
  const [x0, x1] = extent(o.series.flatMap((s) => s.x.map(tx)), o.logX ? 0.05 : 0);
  let [y0, y1] = extent(o.series.flatMap((s) => s.y));
  if (o.yFromZero) { y0 = Math.min(0, y0); y1 = Math.max(y1, 0); }
  const f: Frame = { width, height, left: 60, right: 190, top: 30, bottom: 42, x0, x1, y0, y1 };
  const parts = [o.logX ? axes(f, o.title, o.xLabel, o.yLabel, []) : axes(f, o.title, o.xLabel, o.yLabel)];
  if (o.logX) {
    const xs = [...new Set(o.series.flatMap((s) => s.x))].sort((a, b) => a - b);
    for (const v of xs) parts.push(`<text x="${num(sx(f, tx(v)))}" y="${f.height - f.bottom + 16}" text-anchor="middle" font-size="11">${esc(fmtTick(v))}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = s.color ?? colorFor(s.name, i);
    const pts = s.x.map((x, k) => [tx(x), s.y[k]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], k) => `${k ? 'L' : 'M'}${num(sx(f, x))},${num(sy(f, y))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.8}"${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    if (s.marker) {
      const every = Math.max(1, s.markerEvery ?? 1);
      pts.forEach(([x, y], k) => { if (k % every === 0 || k === pts.length - 1) parts.push(markerSvg(s.marker!, sx(f, x), sy(f, y), color)); });
    } else if (pts.length === 1) parts.push(`<circle cx="${num(sx(f, pts[0]![0]))}" cy="${num(sy(f, pts[0]![1]))}" r="3" fill="${color}"/>`);
  });
  const shown = o.series.map((s, i) => ({ s, i })).filter(({ s }) => !s.hideInLegend);
  parts.push(legend(f, shown.map(({ s, i }) => ({ name: s.name, color: s.color ?? colorFor(s.name, i), dashed: s.dashed }))));
  shown.forEach(({ s, i }, k) => { if (s.marker) parts.push(markerSvg(s.marker, f.width - f.right + 19, f.top + 12 + k * 16, s.color ?? colorFor(s.name, i))); });
  return wrap(width, height, parts.join('\n'));
}

export interface Bar {
  label: string;
  value: number;
  err?: number;
  color?: string;
  /** Optional reference value drawn as a short black tick (e.g. the paper's number). */
  reference?: number;
}

/**
 * Vertical bars with ±err whiskers and optional reference ticks (labelled by `referenceLabel` in a note under the
 * title). The value axis always includes 0, so bar lengths compare honestly.
 */
export function barChart(o: { title: string; yLabel: string; bars: Bar[]; width?: number; height?: number; yMin?: number; referenceLabel?: string }): string {
  const width = o.width ?? Math.max(360, 110 * o.bars.length + 120, 8 * o.title.length + 40);
  const height = o.height ?? 360;
  const vals = o.bars.flatMap((b) => [b.value + (b.err ?? 0), b.value - (b.err ?? 0), ...(b.reference !== undefined ? [b.reference] : [])]);
  let [y0, y1] = extent(vals, 0.15);
  y0 = Math.min(0, o.yMin ?? 0, y0 < 0 ? y0 : 0);
  y1 = Math.max(0, y1);
  const f: Frame = { width, height, left: 60, right: 20, top: 30, bottom: 50, x0: 0, x1: o.bars.length, y0, y1 };
  const parts = [axes(f, o.title, '', o.yLabel, o.bars.map((b) => b.label))];
  if (o.referenceLabel && o.bars.some((b) => b.reference !== undefined)) {
    parts.push(`<line x1="${f.left + 8}" x2="${f.left + 30}" y1="${f.top + 12}" y2="${f.top + 12}" stroke="black" stroke-width="2" stroke-dasharray="4 2"/><text x="${f.left + 36}" y="${f.top + 12}" dominant-baseline="middle" font-size="11">${esc(o.referenceLabel)}</text>`);
  }
  o.bars.forEach((b, i) => {
    const color = b.color ?? colorFor(b.label, i);
    const xl = sx(f, i + 0.2);
    const xr = sx(f, i + 0.8);
    const base = sy(f, Math.max(y0, Math.min(0, y1)));
    const top = sy(f, b.value);
    parts.push(`<rect x="${num(xl)}" y="${num(Math.min(top, base))}" width="${num(xr - xl)}" height="${num(Math.abs(base - top))}" fill="${color}" fill-opacity="0.75"/>`);
    if (b.err !== undefined && b.err > 0) {
      const xm = num((xl + xr) / 2);
      const ya = num(sy(f, b.value - b.err));
      const yb = num(sy(f, b.value + b.err));
      parts.push(`<line x1="${xm}" x2="${xm}" y1="${ya}" y2="${yb}" stroke="black" stroke-width="1.5"/>`);
      parts.push(`<line x1="${num(xl + 12)}" x2="${num(xr - 12)}" y1="${ya}" y2="${ya}" stroke="black"/>`);
      parts.push(`<line x1="${num(xl + 12)}" x2="${num(xr - 12)}" y1="${yb}" y2="${yb}" stroke="black"/>`);
    }
    if (b.reference !== undefined) {
      const yr = num(sy(f, b.reference));
      parts.push(`<line x1="${num(xl - 4)}" x2="${num(xr + 4)}" y1="${yr}" y2="${yr}" stroke="black" stroke-width="2" stroke-dasharray="4 2"/>`);
    }
    parts.push(`<text x="${num((xl + xr) / 2)}" y="${num(height - f.bottom + 16)}" text-anchor="middle" font-size="11">${esc(b.label)}</text>`);
    parts.push(`<text x="${num((xl + xr) / 2)}" y="${num(Math.min(top, base, b.err ? sy(f, b.value + b.err) : top) - 4)}" text-anchor="middle" font-size="10">${esc(fmtTick(Number(b.value.toPrecision(4))))}</text>`);
  });
  return wrap(width, height, parts.join('\n'));
}

export interface ScatterPoint {
  x: number;
  y: number;
  label?: string;
}

/** A scatter plot with an optional subtitle line (e.g. Kendall τ). */
export function scatterChart(o: { title: string; subtitle?: string; xLabel: string; yLabel: string; points: ScatterPoint[]; color?: string; width?: number; height?: number; logX?: boolean }): string {
  const width = o.width ?? 460;
  const height = o.height ?? 380;
  const tx = (v: number) => (o.logX ? Math.log10(Math.max(v, 1e-12)) : v);
  const [x0, x1] = extent(o.points.map((p) => tx(p.x)));
  const [y0, y1] = extent(o.points.map((p) => p.y));
  const f: Frame = { width, height, left: 64, right: 20, top: o.subtitle ? 44 : 30, bottom: 42, x0, x1, y0, y1 };
  const parts = [axes(f, o.title, o.logX ? `${o.xLabel} (log10)` : o.xLabel, o.yLabel)];
  if (o.subtitle) parts.push(`<text x="${width / 2}" y="35" text-anchor="middle" font-size="12">${esc(o.subtitle)}</text>`);
  for (const p of o.points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const title = p.label ? `<title>${esc(p.label)}</title>` : '';
    parts.push(`<circle cx="${num(sx(f, tx(p.x)))}" cy="${num(sy(f, p.y))}" r="4" fill="${o.color ?? '#1f77b4'}" fill-opacity="0.8">${title}</circle>`);
  }
  return wrap(width, height, parts.join('\n'));
}

/** A free drawing canvas in data coordinates with axes; `body(toX, toY)` returns SVG elements. */
export function canvas(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  xRange: [number, number];
  yRange: [number, number];
  width?: number;
  height?: number;
  legend?: Array<{ name: string; color: string; dashed?: boolean }>;
  /** Same scale on both axes (circles stay circles): the width follows from the height. */
  equalAspect?: boolean;
  body: (toX: (x: number) => number, toY: (y: number) => number) => string;
}): string {
  const height = o.height ?? 460;
  const right = o.legend ? 170 : 20;
  const width = o.equalAspect
    ? 56 + right + ((height - 72) * (o.xRange[1] - o.xRange[0])) / (o.yRange[1] - o.yRange[0])
    : o.width ?? 520;
  const f: Frame = { width, height, left: 56, right, top: 30, bottom: 42, x0: o.xRange[0], x1: o.xRange[1], y0: o.yRange[0], y1: o.yRange[1] };
  const clipId = `c${Math.abs(hashString(o.title)) % 100000}`;
  const parts = [axes(f, o.title, o.xLabel, o.yLabel)];
  parts.push(`<clipPath id="${clipId}"><rect x="${f.left}" y="${f.top}" width="${width - f.left - f.right}" height="${height - f.top - f.bottom}"/></clipPath>`);
  parts.push(`<g clip-path="url(#${clipId})">${o.body((x) => sx(f, x), (y) => sy(f, y))}</g>`);
  if (o.legend) parts.push(legend(f, o.legend));
  return wrap(width, height, parts.join('\n'));
}

function hashString(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Contour lines of a scalar field sampled on a regular grid (marching squares, linear
 * interpolation along cell edges). `values[j][i]` is the field at (xs[i], ys[j]).
 * Returns line segments in data coordinates.
 */
export function contourSegments(xs: number[], ys: number[], values: number[][], level: number): Array<[number, number, number, number]> {
  const segs: Array<[number, number, number, number]> = [];
  const lerp = (a: number, b: number, va: number, vb: number) => a + ((level - va) / (vb - va)) * (b - a);
  for (let j = 0; j + 1 < ys.length; j++) {
    for (let i = 0; i + 1 < xs.length; i++) {
      const v00 = values[j]![i]!;
      const v10 = values[j]![i + 1]!;
      const v01 = values[j + 1]![i]!;
      const v11 = values[j + 1]![i + 1]!;
      const x0 = xs[i]!;
      const x1 = xs[i + 1]!;
      const y0 = ys[j]!;
      const y1 = ys[j + 1]!;
      // Edge crossings: bottom (y0), right (x1), top (y1), left (x0).
      const pts: Array<[number, number]> = [];
      if ((v00 < level) !== (v10 < level)) pts.push([lerp(x0, x1, v00, v10), y0]);
      if ((v10 < level) !== (v11 < level)) pts.push([x1, lerp(y0, y1, v10, v11)]);
      if ((v01 < level) !== (v11 < level)) pts.push([lerp(x0, x1, v01, v11), y1]);
      if ((v00 < level) !== (v01 < level)) pts.push([x0, lerp(y0, y1, v00, v01)]);
      if (pts.length === 2) segs.push([pts[0]![0], pts[0]![1], pts[1]![0], pts[1]![1]]);
      else if (pts.length === 4) {
        segs.push([pts[0]![0], pts[0]![1], pts[1]![0], pts[1]![1]]);
        segs.push([pts[2]![0], pts[2]![1], pts[3]![0], pts[3]![1]]);
      }
    }
  }
  return segs;
}

/** Checks that a string looks like a complete SVG document (used by check-report). */
export function looksLikeSvg(s: string): boolean {
  return /<svg[\s>]/.test(s) && /<\/svg>\s*$/.test(s) && !/NaN/.test(s);
}
