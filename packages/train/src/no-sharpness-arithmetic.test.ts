/**
 * One SAM step, in @asam/core: the training side (this runtime, its workers, the vision and nmt tasks, the benchmarks)
 * takes gradients and hands them to core's step (`minimize`, `beginStep` → ascend / descend); it computes no ε, no ρ
 * scaling, no gradient norm, moves no weight by an increment, and does not decide which pass a forward pass is.
 *
 * The criterion, applied to every non-test source file of packages/train/src, packages/vision/src, packages/nmt/src
 * and benchmarks/src, on its code with comments and string literals removed (docs may speak of ε and ρ):
 *   1. ρ as a factor: `rho` / `ρ` multiplied or divided (`*`, `/`, `tf.mul`, `tf.div`), as ε = ρ·g/‖g‖ needs it
 *      (configs pass ρ along, and reports may sort by it, but nothing scales by it);
 *   2. a norm or a perturbation computed: calls of `norm(`, `globalNorm(`, core's ε pieces (`perturbation(`,
 *      `perturbationFrom(`, `normalizationOperator(s)(`, `ruleFromConfig(`, the removed `perturbWeights(`), core's
 *      optimizer-less phases (`sharpnessAwareStep(`, `new SharpnessAwareStep`; the runtime drives its optimizer's
 *      `beginStep`), or `sqrt(` of a sum (`tf.sqrt(tf.sum(…` / `tf.addN(…`);
 *   3. a weight moved by an increment: `x.assign(tf.add(v, …))` / `tf.sub(v, …)` with a variable as first operand
 *      (w ← w + ε; a moving average `assign(tf.add(tf.mul(…` is not this);
 * and, on the code with comments removed but strings kept:
 *   4. the pass decided outside core: a conditional choosing between 'clean' and 'perturbed', or a pass written as a
 *      literal (`pass: 'perturbed'`) — the pass comes from core (the loss closure's argument, `step.pass`).
 * The detector is itself tested on the code this issue removed (the workers' `perturbWeights`, the runtime's counted
 * passes) and on a hand-written SAM step, so the scan cannot pass by matching nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCANNED = ['packages/train/src', 'packages/vision/src', 'packages/nmt/src', 'benchmarks/src'];
/** Files that compute with ρ for another purpose than a training step, each with the reason. */
const EXEMPT: Record<string, string> = {
  'benchmarks/src/tasks/scale-invariance.ts': 'draws the ρ-ball and the ASAM ellipse of the scale-invariance figure and brute-forces sharpness over them; it takes no training step',
};

/** `src` with comments removed and, unless `keepStrings`, the contents of string and template literals blanked. */
function codeOf(src: string, keepStrings = false): string {
  let out = '';
  let i = 0;
  /** Brace depth of each open `${` of a template literal (code resumes inside it). */
  const templates: number[] = [];
  let depth = 0;
  const literal = (quote: string): void => {
    // from the opening quote (or a template's resumption point) to the closing one
    const start = i;
    i++;
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\\') { i += 2; continue; }
      if (quote === '`' && c === '$' && src[i + 1] === '{') { templates.push(depth); depth++; i += 2; out += keepStrings ? src.slice(start, i) : `${quote}\${`; return; }
      if (c === quote) { i++; out += keepStrings ? src.slice(start, i) : `${quote}${quote}`; return; }
      i++;
    }
    out += keepStrings ? src.slice(start) : quote;
  };
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '/' && next === '*') { const end = src.indexOf('*/', i + 2); i = end < 0 ? src.length : end + 2; out += ' '; continue; }
    if (c === '"' || c === "'" || c === '`') { literal(c); continue; }
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      // the end of a template's `${…}`: the template's text resumes here (literal() skips this brace as its opening quote)
      if (templates.length > 0 && templates[templates.length - 1] === depth) { templates.pop(); literal('`'); continue; }
    }
    out += c;
    i++;
  }
  return out;
}

