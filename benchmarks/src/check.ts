/**
 * Verifies a written report: files present, SVGs complete, image links resolvable, every chart drawn by Vega without
 * problems (no NaN, titles and labels inside the canvas, no negative axis for accuracy / BLEU / time), cells completed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists } from './fs-util.ts';
import { chartProblems, looksLikeSvg, type ChartSpec } from './charts.ts';

export interface CheckResult {
  ok: boolean;
  problems: string[];
  cells: number;
  completed: number;
  images: number;
  /** Charts (Vega-Lite specs beside the SVGs) rendered and checked. */
  charts: number;
}

/**
 * Checks `<resultsDir>`: report.md, index.html, summary.csv, summary.json exist; summary.json lists at
 * least one cell and (unless `allowIncomplete`) every cell completed; every image linked from
 * report.md / index.html exists and is a complete SVG without NaN, and its Vega-Lite spec (`x.vl.json` beside `x.svg`)
 * renders without a problem (`chartProblems`); index.html's vega runtime is there; each expected experiment has a section.
 */
export function checkReport(resultsDir: string, o: { allowIncomplete?: boolean; experiments?: string[] } = {}): CheckResult {
  const problems: string[] = [];
  for (const f of ['report.md', 'index.html', 'vega.min.js', 'summary.csv', 'summary.json']) {
    if (!fs.existsSync(path.join(resultsDir, f))) problems.push(`${path.join(resultsDir, f)} is missing`);
  }
  const summary = readJsonIfExists<{ cells?: Array<{ experiment: string; cell: string; status: string; error: string | null }> }>(path.join(resultsDir, 'summary.json'));
  const cells = summary?.cells ?? [];
  if (summary && cells.length === 0) problems.push('summary.json lists no cells');
  const completed = cells.filter((c) => c.status === 'completed').length;
  if (!o.allowIncomplete) {
    // A diverged cell has its result (the report says where it diverged); anything else unfinished is a problem.
    for (const c of cells) if (c.status !== 'completed' && c.status !== 'diverged') problems.push(`cell ${c.experiment}/${c.cell} is ${c.status}${c.error ? `: ${c.error.split('\n')[0]}` : ''}`);
  }
  let images = 0;
  const specs = new Set<string>();
  for (const [file, re] of [['report.md', /!\[[^\]]*\]\(([^)]+)\)/g], ['index.html', /<img [^>]*src="([^"]+)"/g]] as const) {
    const p = path.join(resultsDir, file);
    if (!fs.existsSync(p)) continue;
    const text = fs.readFileSync(p, 'utf8');
    for (const m of text.matchAll(re)) {
      const img = path.join(resultsDir, m[1]!);
      images++;
      if (!fs.existsSync(img)) problems.push(`${file} links ${m[1]} which does not exist`);
      else if (img.endsWith('.svg') && !looksLikeSvg(fs.readFileSync(img, 'utf8'))) problems.push(`${m[1]} is not a complete SVG (or contains NaN)`);
      if (img.endsWith('.svg')) {
        const spec = img.replace(/\.svg$/, '.vl.json');
        if (!fs.existsSync(spec)) problems.push(`${m[1]} has no Vega-Lite spec beside it (${path.basename(spec)})`);
        else specs.add(spec);
      }
    }
    if (file === 'report.md') {
      for (const e of o.experiments ?? []) if (!text.includes(`(\`${e}\`)`)) problems.push(`report.md has no section for experiment ${e}`);
    }
  }
  for (const spec of specs) problems.push(...chartProblems(JSON.parse(fs.readFileSync(spec, 'utf8')) as ChartSpec, path.relative(resultsDir, spec)));
  return { ok: problems.length === 0, problems, cells: cells.length, completed, images, charts: specs.size };
}
