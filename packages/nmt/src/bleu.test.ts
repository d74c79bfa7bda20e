/**
 * BLEU against sacreBLEU's published test vectors (test/fixtures/sacrebleu-vectors.json,
 * transcribed from sacreBLEU's own test suite, see its `_origin`) and hand-derived cases.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bleuSignature, computeBleu, corpusBleu, segmentBleuStats, sentenceBleu, sumBleuStats, tokenize13a, tokenizedBleu, whitespaceTokens, type BleuOptions, type BleuSmoothMethod, type BleuTokenize } from './bleu.ts';

interface Vectors {
  readme: { hyps: string[]; refs: string[][] };
  corpus: { hyps: 'readme' | string[]; opts: BleuOptions; expected: number }[];
  maxNgramOrder: [number, string][];
  raw: { opts: BleuOptions; smoothValue: number; cases: { hyps: string[]; refs: string[][]; expected: number }[] };
  statistics: { hyps: string[]; refs: string[][]; opts: BleuOptions; smoothValue: number; counts: number[]; totals: number[] };
  offset: { hyps: string[]; refs: string[][]; opts: BleuOptions; cases: { smoothValue: number | null; expected: number }[] };
  scoring: { correct: number[]; total: number[]; sysLen: number; refLen: number; opts: BleuOptions; expected: number };
  degenerate: { opts: BleuOptions; cases: [number[], number[], number, number, number, number][] };
  sentence: { hyp: string; ref: string; effectiveOrder: boolean; cases: [BleuSmoothMethod, number | null, boolean, BleuTokenize, number][] };
  readmeReport: { score: string; signatureWithoutVersion: string };
  sentenceZero: { hyp: string; ref: string; effectiveOrder: boolean; cases: [BleuSmoothMethod, number | null, number][] };
}
const V = JSON.parse(readFileSync(new URL('../test/fixtures/sacrebleu-vectors.json', import.meta.url), 'utf8')) as Vectors;
const sv = (x: number | null) => (x === null ? {} : { smoothValue: x });

describe('sacreBLEU test vectors (test_bleu.py)', () => {
  it('corpus BLEU of the README example', () => {
    for (const c of V.corpus) {
      const hyps = c.hyps === 'readme' ? V.readme.hyps : c.hyps;
      expect(Math.abs(corpusBleu(hyps, V.readme.refs, c.opts).score - c.expected)).toBeLessThan(1e-6);
    }
  });

  it('max n-gram order 1..6', () => {
    for (const [order, expected] of V.maxNgramOrder) {
      expect(corpusBleu(V.readme.hyps, V.readme.refs, { maxNgramOrder: order }).score.toFixed(2)).toBe(expected);
    }
  });

  it('raw BLEU and effective order (floor 0.01, no tokenization)', () => {
    for (const c of V.raw.cases) {
      const s = corpusBleu(c.hyps, c.refs, { ...V.raw.opts, smoothValue: V.raw.smoothValue }).score / 100;
      expect(Math.abs(s - c.expected)).toBeLessThan(1e-8);
    }
  });

  it('sufficient statistics', () => {
    const r = corpusBleu(V.statistics.hyps, V.statistics.refs, { ...V.statistics.opts, smoothValue: V.statistics.smoothValue });
    expect(r.counts).toEqual(V.statistics.counts);
    expect(r.totals).toEqual(V.statistics.totals);
  });

  it('floor offset', () => {
    for (const c of V.offset.cases) {
      const s = corpusBleu(V.offset.hyps, V.offset.refs, { ...V.offset.opts, ...sv(c.smoothValue) }).score / 100;
      expect(Math.abs(s - c.expected)).toBeLessThan(1e-8);
    }
  });

  it('scoring from statistics and degenerate statistics', () => {
    const s = V.scoring;
    expect(Math.abs(computeBleu(s.correct, s.total, s.sysLen, s.refLen, s.opts).score / 100 - s.expected)).toBeLessThan(1e-8);
    for (const [correct, total, sys, ref, value, expected] of V.degenerate.cases) {
      expect(computeBleu(correct, total, sys, ref, { ...V.degenerate.opts, smoothValue: value }).score / 100).toBe(expected);
    }
  });
});

describe('per-segment statistics (what a bootstrap over sentences resamples)', () => {
  const { hyps, refs } = V.readme;
  it("each segment's statistics are that segment's own corpus statistics", () => {
    const segs = segmentBleuStats(hyps, refs);
    expect(segs).toHaveLength(hyps.length);
    segs.forEach((s, i) => {
      const one = corpusBleu([hyps[i]!], refs.map((r) => [r[i]!]));
      expect(s).toEqual({ correct: one.counts, total: one.totals, sysLen: one.sysLen, refLen: one.refLen });
    });
  });

  it('summed over any multiset of segments, they score as corpus BLEU of that multiset (sacreBLEU README value for all)', () => {
    const segs = segmentBleuStats(hyps, refs);
    const all = sumBleuStats(segs);
    expect(computeBleu(all.correct, all.total, all.sysLen, all.refLen).score).toBeCloseTo(corpusBleu(hyps, refs).score, 12);
    expect(Math.abs(computeBleu(all.correct, all.total, all.sysLen, all.refLen).score - V.corpus[0]!.expected)).toBeLessThan(1e-6);
    for (const idx of [[2, 0, 0], [1, 1, 1, 2], [0]]) {
      const t = sumBleuStats(segs, idx);
      const direct = corpusBleu(idx.map((i) => hyps[i]!), refs.map((r) => idx.map((i) => r[i]!)));
      expect(computeBleu(t.correct, t.total, t.sysLen, t.refLen).score).toBeCloseTo(direct.score, 12);
      expect([t.sysLen, t.refLen]).toEqual([direct.sysLen, direct.refLen]);
    }
  });
});

describe('sacreBLEU test vectors (test_sentence_bleu.py)', () => {
  it('sentence BLEU with every smoothing method', () => {
    const S = V.sentence;
    for (const [smoothMethod, value, lowercase, tokenize, expected] of S.cases) {
      const r = sentenceBleu(S.hyp, [S.ref], { smoothMethod, ...sv(value), lowercase, tokenize, effectiveOrder: S.effectiveOrder });
      expect(Math.abs(r.score - expected), `${smoothMethod} ${String(value)} ${tokenize}`).toBeLessThan(1e-3);
    }
  });

  it('zero BLEU when nothing matches, whatever the smoothing', () => {
    const S = V.sentenceZero;
    for (const [smoothMethod, value, expected] of S.cases) {
      expect(sentenceBleu(S.hyp, [S.ref], { smoothMethod, ...sv(value), effectiveOrder: S.effectiveOrder }).score).toBe(expected);
    }
  });
});

describe('13a tokenizer (hand-derived from its regexes)', () => {
  it.each([
    ['The dog bit the man.', 'The dog bit the man .'],
    ["It wasn't surprising.", "It wasn't surprising ."],
    ['3.5, 10-20', '3.5 , 10 - 20'],
    ['$5 (approx.) a/b', '$ 5 ( approx . ) a / b'],
    ['&quot;Hi&quot; &amp; bye', '" Hi " & bye'],
    ['x<skipped>y', 'xy'],
    ['well-\nknown\nfact', 'wellknown fact'],
    ['a-b, 1,000.5!', 'a-b , 1,000.5 !'],
    ['Ein Mann – mit «Hut»?', 'Ein Mann – mit «Hut» ?'],
    ['  spaced\u00a0out\t ', 'spaced out'],
    ['[x]{y}~`z`^_', '[ x ] { y } ~ ` z ` ^ _'],
  ])('%j → %j', (input, expected) => {
    expect(tokenize13a(input)).toBe(expected);
  });

  it('splits whitespace like Python str.split()', () => {
    expect(whitespaceTokens('a\u3000b\u2003c\x1fd\ufeffe')).toEqual(['a', 'b', 'c', 'd\ufeffe']);
  });
});

describe('tokenized BLEU (multi-bleu.perl)', () => {
  it('matches a hand computation', () => {
    // hyp 6 tokens, ref 7: p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3; BP = exp(1 − 7/6)
    const r = tokenizedBleu(['a b c d e f'], [['a b c d x f g']]);
    expect(r.counts).toEqual([5, 3, 2, 1]);
    expect(r.totals).toEqual([6, 5, 4, 3]);
    const expected = 100 * Math.exp(1 - 7 / 6) * Math.pow((5 / 6) * (3 / 5) * (2 / 4) * (1 / 3), 1 / 4);
    expect(r.score).toBeCloseTo(expected, 10);
    expect(r.bp).toBeCloseTo(Math.exp(-1 / 6), 12);
  });

  it('is 0 without a 4-gram match, where sacreBLEU smooths; punctuation is not re-split', () => {
    // 4-grams of the hypothesis: 'the cat sat on', 'cat sat on the', 'sat on the mat': none in the reference
    const hyp = ['the cat sat on the mat'];
    const ref = [['the cat is on the mat']];
    expect(tokenizedBleu(hyp, ref).score).toBe(0);
    expect(corpusBleu(hyp, ref).score).toBeGreaterThan(0);
    // "mat." is one token for tokenized BLEU, two for 13a
    expect(tokenizedBleu(['the mat.'], [['the mat .']]).counts[0]).toBe(1);
    expect(corpusBleu(['the mat.'], [['the mat .']]).counts[0]).toBe(3);
  });

  it('uses the closest reference length (ties → shorter) and max-clipped counts over references', () => {
    // hyp length 4; refs of length 3 and 5 are equally close → r = 3, so BP = 1
    const r = tokenizedBleu(['a a b c'], [['a b c'], ['a a a b c']]);
    expect(r.refLen).toBe(3);
    expect(r.bp).toBe(1);
    expect(r.counts[0]).toBe(4); // 'a' ×2 is clipped by the second reference's 3, not the first's 1
  });
});

describe('signature and report', () => {
  it('formats the sacreBLEU signature', () => {
    expect(corpusBleu(V.readme.hyps, V.readme.refs).signature).toBe('nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3');
    expect(bleuSignature({ smoothMethod: 'floor', lowercase: true, effectiveOrder: true, tokenize: 'none' }, 1)).toBe('nrefs:1|case:lc|eff:yes|tok:none|smooth:floor[0.10]|version:2.4.3');
    expect(bleuSignature({ smoothMethod: 'add-k', smoothValue: 2 }, 'var')).toBe('nrefs:var|case:mixed|eff:no|tok:13a|smooth:add-k[2.00]|version:2.4.3');
    expect(corpusBleu(['a b'], [['a b'], ['']]).signature.startsWith('nrefs:1|')).toBe(true);
    expect(corpusBleu(['a b', 'c'], [['a b', 'c'], ['', 'd']]).signature.startsWith('nrefs:var|')).toBe(true);
  });

  it('reports the verbose line', () => {
    const r = corpusBleu(V.readme.hyps, V.readme.refs);
    const [, rest] = V.readmeReport.score.split('BLEU = ');
    expect(r.text).toBe(`BLEU|${V.readmeReport.signatureWithoutVersion}|version:2.4.3 = ${rest!}`);
  });

  it('rejects misaligned or empty references with a clear message', () => {
    expect(() => corpusBleu(['a', 'b'], [['a']])).toThrow(/reference stream 0 has 1 segments but there are 2 hypotheses/);
    expect(() => corpusBleu(['a'], [['']])).toThrow(/segment 0 has only empty references/);
    expect(() => corpusBleu(['a'], [['a']], { tokenize: 'intl' as BleuTokenize })).toThrow(/options\.tokenize = 'intl' is not supported/);
  });
});
