/**
 * Shared pieces of the search algorithms: option validation, the token mask
 * (pad/bos never generated, EOS forced at the length limit) and the length penalty.
 */
import type { IncrementalDecoder } from './decode-types.ts';

/** Options common to greedy decoding and beam search. */
export interface SearchOptions {
  /**
   * Maximum number of generated tokens before the final `eos` (fairseq's `max_len`):
   * at step `maxLen` every live hypothesis is forced to end with `eos`, so a
   * hypothesis has at most `maxLen` tokens plus `eos`. Integer ≥ 1.
   */
  maxLen: number;
  /**
   * Minimum number of tokens before `eos` may be chosen (fairseq's `min_len`):
   * `eos` has log-probability −∞ at steps `< minLen`. Default 0.
   */
  minLen?: number;
  /**
   * Length penalty α (fairseq's `--lenpen`): hypotheses are ranked by
   * `logProb / L^α`, L = generated tokens + 1 (the `eos`). α = 0: raw
   * log-probability; α > 1 favours longer, α < 1 shorter output. Default 1.
   */
  lenPenalty?: number;
}

/** Validated, defaulted {@link SearchOptions}. */
export interface ResolvedSearchOptions {
  maxLen: number;
  minLen: number;
  lenPenalty: number;
}

/** Validates search options and the decoder's special ids; throws errors naming the field, value and valid range. */
export function resolveSearchOptions(
  decoder: IncrementalDecoder<unknown>,
  src: { ids: Int32Array[] },
  opts: SearchOptions,
  fn: string,
): ResolvedSearchOptions {
  const maxLen = opts.maxLen;
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new Error(`${fn}: options.maxLen = ${String(maxLen)} is invalid; it must be an integer ≥ 1 (the maximum number of tokens before EOS).`);
  }
  const minLen = opts.minLen ?? 0;
  if (!Number.isInteger(minLen) || minLen < 0 || minLen > maxLen) {
    throw new Error(`${fn}: options.minLen = ${String(minLen)} is invalid; it must be an integer in [0, maxLen = ${maxLen}].`);
  }
  const lenPenalty = opts.lenPenalty ?? 1;
  if (!Number.isFinite(lenPenalty)) {
    throw new Error(`${fn}: options.lenPenalty = ${String(lenPenalty)} is invalid; it must be a finite number (fairseq's --lenpen, usually 0 to 2; default 1).`);
  }
  const V = decoder.vocabSize;
  if (!Number.isInteger(V) || V < 2) throw new Error(`${fn}: decoder.vocabSize = ${String(V)} is invalid; it must be an integer ≥ 2.`);
  for (const name of ['bos', 'eos', 'pad'] as const) {
    const id = decoder[name];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(`${fn}: decoder.${name} = ${String(id)} is outside the vocabulary [0, ${V - 1}].`);
    }
  }
  if (src.ids.length === 0) throw new Error(`${fn}: src.ids is empty; pass at least one source sentence.`);
  return { maxLen, minLen, lenPenalty };
}

/** `logProb / len^α`, fairseq's normalised hypothesis score (len counts the final EOS). */
export function lengthNormalise(logProb: number, len: number, alpha: number): number {
  return alpha === 0 ? logProb : logProb / Math.pow(len, alpha);
}

/**
 * Adjusted log-probability of token `v` at decoding step `step` (0-based):
 * −∞ for `pad` and `bos`, −∞ for `eos` before `minLen`, −∞ for everything but
 * `eos` at `maxLen`; otherwise `lp` itself.
 */
export function maskedLogProb(
  lp: number,
  v: number,
  step: number,
  o: ResolvedSearchOptions,
  d: { bos: number; eos: number; pad: number },
): number {
  if (v === d.pad || (v === d.bos && d.bos !== d.eos)) return -Infinity;
  if (v === d.eos) return step < o.minLen ? -Infinity : lp;
  return step >= o.maxLen ? -Infinity : lp;
}

/** Checks a `step` result's shape against the expected rows and vocabulary. */
export function checkLogProbsShape(shape: number[], rows: number, vocab: number, fn: string): void {
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== vocab) {
    throw new Error(`${fn}: decoder.step returned logProbs of shape [${shape.join(', ')}]; expected [${rows}, ${vocab}] (rows of the state × vocabSize).`);
  }
}
