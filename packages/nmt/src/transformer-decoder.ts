/**
 * The Transformer as an {@link IncrementalDecoder}: the state caches the encoder-decoder keys/values and the past
 * self-attention keys/values of every decoder layer, so each step computes one target position only.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { IncrementalDecoder } from './decode-types.ts';
import type { Transformer, TransformerDecoderState } from './transformer.ts';

/** Special token ids the decoder needs. */
export interface SpecialIds {
  bos: number;
  eos: number;
  pad: number;
}

/**
 * Adapts a {@link Transformer} to the search contract. States are mutable objects that `step` and `select` update
 * in place and return (the consumed state and the returned one are the same object, so ownership is trivially
 * respected). Source ids are right-padded with `pad` into one int32 batch.
 */
export class TransformerIncrementalDecoder implements IncrementalDecoder<TransformerDecoderState> {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;

  constructor(
    readonly model: Transformer,
    ids: SpecialIds,
  ) {
    this.vocabSize = model.tgtVocabSize;
    this.bos = ids.bos;
    this.eos = ids.eos;
    this.pad = ids.pad;
    if (ids.pad !== model.padId) throw new Error(`Decoder pad id ${ids.pad} differs from the model's padId ${model.padId}.`);
  }

  /** Pads the sources into one [rows, maxLen] int32 tensor and encodes them. */
  start(src: { ids: Int32Array[] }): TransformerDecoderState {
    const n = src.ids.length;
    const len = Math.max(1, ...src.ids.map((s) => s.length));
    const buf = new Int32Array(n * len).fill(this.pad);
    src.ids.forEach((s, i) => buf.set(s, i * len));
    const t = tf.tensor2d(buf, [n, len], 'int32');
    try {
      return this.model.startDecoding(t);
    } finally {
      t.dispose();
    }
  }

  step(state: TransformerDecoderState, lastTokens: Int32Array): { logProbs: tf.Tensor2D; state: TransformerDecoderState } {
    const logProbs = this.model.decodeStep(state, lastTokens);
    return { logProbs, state };
  }

  select(state: TransformerDecoderState, indices: Int32Array): TransformerDecoderState {
    this.model.reorderState(state, indices);
    return state;
  }

  dispose(state: TransformerDecoderState): void {
    this.model.disposeState(state);
  }

  rows(state: TransformerDecoderState): number {
    return state.batch;
  }
}
