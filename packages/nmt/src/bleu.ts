/**
 * BLEU (Papineni et al. 2002, "BLEU: a Method for Automatic Evaluation of Machine
 * Translation"), computed as sacreBLEU 2.x computes it (Post 2018, "A Call for
 * Clarity in Reporting BLEU Scores"), plus the "tokenized BLEU" of Moses'
 * `multi-bleu.perl` that NMT papers on IWSLT'14 De→En report.
 *
 * BLEU = BP · exp( (1/N) Σ_{n=1}^{N} log p_n ),
 *   p_n = Σ_seg Σ_{g ∈ n-grams(hyp)} min(c_hyp(g), max_ref c_ref(g)) / Σ_seg |n-grams(hyp)|,
 *   BP = 1 if c ≥ r else exp(1 − r/c), c = total hypothesis length, r = total
 *   length of the closest reference of each segment (ties: the shorter one).
 */

/** Tokenizers applied before counting n-grams: `'13a'` (mteval-v13a, sacreBLEU's default) or `'none'` (whitespace split). */
export type BleuTokenize = '13a' | 'none';
/**
 * Smoothing of zero n-gram matches (Chen & Cherry 2014, "A Systematic Comparison
 * of Smoothing Techniques for Sentence-Level BLEU"): `'exp'` (method 3, NIST
 * geometric: the k-th zero precision becomes 1/(2^k · total_n); sacreBLEU's
 * default), `'floor'` (method 1: smoothValue/total_n, default 0.1), `'add-k'`
 * (method 2: (m_n+k)/(t_n+k) for n > 1, default k = 1), `'none'`.
 */
export type BleuSmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/** Options of {@link corpusBleu}; the defaults are sacreBLEU's. */
export interface BleuOptions {
  /** Default `'13a'`. */
  tokenize?: BleuTokenize;
  /** Default `'exp'`. */
  smoothMethod?: BleuSmoothMethod;
  /** Value for `'floor'` (default 0.1) and `'add-k'` (default 1); ignored otherwise. */
  smoothValue?: number;
  /** Lowercase hypotheses and references first. Default false. */
  lowercase?: boolean;
  /** Highest n-gram order N. Default 4. */
  maxNgramOrder?: number;
  /** Average only over orders with at least one hypothesis n-gram (for sentence BLEU). Default false. */
  effectiveOrder?: boolean;
}

/** A BLEU score with its sufficient statistics (sacreBLEU's `BLEUScore`). */
export interface BleuResult {
  /** BLEU × 100. */
  score: number;
  /** Matched n-grams per order (after add-k smoothing, as sacreBLEU reports them). */
  counts: number[];
  /** Hypothesis n-grams per order (after add-k smoothing). */
  totals: number[];
  /** Smoothed precisions × 100 per order. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Total hypothesis length c (tokens). */
  sysLen: number;
  /** Total closest-reference length r (tokens). */
  refLen: number;
  /** c / r (0 when r = 0). */
  ratio: number;
  /** sacreBLEU's reproducibility signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3`. */
  signature: string;
  /** sacreBLEU's one-line report: `BLEU|<signature> = 48.53 74.3/57.1/… (BP = 1.000 ratio = … hyp_len = … ref_len = …)`. */
  text: string;
}

/** The sacreBLEU release whose BLEU definition (and signature format) this module reproduces. */
export const SACREBLEU_VERSION = '2.4.3';

/** Python's `str.isspace()` characters: what `str.split()` / `str.rstrip()` treat as whitespace. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_RSTRIP = new RegExp(`[${PY_SPACE}]+$`, 'u');

/** Splits on runs of whitespace and drops empty pieces, as Python's `str.split()` does. */
export function whitespaceTokens(line: string): string[] {
  return line.split(PY_SPLIT).filter((t) => t.length > 0);
}

/**
 * The mteval-v13a tokenizer as sacreBLEU defines it (`tok:13a`):
 * remove `<skipped>`, join `-\n` line breaks, newlines → spaces, unescape
 * `&quot; &amp; &lt; &gt;`; then
 * 1. split off every character in { ` `-`&`, `(`-`+`, `/`, `:`-`@`, `[`-`` ` ``, `{`-`~` }
 *    (punctuation and symbols except `'`, `-`, `.`, `,`);
 * 2. split `.`/`,` preceded by a non-digit; 3. split `.`/`,` followed by a non-digit;
 * 4. split `-` preceded by a digit; finally collapse whitespace.
 */
