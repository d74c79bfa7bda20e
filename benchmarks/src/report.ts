/**
 * Report generation from run folders only, in two passes: `computeReport` reads the run folders into the results
 * model (report-model.ts; each experiment's section computed by the section table of report-sections.ts), and
 * `renderReport` writes, from the model alone, per experiment a markdown section (tables of SGD / SAM / ASAM as
 * mean ± std over seeds beside the paper's numbers, wall time and step-time ratios to SGD) and its charts; a combined
 * `report.md`, `summary.csv`, `summary.json`, `model.json` and `index.html`.
 * Nothing here runs training; numbers come from result.json / metrics.csv in the cell folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { marked } from 'marked';
import { chartProblems, esc, renderSvg, toVega, vegaRuntime, type ChartSpec } from './charts.ts';
import { envRecords, machineLabel } from './env-info.ts';
import { formatHours } from './estimate.ts';
import { expandGrid, type Cell, type ExperimentDef, type OptimizerName, type ProfileName } from './experiment.ts';
import { readJsonIfExists, toCsv, writeFileAtomic, writeJsonAtomic } from './fs-util.ts';
import { readOutcome, type CellOutcome } from './outcome.ts';
import { REPORT_MODEL_FORMAT, type ClaimRow, type ExperimentModel, type GroupRow, type ReportModel, type TrainingModel } from './report-model.ts';
import { computeReference, readReferenceRuns, REFERENCE_DIR, REFERENCE_EXPERIMENT, renderReference } from './report-reference.ts';
import { computeSection, renderSection } from './report-sections.ts';
import { decidePairwiseClaims, formatP, mdTable, signed } from './report-training.ts';
import { experimentVocabulary } from './report-vocabulary.ts';
import { cellDir, isFinishedStatus } from './runner.ts';

export type { ClaimRow, GroupRow, ReportModel } from './report-model.ts';

export interface ReportOptions {
  experiments: ExperimentDef[];
  profile: ProfileName;
  /** Root of the run folders for this profile (`<runsDir>/<experiment>/<cell>`). */
  runsDir: string;
  /** Where report.md, index.html, summary.* and plots go. */
  outDir: string;
  /** A paragraph put under the report's header (e.g. what a partial publication holds, or where full results are). */
  preamble?: string;
  now?: Date;
}

export interface ReportResult {
  files: string[];
  groups: GroupRow[];
  claims: ClaimRow[];
  /** `wallS`: the cell's own measured wall time, all its starts together (null when it has not run). */
  cells: Array<{ experiment: string; cell: string; status: CellOutcome['status']; error: string | null; wallS: number | null }>;
}

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', sam: 'SAM', asam: 'ASAM' };

/**
 * Markdown to HTML by `marked` (GitHub-flavoured: tables with their column alignment, lists, code, links, raw
 * `<details>` blocks). Section headings that end in "(`id`)" get `id="id"`, so links to `#id` land on them.
 */
export function markdownToHtml(md: string): string {
  const html = marked.parse(md, { async: false, gfm: true }) as string;
  return html.replace(/<h2>(.*?\(<code>([a-z0-9_-]+)<\/code>\))<\/h2>/g, '<h2 id="$2">$1</h2>');
}

/**
 * "Measured cell time: 61.2 h in the 26 finished cells, plus 3.1 h so far in unfinished ones (…). " — the sum of the
 * cells' own wall times over all their starts; empty when no cell recorded one.
 */
export function cellTimeText(cells: ReadonlyArray<{ status: string; wallS?: number | null }>): string {
  const timed = cells.filter((c) => typeof c.wallS === 'number' && Number.isFinite(c.wallS));
  if (!timed.length) return '';
  const sum = (xs: typeof timed) => xs.reduce((a, c) => a + c.wallS!, 0);
  const done = timed.filter((c) => isFinishedStatus(c.status));
  const open = timed.filter((c) => !isFinishedStatus(c.status));
  return `Measured cell time: ${formatHours(sum(done))} in the ${done.length} finished cell(s)` +
    `${open.length ? `, plus ${formatHours(sum(open))} so far in ${open.length} unfinished one(s)` : ''} ` +
    '(each cell\'s own wall time, all its starts together; cells run one per core). ';
}

