/**
 * The contract between a sequence-to-sequence model and the search algorithms
 * (greedy decoding, beam search) that generate translations with it.
 *
 * The model implements {@link IncrementalDecoder}; `greedyDecode` and `beamSearch`
 * consume it. A decoder state holds everything one decoding step needs per row
 * (the encoder output of the row's source sentence, its padding mask, the cached
 * keys/values of every decoder layer for the prefix generated so far, the number
 * of steps taken), so a step costs one new position, never a recomputation of the
 * prefix.
 *
 * ## Rows
 * A state has `rows` rows. `start` makes one row per source sentence. Beam search
 * expands them with `select` (row i of the result is row `indices[i]` of the
 * input, so `[0,0,0,1,1,1]` turns 2 sentences into 2 × 3 beams) and reorders /
 * shrinks them the same way after each step (beams that survive, sentences that
 * are finished dropped). Rows are independent: the output of a row never depends
 * on another row.
 *
 * ## Ownership and disposal (exact contract)
 * - Every state value is consumed exactly once: by `step`, by `select` or by
 *   `dispose`. `step(state, …)` and `select(state, …)` take ownership of `state`:
 *   the implementation frees whatever tensors of `state` it does not carry into
 *   the state it returns, and the caller never uses or disposes `state` again.
 *   Tensors shared by consecutive states (e.g. the encoder output) therefore live
 *   exactly as long as the last state that holds them; the implementation is
 *   responsible for not freeing them while a live state still refers to them.
 * - `step` returns `logProbs`, a new tensor owned by the caller, who disposes it.
 *   It is not part of the state.
 * - `dispose(state)` frees every tensor of the state (shared ones included, since
 *   no other live state exists then).
 * - Consequently, at any time the caller holds at most one live state per
 *   decoding run, and `tf.memory().numTensors` after `dispose` of the final state
 *   is what it was before `start`.
 * - Search algorithms call `start`, `step`, `select` and `dispose` outside any
 *   `tf.tidy` scope. Implementations may use `tf.tidy` internally and must
 *   `tf.keep` (or create outside tidy) any tensor they put into a returned state.
 *
 * ## Token conventions
 * - The first call to `step` after `start` receives `bos` for every row; each
 *   later call receives the token chosen at the previous step for that row.
 * - `start` receives the source token ids of each sentence exactly as the model
 *   saw source sentences during training (including a trailing `eos` if the
 *   training batches had one, without padding); the implementation pads them.
 * - Search never feeds `pad` or `bos` as a generated token (their log-probability
 *   is treated as −∞) and ends a hypothesis when it chooses `eos`.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** An incremental decoder over state type `S` (see the module comment for the exact ownership contract). */
export interface IncrementalDecoder<S> {
  /**
   * Encodes the source sentences and returns the initial state, with one row per
   * sentence (`rows = src.ids.length`), positioned before the first target token.
   */
  start(src: { ids: Int32Array[] }): S;
  /**
   * One decoding step. `lastTokens[r]` is the token generated last for row r (`bos`
   * at the first step); `lastTokens.length` equals the state's row count.
   * Returns `logProbs` of shape [rows, vocabSize], float32, log-softmax normalised
   * (each row's `exp` sums to 1), owned by the caller, and the new state, advanced by
   * one position. Consumes `state`.
   */
  step(state: S, lastTokens: Int32Array): { logProbs: tf.Tensor2D; state: S };
  /**
   * Row selection: returns a state whose row i is row `indices[i]` of `state`
   * (indices may repeat, appear in any order, or omit rows; `indices.length ≥ 1`).
   * Consumes `state`.
   */
  select(state: S, indices: Int32Array): S;
  /** Frees every tensor held by `state`. Consumes `state`. */
  dispose(state: S): void;
  /** Number of rows of `state` (cheap, no tensor reads). */
  rows(state: S): number;
  /** Size of the target vocabulary: the width of `logProbs`. */
  readonly vocabSize: number;
  /** Beginning-of-sentence id, fed at the first step. */
  readonly bos: number;
  /** End-of-sentence id: choosing it ends a hypothesis. */
  readonly eos: number;
  /** Padding id: never generated. */
  readonly pad: number;
}

/** One generated translation. */
export interface Hypothesis {
  /** Generated token ids, without `bos` and without the final `eos`. */
  tokens: number[];
  /**
   * Sum of the log-probabilities of the generated tokens, the final `eos`
   * included: log p(y|x) = Σ_{t=1}^{|y|+1} log p(y_t | y_<t, x).
   */
  logProb: number;
  /**
   * The score search ranks by: `logProb / L^α`, with L = `tokens.length + 1`
   * (the `eos` counts) and α the length penalty (fairseq's `--lenpen`; α = 0
   * gives the raw log-probability).
   */
  score: number;
  /** Per-position log-probabilities, length `tokens.length + 1` (the last one is `eos`'s). */
  positionalScores: number[];
}