const RULES: Array<{ name: string; strings: boolean; re: RegExp }> = [
  { name: 'ρ as a factor', strings: false, re: /(?:\brho\b|ρ)!?\s*[*/]|[*/]\s*(?:[\w$]+\s*\.\s*)*(?:\brho\b|ρ)|\btf\.(?:mul|div)\([^;]*(?:\brho\b|ρ)/ },
  { name: 'a norm or a perturbation computed', strings: false, re: /\b(?:norm|globalNorm|perturbation|perturbationFrom|normalizationOperators?|ruleFromConfig|perturbWeights|sharpnessAwareStep)\s*\(|\bnew\s+SharpnessAwareStep\b|\bsqrt\(\s*tf\.(?:sum|addN)\(/ },
  { name: 'a weight moved by an increment', strings: false, re: /\.assign\(\s*tf\.(?:add|sub)\(\s*[\w$][\w$.!\]\[]*\s*,/ },
  { name: 'the pass decided outside core', strings: true, re: /'clean'(?:\s+as\s+const)?\s*:\s*'perturbed'|'perturbed'(?:\s+as\s+const)?\s*:\s*'clean'|\bpass\s*:\s*'(?:clean|perturbed)'(?!\s*\|)/ },
];

/** The rules a source text breaks, each with the offending line. */
function violations(src: string): string[] {
  const found: string[] = [];
  for (const rule of RULES) {
    const code = codeOf(src, rule.strings);
    for (const line of code.split('\n')) if (rule.re.test(line)) found.push(`${rule.name}: ${line.trim()}`);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('the detector', () => {
  it('finds the SAM arithmetic this issue moved into core, and a hand-written step', () => {
    // the data-parallel worker's ascent and its hard-coded pass (before)
    expect(violations('restore = perturbWeights(g, model.trainable, o.sharpness, { guard: model.statistics });')).toHaveLength(1);
    expect(violations("const r = model.forward(k.tensors, { ...k.ctx, pass: 'perturbed' });")).toHaveLength(1);
    // the runtime's counted passes (before)
    expect(violations("const ctx = { step: st.globalStep, pass: seen === 0 ? 'clean' as const : 'perturbed' as const, part: k };")).toHaveLength(1);
    // a SAM step by hand
    const hand = [
      'const n = tf.sqrt(tf.sum(tf.square(g)));',
      'const scale = rho / (n + 1e-12);',
      'const e = tf.mul(g, cfg.rho);',
      'vars.forEach((v, j) => v.assign(tf.add(v, eps[j]!)));',
      'const t = globalNorm(grads);',
      'const step = sharpnessAwareStep(vars, config);',
    ];
    for (const line of hand) expect(violations(line), line).toHaveLength(1);
  });

  it('leaves comments, strings, configs that pass ρ along, the pass type and moving averages alone', () => {
    const fine = [
      '// eps = rho * g / norm(g)',
      '/* w ← w + ε, ρ · g */ const x = 1;',
      "throw new Error(`rho * ${a} must be >= 0 (norm(g))`);",
      "const o = { method: 'sam', rho: cfg.rho, weightDecay: 1e-4 };",
      "pass: 'clean' | 'perturbed';",
      'stats.assign(tf.add(tf.mul(stats, 0.9), tf.mul(tf.mean(x, 0), 0.1)));',
      'lossT = opt.minimize((part, pass) => model.forward(t, { step, pass, part: 0, parts: 1 }).loss, true, vars);',
      'const which = phases.pass;',
      'const f = (a) => a - 1;',
      'rows.sort((a, b) => a.c.rho! - b.c.rho!);',
    ];
    for (const line of fine) expect(violations(line), line).toEqual([]);
  });
});

describe('no sharpness-aware arithmetic outside @asam/core', () => {
  it('the runtime, its workers, the vision and nmt tasks and the benchmarks compute no ε, ρ scaling, norm or pass', () => {
    const files = SCANNED.flatMap((d) => sourceFiles(path.join(ROOT, d)));
    // the scan covers the runtime, the workers and both tasks (a wrong root would find nothing and pass)
    const rel = files.map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
    for (const f of ['packages/train/src/runtime.ts', 'packages/train/src/workers/data-parallel.ts', 'packages/train/src/workers/data-parallel-worker.ts',
      'packages/vision/src/train/task-model.ts', 'packages/nmt/src/task-model.ts']) expect(rel).toContain(f);
    expect(files.length).toBeGreaterThan(50);
    for (const f of Object.keys(EXEMPT)) expect(rel, `exempt file ${f} no longer exists: drop it from EXEMPT`).toContain(f);
    const offenders = rel.flatMap((r, i) => (r in EXEMPT ? [] : violations(readFileSync(files[i]!, 'utf8')).map((v) => `${r}: ${v}`)));
    expect(offenders).toEqual([]);
  });
});
