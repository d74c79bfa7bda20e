/**
 * The README's results section, generated from the committed summary of a profile (never typed): the claims
 * table and the main comparison rows, between the markers `<!-- results:<profile>:start -->` and
 * `<!-- results:<profile>:end -->`. `updateReadme` rewrites the block (bench:publish calls it); `readmeBlockIsCurrent`
 * is what the tests check.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cellTimeText, type ClaimRow, type GroupRow } from './report.ts';
import { formatP } from './report-training.ts';
import { isFinishedStatus } from './runner.ts';

export interface CommittedSummary {
  profile: string;
  generatedAt: string;
  groups: GroupRow[];
  claims: ClaimRow[];
  /** The Holm family of the pairwise claims (absent from summaries published before it was recorded). */
  family?: string;
  /** `wallS` (the cell's measured wall time) is absent from summaries published before it was recorded. */
  cells: Array<{ experiment: string; cell: string; status: string; wallS?: number | null }>;
}

const LABEL: Record<string, string> = { sgd: 'SGD', sam: 'SAM', asam: 'ASAM' };

function pct(m: number | null, s: number | null, n: number): string {
  if (m === null) return '–';
  return n > 1 && s !== null ? `${(m * 100).toFixed(2)} ± ${(s * 100).toFixed(2)}` : (m * 100).toFixed(2);
}

/** The markdown block for a committed summary. */
export function renderResultsBlock(s: CommittedSummary, summaryPath: string): string {
  const done = s.cells.filter((c) => isFinishedStatus(c.status)).length;
  const vision = s.groups.filter((g) => g.task === 'vision' && g.optimizer !== '-');
  const nmt = s.groups.filter((g) => g.task === 'nmt');
  const bleu = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  const lines = [
    `Generated from \`${summaryPath}\` (published ${s.generatedAt.slice(0, 16).replace('T', ' ')} UTC; ${done} of ${s.cells.length} cells finished). ` +
      `${cellTimeText(s.cells)}` +
      (s.family ? `Pairwise claims are decided on final-epoch test accuracy (translation: test BLEU of the validation-chosen weights) by a paired t-test over seeds with Holm's adjustment over ${s.family}; "ours" is the mean difference with its 95 % t-interval. ` : 'Verdicts come from 95 % intervals of paired differences over seeds. ') +
      'See the report for the rule, the plots and every run.', '',
    '| claim | ours | seeds | p (Holm) | verdict |', '| --- | --- | ---: | ---: | --- |',
    ...s.claims.map((c) => {
      const w = c.pairwise;
      const p = w?.final.pAdjusted;
      return `| ${c.claim} | ${c.ours} | ${w ? w.n : '–'} | ${p === null || p === undefined ? '–' : formatP(p)} | ${c.verdict}${c.note ? ` (${c.note})` : ''} |`;
    }), '',
    '| experiment | method | ρ | seeds done | final-epoch test acc (%) | best test acc (%) | final train acc (%) |', '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...vision.map((g) => `| ${g.experiment} | ${LABEL[g.optimizer] ?? g.optimizer} | ${g.optimizer === 'sgd' ? '–' : g.rho} | ${g.seedsCompleted}/${g.seedsTotal} | ${pct(g.finalMean, g.finalStd, g.seedsCompleted)} | ${pct(g.bestMean, g.bestStd, g.seedsCompleted)} | ${g.trainFinalMean === null ? '–' : (g.trainFinalMean * 100).toFixed(1)} |`),
    ...(nmt.length ? ['', '| experiment | method | ρ | seeds done | best valid BLEU | test BLEU |', '| --- | --- | --- | --- | --- | --- |',
      ...nmt.map((g) => `| ${g.experiment} | ${g.optimizer === 'sgd' ? 'Adam' : LABEL[g.optimizer] ?? g.optimizer} | ${g.optimizer === 'sgd' ? '–' : g.rho} | ${g.seedsCompleted}/${g.seedsTotal} | ${bleu(g.bestMean)} | ${bleu(g.finalMean)} |`)] : []),
  ];
  return lines.join('\n');
}

function markers(profile: string): [string, string] {
  return [`<!-- results:${profile}:start -->`, `<!-- results:${profile}:end -->`];
}

function expected(readme: string, resultsDir: string, repoRoot: string, profile: string): { text: string; found: boolean } {
  const [a, b] = markers(profile);
  const i = readme.indexOf(a);
  const j = readme.indexOf(b);
  if (i < 0 || j < i) return { text: readme, found: false };
  const file = path.join(resultsDir, 'summary.json');
  const rel = path.relative(repoRoot, file);
  const body = fs.existsSync(file) ? renderResultsBlock(JSON.parse(fs.readFileSync(file, 'utf8')) as CommittedSummary, rel) : `No results published yet (\`${rel}\` does not exist).`;
  return { text: `${readme.slice(0, i + a.length)}\n${body}\n${readme.slice(j)}`, found: true };
}

/** Rewrites the README block of `profile` from `<resultsDir>/summary.json`; false when the README has no markers. */
export function updateReadme(readmePath: string, resultsDir: string, repoRoot: string, profile: string): boolean {
  const e = expected(fs.readFileSync(readmePath, 'utf8'), resultsDir, repoRoot, profile);
  if (e.found) fs.writeFileSync(readmePath, e.text);
  return e.found;
}

/** Whether the README block of `profile` equals what the committed summary generates. */
export function readmeBlockIsCurrent(readmePath: string, resultsDir: string, repoRoot: string, profile: string): boolean {
  const text = fs.readFileSync(readmePath, 'utf8');
  const e = expected(text, resultsDir, repoRoot, profile);
  return e.found && e.text === text;
}

/** A signed figure with its bracketed interval, as the reports print it: `+2.78 [+1.62, +3.95]`. */
const QUOTED_INTERVAL = /[+\-−]?\d+\.\d+ \[[+\-−]?\d+\.\d+, [+\-−]?\d+\.\d+\]/g;

/** The `.md` files under `dir`, without the run folders' own reports (`runs/`). */
function reportFiles(dir: string, top = true): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) return top && e.name === 'runs' ? [] : reportFiles(f, false);
    return e.isFile() && e.name.endsWith('.md') ? [f] : [];
  });
}

/**
 * The intervals the README's hand-written prose quotes (`+2.78 [+1.62, +3.95]`) that no report under `resultsDir`
 * prints: figures left behind when a publication changed them. The run folders' own reports are not searched, so a
 * figure counts only when the committed report shows it. A figure of an earlier publication is told in words, not
 * quoted with its interval.
 */
export function readmeIntervalsNotInReports(readmePath: string, resultsDir: string): string[] {
  const asciiMinus = (s: string) => s.replace(/−/g, '-');
  const printed = reportFiles(resultsDir).map((f) => asciiMinus(fs.readFileSync(f, 'utf8'))).join('\n');
  const quoted = fs.readFileSync(readmePath, 'utf8').match(QUOTED_INTERVAL) ?? [];
  return [...new Set(quoted)].filter((q) => !printed.includes(asciiMinus(q)));
}

/** The line a publication prints when the README quotes intervals the new report no longer prints; null when none. */
export function staleReadmeNote(readmePath: string, resultsDir: string): string | null {
  const stale = readmeIntervalsNotInReports(readmePath, resultsDir);
  return stale.length ? `README.md quotes ${stale.length} interval(s) the report no longer prints; update the prose around them: ${stale.join('; ')}` : null;
}