/**
 * The quick report's opening paragraph: what the quick profile does and does not compare, with a link to the
 * committed `cpu` report (relative to the quick report's folder `outDir`) and that report's verdicts.
 */
export function quickPreamble(cpuResultsDir: string, outDir: string): string {
  const summary = path.join(cpuResultsDir, 'summary.json');
  const rel = path.relative(outDir, path.join(cpuResultsDir, 'report.md')).split(path.sep).join('/');
  const html = path.relative(outDir, path.join(cpuResultsDir, 'index.html')).split(path.sep).join('/');
  let s = 'This quick profile runs the analyses that are meaningful in minutes (scale invariance, sharpness vs generalization gap, step time). ' +
    `It does not compare SGD, SAM and ASAM by accuracy: runs that short have not converged. The method comparison is the cpu profile's (converged runs over several seeds, paired tests), committed in [its report](${rel}) ([HTML](${html})).`;
  const j = readJsonIfExists<{ generatedAt?: string; claims?: Array<{ claim: string; verdict: string }>; cells?: Array<{ status: string }> }>(summary);
  if (j) {
    const done = (j.cells ?? []).filter((c) => isFinishedStatus(c.status)).length;
    s += ` Its verdicts as committed (${j.generatedAt ?? '?'}, ${done}/${j.cells?.length ?? 0} cells finished): ` +
      (j.claims ?? []).filter((c) => !/^Adaptive sharpness/.test(c.claim)).map((c) => `${c.claim}: ${c.verdict}`).join('; ') + '.';
  }
  return s;
}

