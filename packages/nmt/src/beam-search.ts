/**
 * Beam search as in fairseq's `SequenceGenerator` (Ott et al. 2019, "fairseq: A
 * Fast, Extensible Toolkit for Sequence Modeling").
 */
import type { Hypothesis, IncrementalDecoder } from './decode-types.ts';
import { checkLogProbsShape, lengthNormalise, maskedLogProb, resolveSearchOptions, type SearchOptions } from './decode-util.ts';

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions extends SearchOptions {
  /** Beam width k (fairseq `--beam`, 5 in the IWSLT recipe). Integer ≥ 1. */
  beam: number;
}

/** A live (unfinished) hypothesis of one sentence. */
interface Live {
  tokens: number[];
  pos: number[];
  /** Cumulative log-probability; −∞ marks a dead filler beam. */
  cum: number;
}

/**
 * Keeps the `k` largest values of `scores[0..n)` (ties: lower index first),
 * returned in descending order. O(n·k) worst case, O(n) typical.
 */
function topK(scores: Float64Array, k: number): { idx: number[]; val: number[] } {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i]!;
    if (x === -Infinity) continue;
    let j: number;
    if (idx.length < k) {
      idx.push(i);
      val.push(x);
      j = idx.length - 1;
    } else if (x > val[k - 1]!) {
      j = k - 1; // the current k-th value is dropped
    } else {
      continue;
    }
    // move x left past strictly smaller values; an equal value keeps its earlier (lower) index first
    while (j > 0 && val[j - 1]! < x) {
      val[j] = val[j - 1]!;
      idx[j] = idx[j - 1]!;
      j--;
    }
    val[j] = x;
    idx[j] = i;
  }
  return { idx, val };
}

/**
 * Beam search with beam width k, batched over sentences, following fairseq's
 * `SequenceGenerator`:
 *
 * - Each sentence keeps k live hypotheses, started from `bos` (at step 0 only one
 *   of the k identical beams is expanded). At each step every live hypothesis h is
 *   extended by every token v with cumulative score s(h) + log p(v | h, x); the
 *   2k best (beam, token) candidates of the sentence are taken (ties: lower beam,
 *   then lower token id).
 * - A candidate ending in `eos` among the first k is finalised with score
 *   `s / L^α` (L = generated tokens incl. `eos`, α = `lenPenalty`), unless the
 *   sentence already has k finished hypotheses. The first k candidates not ending
 *   in `eos` become the next live beams.
 * - A sentence is finished when it has k finished hypotheses (fairseq's stopping
 *   rule: no further search once k hypotheses ended) or at step `maxLen`, where
 *   `eos` is forced for every live beam. Finished sentences are dropped from the
 *   decoder state with `select`.
 * - `pad` and `bos` are never generated; `eos` is forbidden before `minLen`.
 *
 * Returns, per source sentence (input order), its finished hypotheses sorted by
 * `score` descending (at most k; fewer only if the distribution leaves fewer
 * candidates with non-zero probability).
 */
export async function beamSearch<S>(
  decoder: IncrementalDecoder<S>,
  src: { ids: Int32Array[] },
  opts: BeamSearchOptions,
): Promise<Hypothesis[][]> {
  const o = resolveSearchOptions(decoder as IncrementalDecoder<unknown>, src, opts, 'beamSearch');
  const k = opts.beam;
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`beamSearch: options.beam = ${String(k)} is invalid; it must be an integer ≥ 1 (5 in the IWSLT recipe).`);
  }
  const V = decoder.vocabSize;
  const n = src.ids.length;
  const finished: Hypothesis[][] = Array.from({ length: n }, () => []);
  // live[a] = the k live hypotheses of active sentence a; rows a*k..a*k+k-1 of the state
  let active = Array.from({ length: n }, (_, i) => i);
  let live: Live[][] = active.map(() =>
    Array.from({ length: k }, (_, b) => ({ tokens: [], pos: [], cum: b === 0 ? 0 : -Infinity })),
  );
  const scores = new Float64Array(k * V);
  let state: S | undefined = decoder.start(src);
  // `state` always holds the one live state (undefined while a call that consumes it runs).
  try {
    {
      const cur = state as S;
      state = undefined;
      state = decoder.select(cur, Int32Array.from({ length: n * k }, (_, r) => Math.floor(r / k)));
    }
    let last = new Int32Array(n * k).fill(decoder.bos);
    for (let step = 0; ; step++) {
      const cur = state as S;
      state = undefined;
      const r = decoder.step(cur, last);
      state = r.state;
      let lp: Float32Array;
      try {
        checkLogProbsShape(r.logProbs.shape, active.length * k, V, 'beamSearch');
        lp = (await r.logProbs.data()) as Float32Array;
      } finally {
        r.logProbs.dispose();
      }
      const nextActive: number[] = [];
      const nextLive: Live[][] = [];
      const rowsIdx: number[] = [];
      const nextLast: number[] = [];
      for (let a = 0; a < active.length; a++) {
        const s = active[a]!;
        const beams = live[a]!;
        for (let b = 0; b < k; b++) {
          const cum = beams[b]!.cum;
          const base = (a * k + b) * V;
          for (let v = 0; v < V; v++) {
            scores[b * V + v] = cum === -Infinity ? -Infinity : cum + maskedLogProb(lp[base + v]!, v, step, o, decoder);
          }
        }
        const cand = topK(scores, 2 * k);
        const cont: Live[] = [];
        const contRow: number[] = [];
        for (let j = 0; j < cand.idx.length; j++) {
          const flat = cand.idx[j]!;
          const b = Math.floor(flat / V);
          const v = flat - b * V;
          const h = beams[b]!;
          const tokLp = maskedLogProb(lp[(a * k + b) * V + v]!, v, step, o, decoder);
          if (v === decoder.eos) {
            if (j < k && finished[s]!.length < k) {
              const logProb = cand.val[j]!;
              finished[s]!.push({
                tokens: h.tokens.slice(),
                logProb,
                score: lengthNormalise(logProb, h.tokens.length + 1, o.lenPenalty),
                positionalScores: [...h.pos, tokLp],
              });
            }
          } else if (cont.length < k) {
            cont.push({ tokens: [...h.tokens, v], pos: [...h.pos, tokLp], cum: cand.val[j]! });
            contRow.push(a * k + b);
          }
        }
        if (finished[s]!.length >= k || cont.length === 0) continue; // sentence done
        while (cont.length < k) {
          // fewer than k continuations with non-zero probability: dead fillers (copies of the
          // best live beam with score −∞, never expanded) keep the row count at k
          cont.push({ tokens: cont[0]!.tokens, pos: cont[0]!.pos, cum: -Infinity });
          contRow.push(contRow[0]!);
        }
        nextActive.push(s);
        nextLive.push(cont);
        for (let b = 0; b < k; b++) {
          rowsIdx.push(contRow[b]!);
          const t = cont[b]!.tokens;
          nextLast.push(t[t.length - 1]!);
        }
      }
      if (nextActive.length === 0) break;
      const prev = state as S;
      state = undefined;
      state = decoder.select(prev, Int32Array.from(rowsIdx));
      active = nextActive;
      live = nextLive;
      last = Int32Array.from(nextLast);
    }
  } finally {
    if (state !== undefined) decoder.dispose(state);
  }
  for (const f of finished) f.sort((x, y) => y.score - x.score); // stable: equal scores keep finalisation order
  return finished;
}
