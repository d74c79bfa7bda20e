/**
 * Translation as a model for @asam/train: a Transformer and the mean label-smoothed cross-entropy per non-padding
 * target token (Vaswani et al. 2017; fairseq's `label_smoothed_cross_entropy`). Batches hold `src` [n, S],
 * `prevTokens` [n, T] (BOS + target without its EOS) and `target` [n, T] int32, right-padded; a slice weighs its
 * non-padding target tokens, so micro-batches and worker shards combine to the whole batch's per-token mean.
 *
 * Dropout masks are a function of (seed, step, part) and, under `perturbedDropout: 'resample'`, the pass (@asam/train's
 * `dropoutStream`): under 'reuse' (the default) both passes of a SAM/ASAM step see the same masks; a resumed run draws
 * the masks of the uninterrupted one. This module is also the replica module the runtime's worker
 * threads load (`createTaskModel`).
 */
import { dropoutStream, type PerturbedDropout, type TaskModel } from '@asam/train';
import * as tf from '@tensorflow/tfjs-core';
import { meanLabelSmoothedLoss } from './loss.ts';
import type { TransformerArch } from './presets.ts';
import { Transformer } from './transformer.ts';

/** What builds the model (structured-cloneable: worker threads receive it). */
export interface TranslationModelOptions {
  arch: TransformerArch;
  /** Joint source/target vocabulary. */
  vocabSize: number;
  padId: number;
  seed: number;
  labelSmoothing: number;
  /** Dropout masks of the perturbed pass: 'reuse' the clean pass's or 'resample' (the config's `optimizer.perturbedDropout`). */
  perturbedDropout: PerturbedDropout;
}

/** A translation model for the runtime, with the Transformer for decoding. */
export interface TranslationTaskModel extends TaskModel {
  readonly transformer: Transformer;
}

/** Dropout seed of a step's slice: a fixed function of (run seed, step, slice, dropout stream); stream 0 is the clean pass's. */
export function dropoutSeed(seed: number, step: number, part = 0, stream: 0 | 1 = 0): number {
  return ((seed + 1) * 1000003 + step * 7919 + part * 104729 + stream * 15485863) % 2147483647;
}

/** Builds the Transformer of {@link TranslationModelOptions}; weights depend on `seed` only. */
export function createTaskModel(o: TranslationModelOptions): TranslationTaskModel {
  const transformer = new Transformer({ arch: o.arch, srcVocabSize: o.vocabSize, tgtVocabSize: o.vocabSize, padId: o.padId, seed: o.seed, name: 'transformer' });
  return {
    transformer,
    variables: transformer.namedVariables(),
    trainable: transformer.variables,
    statistics: [],
    trainableParams: transformer.numParams(),
    forward(t, ctx) {
      transformer.setDropoutState({ seed: dropoutSeed(o.seed, ctx.step, ctx.part, dropoutStream(ctx, o.perturbedDropout)) });
      const enc = transformer.encode(t['src'] as tf.Tensor2D, true);
      const logits = transformer.decode(t['prevTokens'] as tf.Tensor2D, enc, true);
      const target = tf.reshape(t['target']!, [-1]) as tf.Tensor1D;
      return { loss: meanLabelSmoothedLoss(logits, target, { epsilon: o.labelSmoothing, padId: o.padId }) };
    },
    weightOf: (t) => tf.tidy(() => tf.sum(tf.cast(tf.notEqual(t['target']!, o.padId), 'int32')).dataSync()[0]!),
    dispose: () => transformer.dispose(),
  };
}
