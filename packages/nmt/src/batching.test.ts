import { describe, expect, it } from 'vitest';
import { padBatch, planBatches, type TokenizedPair } from './batching.ts';

function pairs(n: number, seed = 1): TokenizedPair[] {
  let x = seed;
  const r = (): number => ((x = (x * 1103515245 + 12345) % 2147483648), x / 2147483648);
  return Array.from({ length: n }, () => {
    const s = 2 + Math.floor(r() * 30);
    const t = 2 + Math.floor(r() * 30);
    return { src: Int32Array.from({ length: s }, (_, i) => 4 + i), tgt: Int32Array.from({ length: t }, (_, i) => 40 + i) };
  });
}

describe('planBatches', () => {
  const ps = pairs(500);
  it('covers every pair exactly once and respects maxTokens (padded size)', () => {
    const bs = planBatches(ps, { maxTokens: 200, shuffle: true, seed: 7, epoch: 0 });
    const seen = bs.flat().sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
    for (const b of bs) {
      const w = Math.max(...b.map((i) => Math.max(ps[i]!.src.length, ps[i]!.tgt.length)));
      expect(w * b.length).toBeLessThanOrEqual(200);
    }
    // Length bucketing keeps padding low: padded tokens / real tokens well below what random batching gives.
    const waste = (list: number[][]): number => {
      let pad = 0, real = 0;
      for (const b of list) {
        const sl = Math.max(...b.map((i) => ps[i]!.src.length));
        for (const i of b) { pad += sl - ps[i]!.src.length; real += ps[i]!.src.length; }
      }
      return pad / real;
    };
    expect(waste(bs)).toBeLessThan(0.05);
  });

  it('is deterministic for (seed, epoch) and differs across epochs and seeds', () => {
    const a = planBatches(ps, { maxTokens: 200, shuffle: true, seed: 7, epoch: 3 });
    const b = planBatches(ps, { maxTokens: 200, shuffle: true, seed: 7, epoch: 3 });
    const c = planBatches(ps, { maxTokens: 200, shuffle: true, seed: 7, epoch: 4 });
    const d = planBatches(ps, { maxTokens: 200, shuffle: true, seed: 8, epoch: 3 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(d);
  });

  it('honours maxSentences and rejects a pair longer than maxTokens', () => {
    const bs = planBatches(ps, { maxTokens: 10000, maxSentences: 16, shuffle: false, seed: 0, epoch: 0 });
    expect(Math.max(...bs.map((b) => b.length))).toBe(16);
    expect(() => planBatches(ps, { maxTokens: 20, shuffle: false, seed: 0, epoch: 0 })).toThrow(/maxTokens = 20/);
    expect(() => planBatches(ps, { maxTokens: 0, shuffle: false, seed: 0, epoch: 0 })).toThrow(/maxTokens = 0/);
  });
});

describe('padBatch', () => {
  it('pads right and shifts the target for teacher forcing', () => {
    const ps: TokenizedPair[] = [
      { src: Int32Array.from([5, 6, 2]), tgt: Int32Array.from([7, 8, 9, 2]) },
      { src: Int32Array.from([5, 2]), tgt: Int32Array.from([7, 2]) },
    ];
    const b = padBatch(ps, [0, 1], { pad: 0, bos: 1 });
    expect([b.rows, b.srcLen, b.tgtLen, b.targetTokens, b.sourceTokens]).toEqual([2, 3, 4, 6, 5]);
    expect(Array.from(b.src)).toEqual([5, 6, 2, 5, 2, 0]);
    expect(Array.from(b.prevTokens)).toEqual([1, 7, 8, 9, 1, 7, 0, 0]);
    expect(Array.from(b.target)).toEqual([7, 8, 9, 2, 7, 2, 0, 0]);
  });
});
