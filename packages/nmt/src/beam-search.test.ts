/**
 * Search algorithms against hand-written probability tables. Every expected
 * hypothesis and score below is derived by hand in the comments (fairseq's
 * rules: 2k candidates per step, EOS among the first k finalised, stop at k
 * finished, score = logProb / L^α with L counting EOS).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { beamSearch } from './beam-search.ts';
import { greedyDecode } from './decode-greedy.ts';
import { TableDecoder, type ProbTable } from './decode-table.ts';
import type { Hypothesis } from './decode-types.ts';

const VOCAB = ['<pad>', '<s>', '</s>', 'a', 'b', 'c'];
const A = 3, B = 4, C = 5;
const ln = Math.log;

/** Greedy takes a (0.6) then </s> (0.35): p = 0.21. Beam 2 finds b </s>: p = 0.36. */
const T1: ProbTable = {
  '': { a: 0.6, b: 0.4 },
  a: { '</s>': 0.35, a: 0.33, b: 0.32 },
  b: { '</s>': 0.9, a: 0.1 },
  'a a': { '</s>': 1 },
  'a b': { '</s>': 1 },
  'b a': { '</s>': 1 },
};

/**
 * Beam 2, step 1 candidates: [b c] .36, [a </s>] .275, [a c] .2475, [b </s>] .09, [a b] .0275
 *   → finalise [a] (p .275, j=1 < k); live [b c], [a c]; [b </s>] is at j=3 ≥ k: not finalised.
 * Step 2: [b c c] .288, [a c </s>] .1485, [a c c] .099, [b c </s>] .072
 *   → finalise [a c] (p .1485); 2 finished = k: stop ([b c c] is never completed).
 * α=0: [a] ln .275 = -1.2910 beats [a c] ln .1485 = -1.9072.
 * α=1: [a c] ln(.1485)/3 = -0.6357 beats [a] ln(.275)/2 = -0.6455.
 */
const T2: ProbTable = {
  '': { a: 0.55, b: 0.45 },
  a: { '</s>': 0.5, c: 0.45, b: 0.05 },
  b: { c: 0.8, '</s>': 0.2 },
  'a b': { '</s>': 1 },
  'a c': { '</s>': 0.6, c: 0.4 },
  'b c': { c: 0.8, '</s>': 0.2 },
  'a c c': { '</s>': 1 },
  'b c c': { '</s>': 0.8, c: 0.2 },
};

/** Never wants to stop: p(a) = .9, p(</s>) = .1 after any prefix. */
const LOOP: ProbTable = () => ({ a: 0.9, '</s>': 0.1 });

/** Only one continuation has non-zero probability. */
const NARROW: ProbTable = { '': { a: 1 }, a: { '</s>': 1 } };

function dec(): TableDecoder {
  return new TableDecoder({ vocab: VOCAB, tables: [T1, T2, LOOP, NARROW] });
}
const src = (...tables: number[]) => ({ ids: tables.map((t) => Int32Array.of(t)) });

function expectHyp(h: Hypothesis | undefined, tokens: number[], logProb: number, score: number): void {
  expect(h).toBeDefined();
  expect(h!.tokens).toEqual(tokens);
  expect(h!.logProb).toBeCloseTo(logProb, 5);
  expect(h!.score).toBeCloseTo(score, 5);
  expect(h!.positionalScores).toHaveLength(tokens.length + 1);
  expect(h!.positionalScores.reduce((a, b) => a + b, 0)).toBeCloseTo(h!.logProb, 5);
}

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

describe('greedyDecode', () => {
  it('takes the argmax at each step (T1: a </s>)', async () => {
    const d = dec();
    const [h] = await greedyDecode(d, src(0), { maxLen: 10 });
    expectHyp(h, [A], ln(0.6) + ln(0.35), (ln(0.6) + ln(0.35)) / 2);
    expect(h!.positionalScores[0]).toBeCloseTo(ln(0.6), 6);
    expect(d.liveStates).toBe(0);
  });

  it('forces EOS at maxLen with the model’s own EOS log-probability', async () => {
    const [h] = await greedyDecode(dec(), src(2), { maxLen: 3, lenPenalty: 0 });
    expectHyp(h, [A, A, A], 3 * ln(0.9) + ln(0.1), 3 * ln(0.9) + ln(0.1));
  });

  it('forbids EOS before minLen', async () => {
    // step 1 would pick </s> (.35); with minLen 2 it picks a (.33), then 'a a' → </s> (1)
    const [h] = await greedyDecode(dec(), src(0), { maxLen: 10, minLen: 2, lenPenalty: 0 });
    expectHyp(h, [A, A], ln(0.6) + ln(0.33), ln(0.6) + ln(0.33));
  });

  it('batches sentences and drops finished rows', async () => {
    const d = dec();
    const hs = await greedyDecode(d, src(0, 2, 1), { maxLen: 4, lenPenalty: 0 });
    expect(hs.map((h) => h.tokens)).toEqual([[A], [A, A, A, A], [A]]);
    // T2 greedy: a (.55) then </s> (.5)
    expectHyp(hs[2], [A], ln(0.55) + ln(0.5), ln(0.55) + ln(0.5));
    expect(d.stepRows).toEqual([3, 3, 1, 1, 1]);
  });
});

