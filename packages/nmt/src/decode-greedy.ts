/**
 * Greedy decoding: at every step take the most probable token.
 */
import type { Hypothesis, IncrementalDecoder } from './decode-types.ts';
import { checkLogProbsShape, lengthNormalise, maskedLogProb, resolveSearchOptions, type SearchOptions } from './decode-util.ts';

/**
 * Greedy decoding, batched over sentences: y_t = argmax_v log p(v | y_<t, x),
 * until `eos` or the length limit (at step `maxLen` `eos` is forced). `pad` and
 * `bos` are never chosen; ties go to the lowest token id. Finished sentences are
 * dropped from the decoder state (`select`), so late steps only run the rows still
 * going. Equals {@link beamSearch} with `beam: 1`.
 *
 * Returns one hypothesis per source sentence, in input order; `score` is
 * `logProb / (len+1)^lenPenalty` as in beam search (it does not affect the choice).
 */
export async function greedyDecode<S>(
  decoder: IncrementalDecoder<S>,
  src: { ids: Int32Array[] },
  opts: SearchOptions,
): Promise<Hypothesis[]> {
  const o = resolveSearchOptions(decoder as IncrementalDecoder<unknown>, src, opts, 'greedyDecode');
  const V = decoder.vocabSize;
  const n = src.ids.length;
  const tokens: number[][] = Array.from({ length: n }, () => []);
  const pos: number[][] = Array.from({ length: n }, () => []);
  const out: (Hypothesis | undefined)[] = new Array<Hypothesis | undefined>(n);
  let active = Array.from({ length: n }, (_, i) => i); // sentence index of each state row
  let last = new Int32Array(n).fill(decoder.bos);
  let state: S | undefined = decoder.start(src);
  // `state` always holds the one live state (undefined while a call that consumes it runs).
  try {
    for (let step = 0; active.length > 0; step++) {
      const cur = state as S;
      state = undefined; // consumed by step, even if it throws
      const r = decoder.step(cur, last);
      state = r.state;
      let lp: Float32Array;
      try {
        checkLogProbsShape(r.logProbs.shape, active.length, V, 'greedyDecode');
        lp = (await r.logProbs.data()) as Float32Array;
      } finally {
        r.logProbs.dispose();
      }
      const keep: number[] = [];
      const nextLast: number[] = [];
      for (let row = 0; row < active.length; row++) {
        const s = active[row]!;
        let best = -1;
        let bestLp = -Infinity;
        for (let v = 0; v < V; v++) {
          const x = maskedLogProb(lp[row * V + v]!, v, step, o, decoder);
          if (x > bestLp) { bestLp = x; best = v; }
        }
        if (best < 0) {
          throw new Error(`greedyDecode: every token has log-probability −∞ for sentence ${s} at step ${step}; the decoder's distribution leaves nothing to generate.`);
        }
        pos[s]!.push(bestLp);
        if (best === decoder.eos) {
          const logProb = pos[s]!.reduce((a, b) => a + b, 0);
          out[s] = { tokens: tokens[s]!, logProb, score: lengthNormalise(logProb, tokens[s]!.length + 1, o.lenPenalty), positionalScores: pos[s]! };
        } else {
          tokens[s]!.push(best);
          keep.push(row);
          nextLast.push(best);
        }
      }
      if (keep.length === 0) break;
      if (keep.length < active.length) {
        const consumed = state as S;
        state = undefined;
        state = decoder.select(consumed, Int32Array.from(keep));
        active = keep.map((row) => active[row]!);
      }
      last = Int32Array.from(nextLast);
    }
  } finally {
    if (state !== undefined) decoder.dispose(state);
  }
  return out.map((h, i) => {
    if (h === undefined) throw new Error(`greedyDecode: internal error, sentence ${i} has no hypothesis.`);
    return h;
  });
}