/** The interactive page: the report as HTML, each chart drawn live by the vega runtime from its spec (tooltips), the SVG as fallback. */
function indexHtml(title: string, bodyHtml: string, charts: Array<{ src: string; vega: unknown }>): string {
  const bySrc = new Map(charts.map((c, i) => [c.src, i]));
  const body = bodyHtml.replace(/<img src="([^"]+)" alt="([^"]*)">/g, (m, src: string) => {
    const i = bySrc.get(src);
    return i === undefined ? m : `<figure class="chart" id="chart-${i}">${m}</figure>`;
  });
  const specs = JSON.stringify(charts.map((c) => c.vega)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}th{background:#f4f4f4;text-align:left}
figure.chart{margin:10px 0}figure.chart img{max-width:100%;border:1px solid #eee}code{background:#f4f4f4;padding:0 3px}a{color:#1f4e99}
</style></head>
<body>
${body}
<script src="vega.min.js"></script>
<script>
(function () {
  if (typeof vega === 'undefined') return; // without the runtime the static SVGs stay
  var specs = ${specs};
  specs.forEach(function (spec, i) {
    var el = document.getElementById('chart-' + i);
    if (!el) return;
    var img = el.querySelector('img');
    var box = document.createElement('div');
    el.appendChild(box);
    new vega.View(vega.parse(spec), { renderer: 'svg', container: box, hover: true }).runAsync().then(function () { if (img) img.remove(); });
  });
})();
</script>
</body></html>
`;
}

/**
 * Writes the report for one profile from the run folders: `<outDir>/report.md`, `index.html` (with `vega.min.js`),
 * `summary.csv`, `summary.json`, `model.json` (the results model every file is rendered from), and per experiment
 * `<outDir>/<experiment>/{report.md, *.svg, *.vl.json}` (each chart's Vega-Lite spec beside its SVG). Experiments
 * without any run folder are listed as not run. Pairwise claims are decided together (final-epoch metric, Holm over
 * the report's family). Returns the files written and the summary rows.
 */
export function generateReport(o: ReportOptions): ReportResult {
  return renderReport(computeReport(o), o.outDir);
}

/**
 * The results model of a report, from the run folders (and the PyTorch reference runs committed in `<outDir>/torch-reference`).
 * Each experiment's section is computed by the entry of the section table for its kind; then every pairwise claim of
 * the report is decided at once (Holm's adjustment needs the whole family).
 */
export function computeReport(o: ReportOptions): ReportModel {
  const now = o.now ?? new Date();
  const cellsOut: ReportModel['cells'] = [];
  const backends = new Set<string>();
  const shas = new Set<string>();
  /** machine label → number of cells that ran on it (in whole or in part) */
  const machines = new Map<string, number>();
  const read = new Map<string, { def: ExperimentDef; cells: Cell[]; outcomes: CellOutcome[] }>();
  const experiments: ExperimentModel[] = [];
  const runDir = (c: Cell) => cellDir(o.runsDir, c);
  for (const def of o.experiments) {
    if (!def.profiles[o.profile]) continue;
    const cells = expandGrid(def, o.profile);
    const outcomes = cells.map((c) => readOutcome(def.task, runDir(c)));
    read.set(def.id, { def, cells, outcomes });
    cells.forEach((c, i) => {
      const oc = outcomes[i]!;
      cellsOut.push({ experiment: def.id, cell: c.id, status: oc.status, error: oc.error, wallS: oc.wallS });
      if (oc.backend) backends.add(oc.backend);
      const ranOn = new Set<string>();
      for (const env of envRecords(runDir(c))) {
        if (env.git?.sha) shas.add(env.git.sha);
        if (env.backend?.backend) backends.add(env.backend.backend);
        const label = machineLabel(env.machine);
        if (label) ranOn.add(label);
      }
      for (const label of ranOn) machines.set(label, (machines.get(label) ?? 0) + 1);
    });
    const refDef = def.rhoSweepOf ? o.experiments.find((d) => d.id === def.rhoSweepOf && d.profiles[o.profile]) : undefined;
    const refCells = refDef ? expandGrid(refDef, o.profile) : [];
    const vocabulary = experimentVocabulary(def.task, cells.map((c, i) => ({ id: `${def.id}/${c.id}`, raw: outcomes[i]!.raw })));
    const section = computeSection({
      def, profile: o.profile, cells, outcomes, runDir, vocabulary,
      reference: refDef ? { cells: refCells, outcomes: refCells.map((c) => readOutcome(refDef.task, runDir(c))) } : null,
    });
    experiments.push({
      id: def.id, title: def.title, description: def.description, note: def.profiles[o.profile]?.note ?? null,
      notRun: outcomes.every((x) => x.status === 'missing') ? path.relative(process.cwd(), path.join(o.runsDir, def.id)) || '.' : null,
      section,
    });
  }
  const family = decidePairwiseClaims(experiments.map((e) => e.section));
  // Independent PyTorch runs of the clean recipe, committed beside a published report.
  const refRuns = readReferenceRuns(path.join(o.outDir, REFERENCE_DIR));
  const refExp = read.get(REFERENCE_EXPERIMENT);
  return {
    format: REPORT_MODEL_FORMAT, profile: o.profile, generatedAt: now.toISOString(), runsDir: path.relative(o.outDir, o.runsDir) || '.', preamble: o.preamble ?? null,
    backends: [...backends], shas: [...shas], machines: [...machines], cells: cellsOut, family: family.family, experiments,
    reference: refRuns.length && refExp ? computeReference(refRuns, refExp.def, refExp.cells, refExp.outcomes) : null,
  };
}

/** Writes a report's files from its model alone (see {@link generateReport}). */
export function renderReport(model: ReportModel, outDir: string): ReportResult {
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const groups: GroupRow[] = [];
  const claims: ClaimRow[] = [];
  const cellsOut = model.cells;
  const charts: Array<{ src: string; vega: unknown }> = [];
  const writeCharts = (dir: string, rel: string, list: Array<[string, ChartSpec]>) => {
    for (const [name, spec] of list) {
      writeFileAtomic(path.join(dir, name), renderSvg(spec));
      writeFileAtomic(path.join(dir, name.replace(/\.svg$/, '.vl.json')), `${JSON.stringify(spec)}\n`);
      files.push(path.join(dir, name), path.join(dir, name.replace(/\.svg$/, '.vl.json')));
      charts.push({ src: `${rel}${name}`, vega: toVega(spec) });
    }
  };
  const sections: string[] = [];
  const toc: string[] = [];
  for (const e of model.experiments) {
    const sec = renderSection(e.section, e.id);
    const expDir = path.join(outDir, e.id);
    fs.mkdirSync(expDir, { recursive: true });
    writeCharts(expDir, `${e.id}/`, sec.files);
    const head = [`## ${e.title} (\`${e.id}\`)`, '', e.description, ...(e.note ? ['', `Profile \`${model.profile}\`: ${e.note}`] : []), ''].join('\n');
    const status = e.notRun !== null ? `\n**Not run yet** (no run folders under ${e.notRun}).\n` : '';
    writeFileAtomic(path.join(expDir, 'report.md'), `# ${e.title}\n\n[All experiments of this report](../report.md) · [the HTML page](../index.html#${e.id})\n\n${head.split('\n').slice(2).join('\n')}${status}\n${sec.md('')}`);
    files.push(path.join(expDir, 'report.md'));
    sections.push(`${head}${status}\n${sec.md(`${e.id}/`)}`);
    toc.push(`- [${e.title}](#${e.id}) ([section report](${e.id}/report.md))`);
    groups.push(...e.section.groups);
    claims.push(...e.section.claims);
  }
  if (model.reference) {
    const sec = renderReference(model.reference);
    writeCharts(path.join(outDir, REFERENCE_DIR), `${REFERENCE_DIR}/`, sec.files);
    sections.push(`## Independent PyTorch run of the clean recipe (\`${REFERENCE_DIR}\`)\n\n${sec.md(`${REFERENCE_DIR}/`)}`);
    toc.push(`- [Independent PyTorch run of the clean recipe](#${REFERENCE_DIR})`);
  }
  const completed = cellsOut.filter((c) => c.status === 'completed').length;
  const diverged = cellsOut.filter((c) => c.status === 'diverged').length;
  const pairwise = claims.some((c) => c.pairwise);
  // What the pairwise claims are decided on, in the words of each training experiment's vocabulary.
  const decidedBy = model.experiments.filter((e) => e.section.kind === 'training' && e.section.claims.some((c) => c.pairwise)).map((e) => (e.section as TrainingModel).vocabulary);
  const decided = [...new Set(decidedBy.map((v) => v.decided.label))];
  const minimised = decidedBy.some((v) => v.headline.goal === 'min');
  const claimRows = claims.map((c) => {
    const w = c.pairwise;
    const p = (x: number | null | undefined) => (x === null || x === undefined ? '–' : formatP(x));
    const best = w && w.n ? (w.best.mean === null ? '–' : `${signed(w.best.mean * w.scale, w.digits)}${w.best.lo !== null ? ` [${signed(w.best.lo * w.scale, w.digits)}, ${signed(w.best.hi! * w.scale, w.digits)}]` : ''}${w.best.pAdjusted !== null ? `, Holm p ${p(w.best.pAdjusted)}` : ''}`) : '–';
    return [c.claim, c.paper, c.ours, w ? String(w.n) : '–', w ? p(w.final.p) : '–', w ? p(w.final.pAdjusted) : '–', `**${c.verdict}**`, best, c.note || '–'];
  });
  const header = [
    `# ASAM benchmarks — profile \`${model.profile}\``, '',
    `Generated ${model.generatedAt} from the run folders in \`${model.runsDir}\` (${completed}/${cellsOut.length} cells completed${diverged ? `, ${diverged} diverged` : ''}). ` +
    `${cellTimeText(cellsOut)}Backends used: ${model.backends.join(', ') || '–'}. Git revisions of the runs: ${model.shas.map((s) => s.slice(0, 10)).join(', ') || '–'}.` +
    (model.machines.length ? ` Machines (cells that ran on each, in whole or in part): ${model.machines.map(([m, n]) => `${m} × ${n}`).join('; ')}.` : ''), '',
    ...(model.preamble ? [model.preamble, ''] : []),
    ...(toc.length ? ['Sections:', '', ...toc, ''] : []),
    ...(claims.length ? [
      '## The paper\'s claims at this scale', '',
      'Computed from the runs below, not typed. ' +
      (pairwise ? `A pairwise claim "A > B" is decided on each run's **final** figure (${decided.join('; ')}), so nothing is chosen on the test set: the paired differences over seeds give a two-sided paired t-test, and its p-value is adjusted by **Holm's method** over the family of the report's pairwise claims. ` +
        `The family: ${model.family}; a claim of it without a p-value yet counts as p = 1. ` +
        `A claim is **reproduced** when its adjusted p is below 0.05 and A − B is positive${minimised ? ' (for a metric to minimise, B − A: differences are always better − worse)' : ''}, **not reproduced** when its adjusted p is below 0.05 and A − B is negative, **inconclusive** otherwise, or when a run it rests on had not plateaued or diverged; **pending** while its runs are missing. ` +
        '"ours" is the mean final-epoch difference with its (unadjusted) 95 % t-interval over seeds; the best-over-epochs difference (the paper\'s metric, a maximum taken on the test set) is shown beside it, and the note says where it would read differently. ' : '') +
      'The ρ-range claim counts, per method, the ρ values whose final-epoch test accuracy (mean over seeds) is within 1 point of the method\'s best; without an interval, only a difference of two or more values is a verdict, and only when every run it counts has plateaued (a ρ value on a labelled longer schedule is counted on those runs).', '',
      mdTable(['claim', 'paper', 'ours (final epoch, mean [95 % CI])', 'seeds', 'p', 'p (Holm)', 'verdict', 'best over epochs (paper\'s metric)', 'note'], claimRows), '',
    ] : []),
    'Tables give mean ± sample std over seeds (a single seed shows the value alone). "step / SGD" divides by the base optimizer\'s row of the same experiment. Accuracy is in %, BLEU in points.', '',
  ].join('\n');
  const md = `${header}\n${sections.join('\n')}`;
  writeFileAtomic(path.join(outDir, 'report.md'), md);
  const runtime = vegaRuntime();
  writeFileAtomic(path.join(outDir, runtime.file), runtime.text);
  writeFileAtomic(path.join(outDir, 'index.html'), indexHtml(`ASAM benchmarks (${model.profile})`, markdownToHtml(md), charts));
  const cols: Array<keyof GroupRow> = ['experiment', 'task', 'optimizer', 'rho', 'seedsCompleted', 'seedsTotal', 'failed', 'metric', 'bestMean', 'bestStd', 'finalMean', 'finalStd', 'trainFinalMean', 'plateaued', 'paper', 'wallMeanS', 'stepMeanS', 'stepRatioToSgd', 'wallRatioToSgd', 'backends'];
  writeFileAtomic(path.join(outDir, 'summary.csv'), toCsv(cols, groups as unknown as Array<Record<string, unknown>>));
  writeJsonAtomic(path.join(outDir, 'summary.json'), { profile: model.profile, generatedAt: model.generatedAt, runsDir: model.runsDir, family: model.family, groups, claims, cells: cellsOut });
  // compact: the model holds every curve it draws
  writeFileAtomic(path.join(outDir, 'model.json'), `${JSON.stringify(model)}\n`);
  files.push(...['report.md', 'index.html', runtime.file, 'summary.csv', 'summary.json', 'model.json'].map((f) => path.join(outDir, f)));
  return { files, groups, claims, cells: cellsOut };
}

/** Every chart problem of a written report (`chartProblems` on each `*.vl.json` under it), one line each. */
export function reportChartProblems(outDir: string): { charts: number; problems: string[] } {
  const problems: string[] = [];
  let charts = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== 'runs') walk(p);
      else if (e.name.endsWith('.vl.json')) {
        charts++;
        problems.push(...chartProblems(JSON.parse(fs.readFileSync(p, 'utf8')) as ChartSpec, path.relative(outDir, p)));
      }
    }
  };
  walk(outDir);
  return { charts, problems };
}

/** Display label of an optimizer name. */
export function optimizerLabel(o: OptimizerName): string {
  return OPT_LABEL[o]!;
}
