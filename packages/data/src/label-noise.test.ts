import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelNoise, loadLabelNoise, saveLabelNoise } from './label-noise.ts';

const K = 10;
const clean = Int32Array.from({ length: 5000 }, (_, i) => (i * 7) % K); // 500 per class

describe('labelNoise', () => {
  for (const rate of [0.2, 0.4, 0.6, 0.8]) {
    it(`symmetric ${rate}: realised rate exact, balanced per class, new labels uniform over the OTHER classes`, () => {
      const r = labelNoise(clean, K, { rate, kind: 'symmetric', seed: 1 });
      expect(r.realisedRate).toBeCloseTo(rate, 10);
      const perClass = new Array(K).fill(0);
      const trans = Array.from({ length: K }, () => new Array(K).fill(0));
      for (let i = 0; i < clean.length; i++) {
        const c = clean[i] as number, l = r.labels[i] as number;
        expect(r.flipped[i] === 1).toBe(c !== l); // flipped ⇔ label changed (never "flipped" to itself)
        if (r.flipped[i]) perClass[c]++;
        trans[c]![l]++;
      }
      for (const n of perClass) expect(n).toBe(Math.round(rate * 500));
      // off-diagonal transitions: each ≈ rate*500/9; chi-square over 90 cells, 99.9% quantile of χ²(81) ≈ 124
      const e = (rate * 500) / (K - 1);
      let chi = 0;
      for (let c = 0; c < K; c++) for (let l = 0; l < K; l++) if (c !== l) chi += ((trans[c]![l] as number) - e) ** 2 / e;
      expect(chi).toBeLessThan(124);
    });
  }

  it('pairflip sends c to c+1 mod K only', () => {
    const r = labelNoise(clean, K, { rate: 0.45, kind: 'pairflip', seed: 9 });
    expect(r.realisedRate).toBeCloseTo(0.45, 10);
    for (let i = 0; i < clean.length; i++) {
      if (r.flipped[i]) expect(r.labels[i]).toBe(((clean[i] as number) + 1) % K);
      else expect(r.labels[i]).toBe(clean[i]);
    }
  });

  it('the mask is reproducible from the seed and changes with it; input is not modified', () => {
    const copy = clean.slice();
    const a = labelNoise(clean, K, { rate: 0.4, kind: 'symmetric', seed: 5 });
    const b = labelNoise(clean, K, { rate: 0.4, kind: 'symmetric', seed: 5 });
    const c = labelNoise(clean, K, { rate: 0.4, kind: 'symmetric', seed: 6 });
    expect(b.labels).toEqual(a.labels);
    expect(b.flipped).toEqual(a.flipped);
    expect(c.flipped).not.toEqual(a.flipped);
    expect(clean).toEqual(copy);
  });

  it('rate 0 is the identity; bad inputs are rejected with the value and range', () => {
    const r = labelNoise(clean, K, { rate: 0, kind: 'symmetric', seed: 1 });
    expect(r.labels).toEqual(clean);
    expect(r.realisedRate).toBe(0);
    expect(() => labelNoise(clean, K, { rate: 1, kind: 'symmetric', seed: 1 })).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => labelNoise(Int32Array.of(0, 10), K, { rate: 0.2, kind: 'symmetric', seed: 1 })).toThrow(/labels\[1\] = 10 is outside 0\.\.9/);
    expect(() => labelNoise(clean, K, { rate: 0.2, kind: 'asym' as 'pairflip', seed: 1 })).toThrow(/kind must be/);
  });

  it('save/load round-trips the mask and refuses a mismatched dataset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asam-noise-'));
    const p = join(dir, 'label-noise.json');
    const r = labelNoise(clean, K, { rate: 0.6, kind: 'symmetric', seed: 3 });
    await saveLabelNoise(p, r, { kind: 'symmetric', rate: 0.6, seed: 3, numClasses: K });
    const back = await loadLabelNoise(p, clean);
    expect(back.labels).toEqual(r.labels);
    expect(back.flipped).toEqual(r.flipped);
    expect(back.realisedRate).toBeCloseTo(r.realisedRate, 12);
    expect(back.meta.seed).toBe(3);
    await expect(loadLabelNoise(p, clean.subarray(0, 10))).rejects.toThrow(/n=5000 labels, but 10 were given/);
    writeFileSync(p, '{"format":"other"}');
    await expect(loadLabelNoise(p, clean)).rejects.toThrow(/format is "other"/);
  });
});