export function tokenize13a(line: string): string {
  let s = line
    .replaceAll('<skipped>', '')
    .replaceAll('-\n', '')
    .replaceAll('\n', ' ')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');
  s = ` ${s} `;
  s = s.replace(/([{-~[-` -&(-+:-@/])/gu, ' $1 ');
  s = s.replace(/([^0-9])([.,])/gu, '$1 $2 ');
  s = s.replace(/([.,])([^0-9])/gu, ' $1 $2');
  s = s.replace(/([0-9])(-)/gu, '$1 $2 ');
  return whitespaceTokens(s).join(' ');
}

interface Resolved {
  tokenize: BleuTokenize;
  smoothMethod: BleuSmoothMethod;
  smoothValue: number | undefined;
  lowercase: boolean;
  maxNgramOrder: number;
  effectiveOrder: boolean;
}

const SMOOTH_DEFAULTS: Record<BleuSmoothMethod, number | undefined> = { none: undefined, floor: 0.1, 'add-k': 1, exp: undefined };

function resolve(opts: BleuOptions, fn: string): Resolved {
  const tokenize = opts.tokenize ?? '13a';
  if (tokenize !== '13a' && tokenize !== 'none') {
    throw new Error(`${fn}: options.tokenize = '${String(tokenize)}' is not supported; use '13a' (sacreBLEU default) or 'none'.`);
  }
  const smoothMethod = opts.smoothMethod ?? 'exp';
  if (!(smoothMethod in SMOOTH_DEFAULTS)) {
    throw new Error(`${fn}: options.smoothMethod = '${String(smoothMethod)}' is unknown; use one of ${Object.keys(SMOOTH_DEFAULTS).join(', ')}.`);
  }
  const maxNgramOrder = opts.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxNgramOrder) || maxNgramOrder < 1) {
    throw new Error(`${fn}: options.maxNgramOrder = ${String(maxNgramOrder)} is invalid; it must be an integer ≥ 1 (default 4).`);
  }
  if (opts.smoothValue !== undefined && !(Number.isFinite(opts.smoothValue) && opts.smoothValue >= 0)) {
    throw new Error(`${fn}: options.smoothValue = ${String(opts.smoothValue)} is invalid; it must be a finite number ≥ 0.`);
  }
  return {
    tokenize,
    smoothMethod,
    smoothValue: opts.smoothValue ?? SMOOTH_DEFAULTS[smoothMethod],
    lowercase: opts.lowercase ?? false,
    maxNgramOrder,
    effectiveOrder: opts.effectiveOrder ?? false,
  };
}

/** Python-style `:.Nf` formatting (round half to even is not reproduced for exact binary ties). */
const fixed = (x: number, d: number): string => x.toFixed(d);

/** sacreBLEU's signature string for these options and this number of references (`'var'` if it varies). */
export function bleuSignature(opts: BleuOptions, nrefs: number | 'var'): string {
  const o = resolve(opts, 'bleuSignature');
  let smooth: string = o.smoothMethod;
  if (SMOOTH_DEFAULTS[o.smoothMethod] !== undefined) smooth += `[${fixed(o.smoothValue!, 2)}]`;
  return `nrefs:${nrefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.effectiveOrder ? 'yes' : 'no'}|tok:${o.tokenize}|smooth:${smooth}|version:${SACREBLEU_VERSION}`;
}

/** log with sacreBLEU's `my_log` convention: log 0 = −9999999999. */
const myLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));

/**
 * BLEU from sufficient statistics (sacreBLEU's `BLEU.compute_bleu`): `correct[n-1]`
 * and `total[n-1]` are matched and hypothesis n-gram counts of order n summed over
 * the corpus; `sysLen`/`refLen` the total hypothesis / closest-reference lengths.
 * Returns 0 when no n-gram of any order matches. Smoothing and effective order as
 * in {@link BleuOptions}. The returned `signature` has `nrefs:1`.
 */
export function computeBleu(correct: number[], total: number[], sysLen: number, refLen: number, opts: BleuOptions = {}): BleuResult {
  const o = resolve(opts, 'computeBleu');
  const N = o.maxNgramOrder;
  if (correct.length !== N || total.length !== N) {
    throw new Error(`computeBleu: correct (${correct.length}) and total (${total.length}) must both have maxNgramOrder = ${N} entries.`);
  }
  return scoreFromStats(correct.slice(), total.slice(), sysLen, refLen, o, 1);
}

function scoreFromStats(correct: number[], total: number[], sysLen: number, refLen: number, o: Resolved, nrefs: number | 'var'): BleuResult {
  const N = o.maxNgramOrder;
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(N).fill(0);
  let score = 0;
  if (correct.some((c) => c !== 0)) {
    let smoothMteval = 1;
    let effOrder = N;
    for (let n = 1; n <= N; n++) {
      if (o.smoothMethod === 'add-k' && n > 1) {
        correct[n - 1]! += o.smoothValue!;
        total[n - 1]! += o.smoothValue!;
      }
      if (total[n - 1] === 0) break;
      if (o.effectiveOrder) effOrder = n;
      if (correct[n - 1] === 0) {
        if (o.smoothMethod === 'exp') {
          smoothMteval *= 2;
          precisions[n - 1] = 100 / (smoothMteval * total[n - 1]!);
        } else if (o.smoothMethod === 'floor') {
          precisions[n - 1] = (100 * o.smoothValue!) / total[n - 1]!;
        }
      } else {
        precisions[n - 1] = (100 * correct[n - 1]!) / total[n - 1]!;
      }
    }
    let s = 0;
    for (let i = 0; i < effOrder; i++) s += myLog(precisions[i]!);
    score = bp * Math.exp(s / effOrder);
  }
  const ratio = refLen ? sysLen / refLen : 0;
  const signature = bleuSignature(o, nrefs);
  const verbose = `${precisions.map((p) => fixed(p, 1)).join('/')} (BP = ${fixed(bp, 3)} ratio = ${fixed(ratio, 3)} hyp_len = ${sysLen} ref_len = ${refLen})`;
  return {
    score,
    counts: correct,
    totals: total,
    precisions,
    bp,
    sysLen,
    refLen,
    ratio,
    signature,
    text: `BLEU|${signature} = ${fixed(score, 2)} ${verbose}`,
  };
}

/** n-gram counts of orders 1..N; keys are the tokens joined by spaces (tokens contain none). */
function ngramCounts(tokens: string[], N: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= N; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const g = tokens.slice(i, i + n).join(' ');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
  }
  return m;
}

function preprocess(s: string, o: Resolved): string[] {
  let t = o.lowercase ? s.toLowerCase() : s;
  t = t.replace(PY_RSTRIP, '');
  return whitespaceTokens(o.tokenize === '13a' ? tokenize13a(t) : t);
}

/** One segment's BLEU sufficient statistics: matched and hypothesis n-grams per order, hypothesis and closest-reference length. */
export interface BleuSegmentStats {
  correct: number[];
  total: number[];
  sysLen: number;
  refLen: number;
}

/**
 * Per-segment sufficient statistics as sacreBLEU's `corpus_bleu(hyps, refs, **opts)` collects them before summing:
 * `refs` is a list of reference streams, `refs[k][i]` the k-th reference of segment i (so one reference set is
 * `[refLines]`). Empty references of a segment are skipped; a segment with none throws. Per segment: clipped n-gram
 * matches against the max count over its references and the closest reference length (ties → shorter). Summed over
 * any multiset of segments and scored with {@link computeBleu}, they give that multiset's corpus BLEU — what a
 * paired bootstrap over test sentences resamples.
 */
export function segmentBleuStats(hyps: readonly string[], refs: readonly (readonly string[])[], opts: BleuOptions = {}): BleuSegmentStats[] {
  return collectSegments(hyps, refs, resolve(opts, 'segmentBleuStats'), 'segmentBleuStats').segments;
}

function collectSegments(hyps: readonly string[], refs: readonly (readonly string[])[], o: Resolved, fn: string): { segments: BleuSegmentStats[]; nrefs: number | 'var' } {
  if (refs.length === 0) throw new Error(`${fn}: refs is empty; pass at least one reference stream (refs[k][i] = k-th reference of segment i).`);
  refs.forEach((stream, k) => {
    if (stream.length !== hyps.length) {
      throw new Error(`${fn}: reference stream ${k} has ${stream.length} segments but there are ${hyps.length} hypotheses; every stream must be line-aligned with the hypotheses.`);
    }
  });
  const N = o.maxNgramOrder;
  const segments: BleuSegmentStats[] = [];
  const nrefsSeen = new Set<number>();
  for (let i = 0; i < hyps.length; i++) {
    const lines = refs.map((s) => s[i]).filter((x): x is string => typeof x === 'string' && x !== '');
    if (lines.length === 0) throw new Error(`${fn}: segment ${i} has only empty references; every segment needs at least one non-empty reference.`);
    nrefsSeen.add(lines.length);
    const refNgrams = new Map<string, number>();
    const refLens: number[] = [];
    for (const line of lines) {
      const toks = preprocess(line, o);
      refLens.push(toks.length);
      for (const [g, c] of ngramCounts(toks, N)) refNgrams.set(g, Math.max(refNgrams.get(g) ?? 0, c));
    }
    const hyp = hyps[i];
    if (typeof hyp !== 'string') throw new Error(`${fn}: hypothesis ${i} is ${String(hyp)}, not a string.`);
    const htoks = preprocess(hyp, o);
    let closest = -1;
    let closestDiff = -1;
    for (const r of refLens) {
      const d = Math.abs(htoks.length - r);
      if (closestDiff === -1 || d < closestDiff) {
        closestDiff = d;
        closest = r;
      } else if (d === closestDiff && r < closest) {
        closest = r;
      }
    }
    const seg: BleuSegmentStats = { correct: new Array<number>(N).fill(0), total: new Array<number>(N).fill(0), sysLen: htoks.length, refLen: closest };
    for (const [g, c] of ngramCounts(htoks, N)) {
      let n = 1;
      for (let j = 0; j < g.length; j++) if (g.charCodeAt(j) === 32) n++;
      seg.total[n - 1]! += c;
      const rc = refNgrams.get(g);
      if (rc !== undefined) seg.correct[n - 1]! += Math.min(c, rc);
    }
    segments.push(seg);
  }
  const nrefs: number | 'var' = nrefsSeen.size === 1 ? [...nrefsSeen][0]! : nrefsSeen.size === 0 ? refs.length : 'var';
  return { segments, nrefs };
}

/**
 * Sums per-segment statistics, segment `idx[k]` once per occurrence (all segments once when `idx` is omitted), into
 * the corpus totals {@link computeBleu} scores.
 */
export function sumBleuStats(segments: readonly BleuSegmentStats[], idx?: ArrayLike<number>): BleuSegmentStats {
  const N = segments[0]?.correct.length ?? 4;
  const out: BleuSegmentStats = { correct: new Array<number>(N).fill(0), total: new Array<number>(N).fill(0), sysLen: 0, refLen: 0 };
  const n = idx ? idx.length : segments.length;
  for (let k = 0; k < n; k++) {
    const s = segments[idx ? idx[k]! : k]!;
    for (let j = 0; j < N; j++) {
      out.correct[j]! += s.correct[j]!;
      out.total[j]! += s.total[j]!;
    }
    out.sysLen += s.sysLen;
    out.refLen += s.refLen;
  }
  return out;
}

/**
 * Corpus BLEU exactly as sacreBLEU's `corpus_bleu(hyps, refs, **opts)`: the per-segment statistics of
 * {@link segmentBleuStats} summed over the corpus and scored by {@link computeBleu} (variable reference count →
 * `nrefs:var`). Defaults: 13a tokenization, exp smoothing, N = 4, mixed case.
 */
export function corpusBleu(hyps: readonly string[], refs: readonly (readonly string[])[], opts: BleuOptions = {}): BleuResult {
  const o = resolve(opts, 'corpusBleu');
  const { segments, nrefs } = collectSegments(hyps, refs, o, 'corpusBleu');
  const t = sumBleuStats(segments);
  if (segments.length === 0) {
    t.correct = new Array<number>(o.maxNgramOrder).fill(0);
    t.total = new Array<number>(o.maxNgramOrder).fill(0);
  }
  return scoreFromStats(t.correct, t.total, t.sysLen, t.refLen, o, nrefs);
}

/**
 * Sentence BLEU of one hypothesis against its references (sacreBLEU's
 * `BLEU.sentence_score`): corpus BLEU of a one-segment corpus. Pass
 * `effectiveOrder: true`, as sacreBLEU recommends for sentences.
 */
export function sentenceBleu(hyp: string, refs: readonly string[], opts: BleuOptions = {}): BleuResult {
  return corpusBleu([hyp], refs.map((r) => [r]), opts);
}

/**
 * "Tokenized BLEU" as Moses' `multi-bleu.perl` computes it, the number NMT
 * papers report on IWSLT'14 De→En (fairseq's `--scoring bleu` on the tokenized,
 * lowercased text): hypotheses and references are already tokenized and are split
 * on whitespace only; no smoothing (any order without a match gives 0); N = 4;
 * closest reference length. Equals `corpusBleu(…, {tokenize: 'none', smoothMethod: 'none'})`.
 */
export function tokenizedBleu(hyps: readonly string[], refs: readonly (readonly string[])[]): BleuResult {
  return corpusBleu(hyps, refs, { tokenize: 'none', smoothMethod: 'none' });
}
