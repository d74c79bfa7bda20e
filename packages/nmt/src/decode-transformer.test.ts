/**
 * Search on the real Transformer (random tiny model): every hypothesis's reported
 * log-probabilities must equal an independent teacher-forced forward pass of that
 * hypothesis alone (no padding, no cache), so the incremental decoder, the row
 * selection in beam search and the score bookkeeping agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { beamSearch } from './beam-search.ts';
import { greedyDecode } from './decode-greedy.ts';
import type { Hypothesis } from './decode-types.ts';
import { getPreset } from './presets.ts';
import { Transformer } from './transformer.ts';
import { TransformerIncrementalDecoder } from './transformer-decoder.ts';

const V = 11;
const IDS = { pad: 0, bos: 2, eos: 3 };
let model: Transformer;
let decoder: TransformerIncrementalDecoder;
const SRC = [Int32Array.of(5, 6, 7, 8, 3), Int32Array.of(9, 4, 3), Int32Array.of(10, 10, 5, 6, 7, 8, 9, 3)];

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
  model = new Transformer({ arch: getPreset('transformer_tiny').arch, srcVocabSize: V, tgtVocabSize: V, padId: IDS.pad, seed: 7, name: 'decode_test' });
  decoder = new TransformerIncrementalDecoder(model, IDS);
});
afterAll(() => model.dispose());

/** Per-position log p(y_t | y_<t, x) of `tokens` + EOS from one full forward pass of this sentence alone. */
function teacherForced(src: Int32Array, tokens: number[]): number[] {
  return tf.tidy(() => {
    const prev = tf.tensor2d(Int32Array.from([IDS.bos, ...tokens]), [1, tokens.length + 1], 'int32');
    const s = tf.tensor2d(src, [1, src.length], 'int32');
    const lp = tf.logSoftmax(model.forward(s, prev)).arraySync() as number[][];
    return [...tokens, IDS.eos].map((t, i) => lp[i]![t]!);
  });
}

function checkAgainstForward(src: Int32Array, h: Hypothesis): void {
  const ref = teacherForced(src, h.tokens);
  expect(h.positionalScores).toHaveLength(ref.length);
  h.positionalScores.forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 4));
  expect(h.logProb).toBeCloseTo(ref.reduce((a, b) => a + b, 0), 4);
}

describe('search on a Transformer', () => {
  it('beam hypotheses score as a teacher-forced forward pass says (batch of 3, padded sources)', async () => {
    const res = await beamSearch(decoder, { ids: SRC }, { beam: 4, maxLen: 6, lenPenalty: 1 });
    expect(res).toHaveLength(3);
    res.forEach((hs, i) => {
      expect(hs.length).toBeGreaterThan(0);
      for (const h of hs) {
        expect(h.tokens.length).toBeLessThanOrEqual(6);
        expect(h.tokens.every((t) => t !== IDS.pad && t !== IDS.bos && t !== IDS.eos)).toBe(true);
        checkAgainstForward(SRC[i]!, h);
        expect(h.score).toBeCloseTo(h.logProb / (h.tokens.length + 1), 6);
      }
      for (let j = 1; j < hs.length; j++) expect(hs[j]!.score).toBeLessThanOrEqual(hs[j - 1]!.score);
    });
  });

  it('greedy equals beam 1 and matches the forward pass', async () => {
    const g = await greedyDecode(decoder, { ids: SRC }, { maxLen: 6 });
    const b = await beamSearch(decoder, { ids: SRC }, { beam: 1, maxLen: 6 });
    g.forEach((h, i) => {
      expect(b[i]![0]!.tokens).toEqual(h.tokens);
      checkAgainstForward(SRC[i]!, h);
    });
  });

  it('leaks no tensors', async () => {
    await beamSearch(decoder, { ids: SRC }, { beam: 3, maxLen: 4 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      await beamSearch(decoder, { ids: SRC }, { beam: 3, maxLen: 4 });
      await greedyDecode(decoder, { ids: SRC }, { maxLen: 4 });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