describe('beamSearch', () => {
  it('finds the better hypothesis that greedy misses (T1, k=2)', async () => {
    const d = dec();
    const [hs] = await beamSearch(d, src(0), { beam: 2, maxLen: 10 });
    expect(hs).toHaveLength(2);
    expectHyp(hs![0], [B], ln(0.4) + ln(0.9), (ln(0.4) + ln(0.9)) / 2);
    expectHyp(hs![1], [A], ln(0.6) + ln(0.35), (ln(0.6) + ln(0.35)) / 2);
    const [g] = await greedyDecode(d, src(0), { maxLen: 10 });
    expect(g!.tokens).toEqual([A]);
    expect(d.liveStates).toBe(0);
  });

  it('length penalty changes the winner (T2, k=2)', async () => {
    const pShort = ln(0.55) + ln(0.5);
    const pLong = ln(0.55) + ln(0.45) + ln(0.6);
    const [h0] = await beamSearch(dec(), src(1), { beam: 2, maxLen: 10, lenPenalty: 0 });
    expect(h0!.map((h) => h.tokens)).toEqual([[A], [A, C]]);
    expectHyp(h0![0], [A], pShort, pShort);
    expectHyp(h0![1], [A, C], pLong, pLong);
    const [h1] = await beamSearch(dec(), src(1), { beam: 2, maxLen: 10, lenPenalty: 1 });
    expect(h1!.map((h) => h.tokens)).toEqual([[A, C], [A]]);
    expectHyp(h1![0], [A, C], pLong, pLong / 3);
    expectHyp(h1![1], [A], pShort, pShort / 2);
    expect(h1![0]!.score).toBeCloseTo(-0.63573, 4);
    // α = 2 as well: L^2 = 9 vs 4
    const [h2] = await beamSearch(dec(), src(1), { beam: 2, maxLen: 10, lenPenalty: 2 });
    expectHyp(h2![0], [A, C], pLong, pLong / 9);
  });

  it('keeps finished hypotheses of different lengths; k=3 on T2', async () => {
    // step 0: a .55, b .45 (2 finite of 6 candidates) → live [a], [b] + a dead filler.
    // step 1: [b c] .36, [a </s>] .275, [a c] .2475, [b </s>] .09, [a b] .0275
    //   → finalise [a] (j=1 < 3); [b </s>] is at j=3 ≥ k: skipped; live [b c], [a c], [a b].
    // step 2: [b c c] .288, [a c </s>] .1485, [a c c] .099, [b c </s>] .072, [a b </s>] .0275
    //   → finalise [a c] (j=1); [b c </s>] at j=3: skipped; live [b c c], [a c c] + filler.
    // step 3: [b c c </s>] .2304, [a c c </s>] .099, [b c c c] .0576
    //   → finalise [b c c]: 3 = k finished, so [a c c] is not added and the sentence stops.
    const [hs] = await beamSearch(dec(), src(1), { beam: 3, maxLen: 10, lenPenalty: 1 });
    const pBcc = ln(0.45) + ln(0.8) + ln(0.8) + ln(0.8);
    expect(hs!.map((h) => h.tokens)).toEqual([[B, C, C], [A, C], [A]]);
    expectHyp(hs![0], [B, C, C], pBcc, pBcc / 4);
  });

  it('forces EOS at maxLen and can return the empty hypothesis', async () => {
    // LOOP, k=2, maxLen 3. step 0: a .9, </s> .1 → finalise [] (ln .1, L=1). step 1: [a a] .81, [a </s>] .09
    //   → finalise [a] (ln .09 / 2 = -1.204). 2 finished: stop.
    const [hs] = await beamSearch(dec(), src(2), { beam: 2, maxLen: 3 });
    expectHyp(hs![0], [A], ln(0.9) + ln(0.1), (ln(0.9) + ln(0.1)) / 2);
    expectHyp(hs![1], [], ln(0.1), ln(0.1));
    // k=1 runs to the limit: a a a, then EOS forced at step 3
    const [h1] = await beamSearch(dec(), src(2), { beam: 1, maxLen: 3, lenPenalty: 0 });
    expectHyp(h1![0], [A, A, A], 3 * ln(0.9) + ln(0.1), 3 * ln(0.9) + ln(0.1));
    // minLen 1 removes the empty hypothesis: step 1 finalises [a]; step 2 [a a </s>]
    const [hm] = await beamSearch(dec(), src(2), { beam: 2, maxLen: 3, minLen: 1, lenPenalty: 0 });
    expect(hm!.map((h) => h.tokens)).toEqual([[A], [A, A]]);
  });

  it('returns fewer than k hypotheses when fewer have non-zero probability', async () => {
    const d = dec();
    const [hs] = await beamSearch(d, src(3), { beam: 3, maxLen: 5 });
    expect(hs).toHaveLength(1);
    expectHyp(hs![0], [A], 0, 0);
    expect(d.liveStates).toBe(0);
  });

  it('batches 2 sentences with different outcomes and drops the finished one', async () => {
    const d = dec();
    const res = await beamSearch(d, src(0, 1), { beam: 2, maxLen: 10, lenPenalty: 1 });
    expect(res.map((hs) => hs.map((h) => h.tokens))).toEqual([[[B], [A]], [[A, C], [A]]]);
    expectHyp(res[0]![0], [B], ln(0.36), ln(0.36) / 2);
    expectHyp(res[1]![0], [A, C], ln(0.1485), ln(0.1485) / 3);
    // T1 ends at step 1, T2 at step 2: rows 4, 4, then 2
    expect(d.stepRows).toEqual([4, 4, 2]);
    // same answers as one sentence at a time, in either order
    const rev = await beamSearch(dec(), src(1, 0), { beam: 2, maxLen: 10, lenPenalty: 1 });
    expect(rev[0]).toEqual(res[1]);
    expect(rev[1]).toEqual(res[0]);
  });

  it('beam 1 equals greedy decoding', async () => {
    for (const [t, minLen] of [[0, 0], [1, 0], [2, 0], [0, 2], [3, 0]] as const) {
      const [g] = await greedyDecode(dec(), src(t), { maxLen: 4, minLen });
      const [b] = await beamSearch(dec(), src(t), { beam: 1, maxLen: 4, minLen });
      expect(b).toHaveLength(1);
      expect(b![0]!.tokens).toEqual(g!.tokens);
      expect(b![0]!.score).toBeCloseTo(g!.score, 6);
    }
  });

  it('is exhaustive when k covers every complete hypothesis (random tables, brute force)', async () => {
    // Random depth-limited trees over {a, b}: every prefix of length < 3 ends with prob p_eos, else a/b;
    // at length 3 EOS is forced by maxLen. 1 + 2 + 4 + 8 = 15 complete hypotheses; k = 16 keeps all.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 5; trial++) {
      const rows = new Map<string, Record<string, number>>();
      const table: ProbTable = (prefix) => {
        const key = prefix.join(' ');
        let r = rows.get(key);
        if (!r) {
          const w = [rnd() + 0.05, rnd() + 0.05, rnd() + 0.05];
          const s = w[0]! + w[1]! + w[2]!;
          r = { '</s>': w[0]! / s, a: w[1]! / s, b: 1 - w[0]! / s - w[1]! / s };
          rows.set(key, r);
        }
        return r;
      };
      const alpha = [0, 0.5, 1, 1.5, 2][trial]!;
      const d = new TableDecoder({ vocab: VOCAB, tables: [table] });
      const [hs] = await beamSearch(d, src(0), { beam: 16, maxLen: 3, lenPenalty: alpha });
      // brute force in float64
      const all: { tokens: number[]; score: number }[] = [];
      const walk = (prefix: string[], lp: number) => {
        const r = table(prefix);
        const eos = r['</s>']!; // at length 3 EOS is forced, with its own probability
        const toks = prefix.map((w) => (w === 'a' ? A : B));
        all.push({ tokens: toks, score: (lp + ln(eos)) / Math.pow(prefix.length + 1, alpha) });
        if (prefix.length < 3) for (const w of ['a', 'b']) walk([...prefix, w], lp + ln(r[w]!));
      };
      walk([], 0);
      all.sort((x, y) => y.score - x.score);
      expect(hs).toHaveLength(15);
      expect(hs!.map((h) => h.tokens)).toEqual(all.map((h) => h.tokens));
      hs!.forEach((h, i) => expect(h.score).toBeCloseTo(all[i]!.score, 5));
    }
  });

  it('leaks no tensors and consumes every state', async () => {
    const d = dec();
    await beamSearch(d, src(0, 1, 2), { beam: 2, maxLen: 4 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await beamSearch(d, src(0, 1, 2, 3), { beam: 3, maxLen: 4 });
      await greedyDecode(d, src(0, 1, 2, 3), { maxLen: 4 });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(d.liveStates).toBe(0);
  });

  it('disposes the state when the decoder fails mid-search', async () => {
    const d = new TableDecoder({ vocab: VOCAB, tables: [{ '': { a: 1 } }] }); // no row for 'a'
    const before = tf.memory().numTensors;
    await expect(beamSearch(d, src(0), { beam: 2, maxLen: 5 })).rejects.toThrow(/no row for prefix 'a'/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options with the field, value and range', async () => {
    await expect(beamSearch(dec(), src(0), { beam: 0, maxLen: 5 })).rejects.toThrow(/options\.beam = 0 .*integer ≥ 1/);
    await expect(greedyDecode(dec(), src(0), { maxLen: 0 })).rejects.toThrow(/options\.maxLen = 0/);
    await expect(greedyDecode(dec(), src(0), { maxLen: 3, minLen: 4 })).rejects.toThrow(/options\.minLen = 4 .*\[0, maxLen = 3\]/);
    await expect(beamSearch(dec(), { ids: [] }, { beam: 2, maxLen: 3 })).rejects.toThrow(/src\.ids is empty/);
  });
});
