/**
 * One writer per run-folder file: in the source tree (packages/* /src and benchmarks/src, tests and test helpers —
 * `testing/`, `fixtures/` — left out) only run-folder.ts writes config.json, env.json, log.txt, metrics.csv or result.json.
 * A module "writes" a file when a write call (writeFile…, writeJsonAtomic, appendFile…, rename…, copyFile…,
 * createWriteStream, openSync — for log.txt, which the console is copied into through a descriptor) gets a path built from the file's name, directly or through a variable bound to it (followed
 * through further bindings, e.g. `${file}.tmp`), or from `RUN_FILES.<role>`. The detector is checked on snippets first,
 * and must find run-folder.ts itself, so the test cannot pass by finding nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FILES = { 'config.json': 'config', 'env.json': 'env', 'log.txt': 'log', 'metrics.csv': 'metrics', 'result.json': 'result' } as const;
type RunFile = keyof typeof FILES;
const WRITE = /\b(?:writeJsonAtomic|writeFileAtomicSync|writeFileAtomic|writeFileSync|writeFile|appendFileSync|appendFile|renameSync|rename|copyFileSync|copyFile|createWriteStream|openSync)\s*\(/g;
const BIND = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*([^;]*)/g;

/** Source less its comments (block comments, and `//` comments that start a line or follow whitespace). */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

/** The arguments of the call whose `(` is at `open` - 1, as text (nesting and strings respected), up to its closing `)`. */
function callArgs(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = open;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) { args.push(text.slice(start, i)); return args; }
      depth--;
    } else if (c === ',' && depth === 0) { args.push(text.slice(start, i)); start = i + 1; }
  }
  return args;
}

/** Which of the run files `src` writes. */
export function writtenRunFiles(src: string): RunFile[] {
  const text = code(src);
  const found: RunFile[] = [];
  for (const [name, role] of Object.entries(FILES) as Array<[RunFile, string]>) {
    const direct = new RegExp(`['"\`/]${name.replace('.', '\\.')}['"\`]|\\bRUN_FILES\\.${role}\\b`);
    const tainted = new Set<string>();
    const mentions = (expr: string): boolean => direct.test(expr) || [...tainted].some((v) => new RegExp(`(^|[^\\w$.])${v.replace('$', '\\$')}\\b`).test(expr));
    for (let grew = true; grew;) {
      grew = false;
      for (const m of text.matchAll(BIND)) if (!tainted.has(m[1]!) && mentions(m[2]!)) { tainted.add(m[1]!); grew = true; }
    }
    // the destination of a write: the first argument, and the second of rename/copy
    if ([...text.matchAll(WRITE)].some((m) => callArgs(text, m.index! + m[0].length).slice(0, /rename|copy/.test(m[0]) ? 2 : 1).some(mentions))) found.push(name);
  }
  return found;
}

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'testing', 'fixtures', 'generated'].includes(e.name) ? [] : sources(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

describe('one writer per run-folder file', () => {
  it('the detector finds writes through literals, bindings and RUN_FILES, and not reads', () => {
    expect(writtenRunFiles(`const f = path.join(dir, 'result.json');\nconst tmp = \`\${f}.tmp-\${pid}\`;\nfs.writeFileSync(tmp, t);\nfs.renameSync(tmp, f);`)).toEqual(['result.json']);
    expect(writtenRunFiles(`writeJsonAtomic(path.join(d, 'env.json'), env);`)).toEqual(['env.json']);
    expect(writtenRunFiles(`await writeFileAtomic(join(out, RUN_FILES.metrics), csv);`)).toEqual(['metrics.csv']);
    expect(writtenRunFiles(`const configPath = join(out, "config.json");\nawait writeFile(configPath, s);`)).toEqual(['config.json']);
    expect(writtenRunFiles(`const fd = fs.openSync(path.join(dir, 'log.txt'), 'a');`)).toEqual(['log.txt']);
    expect(writtenRunFiles(`const r = JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8'));\nfs.writeFileSync(path.join(d, 'cell.json'), x);`)).toEqual([]);
    expect(writtenRunFiles(`// fs.writeFileSync(path.join(d, 'result.json'), x) in a comment\n/** writeFile('config.json') */`)).toEqual([]);
  });

  it('only packages/train/src/run-folder.ts writes config.json, env.json, log.txt, metrics.csv and result.json', () => {
    const roots = [...fs.readdirSync(path.join(ROOT, 'packages')).map((p) => path.join(ROOT, 'packages', p, 'src')), path.join(ROOT, 'benchmarks', 'src')];
    const files = roots.flatMap(sources);
    expect(files.length).toBeGreaterThan(50);
    const writers: Record<string, string[]> = {};
    for (const f of files) for (const name of writtenRunFiles(fs.readFileSync(f, 'utf8'))) (writers[name] ??= []).push(path.relative(ROOT, f));
    const only = ['packages/train/src/run-folder.ts'];
    expect(writers).toEqual({ 'config.json': only, 'env.json': only, 'log.txt': only, 'metrics.csv': only, 'result.json': only });
  });
});
