/**
 * Encoder-decoder Transformer (Vaswani et al. 2017, "Attention Is All You Need") built from raw tfjs-core ops and
 * plain `tf.Variable`s, following fairseq's `TransformerModel`:
 *
 *   x0 = s * E[tokens] + PE(pos),  s = sqrt(d_model) (or 1),  PE = [sin(pos * w_i), cos(pos * w_i)],
 *        w_i = exp(-i * ln(10000) / (d/2 - 1))
 *   post-norm layer:  x = LN(x + Drop(SubLayer(x)))          (fairseq default)
 *   pre-norm layer:   x = x + Drop(SubLayer(LN(x)))  and a final LN after the stack
 *   Attention(Q,K,V) = softmax(Q K^T / sqrt(d_head) + M) V,  M = -1e9 on padded keys (and future keys in the decoder)
 *   FFN(x) = W2 Drop(ReLU(W1 x + b1)) + b2
 *   logits = h E_out^T  (E_out tied to the decoder input embedding when shareDecoderInputOutputEmbed)
 *
 * Variable names follow tfjs conventions so that name-based filters work: weight matrices and embeddings end in
 * `kernel` / `embeddings`, biases in `bias`, layer-norm scale/shift in `gamma` / `beta`.
 *
 * Tensors of token ids are int32 `[batch, time]`; sentences are right-padded with `padId`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type TransformerArch, validateArch } from './presets.ts';

/** Everything needed to build a Transformer. */
export interface TransformerOptions {
  arch: TransformerArch;
  srcVocabSize: number;
  tgtVocabSize: number;
  padId: number;
  /** Seed for the weight initialisation and the dropout masks. */
  seed?: number;
  /** Prefix for variable names; made unique in this process if taken (default 'transformer'). */
  name?: string;
}

/** Additive mask value for disallowed attention positions. exp(-1e9 - max) underflows to exactly 0 in float32. */
export const MASK_VALUE = -1e9;

interface Linear {
  kernel: tf.Variable;
  bias: tf.Variable;
}
interface LayerNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
}
interface Attention {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
}
interface EncoderLayer {
  selfAttn: Attention;
  selfAttnLn: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  ffnLn: LayerNorm;
}
interface DecoderLayer extends EncoderLayer {
  crossAttn: Attention;
  crossAttnLn: LayerNorm;
}

/** Output of the encoder: states and the additive key mask for attending to them. */
export interface EncoderOutput {
  /** [batch, srcLen, dModel] */
  out: tf.Tensor3D;
  /** [batch, 1, 1, srcLen]: 0 for real tokens, MASK_VALUE for padding. */
  keyMask: tf.Tensor4D;
}

/** Cached state of incremental decoding: one position is computed per step. */
export interface TransformerDecoderState {
  /** Number of rows (sentences x beams). */
  batch: number;
  /** Number of target positions already fed. */
  step: number;
  /** [batch, 1, 1, srcLen] additive source mask. */
  keyMask: tf.Tensor4D;
  layers: Array<{
    /** Self-attention keys so far, [batch, heads, dHead, step] (already transposed for Q K^T). */
    selfK: tf.Tensor4D | null;
    /** Self-attention values so far, [batch, heads, step, dHead]. */
    selfV: tf.Tensor4D | null;
    /** Encoder-decoder attention keys [batch, heads, dHead, srcLen] and values [batch, heads, srcLen, dHead]. */
    crossK: tf.Tensor4D;
    crossV: tf.Tensor4D;
  }>;
}

/** Additive key-padding mask [batch, 1, 1, len]: MASK_VALUE where `tokens == padId`, 0 elsewhere. */
export function paddingMask(tokens: tf.Tensor2D, padId: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, t] = tokens.shape;
    const isPad = tf.cast(tf.equal(tokens, tf.scalar(padId, 'int32')), 'float32');
    return tf.reshape(tf.mul(isPad, tf.scalar(MASK_VALUE)), [b, 1, 1, t]) as tf.Tensor4D;
  });
}

/** Additive causal mask [1, 1, len, len]: MASK_VALUE above the diagonal (key j > query i), 0 elsewhere. */
export function causalMask(len: number): tf.Tensor4D {
  const m = new Float32Array(len * len);
  for (let i = 0; i < len; i++) for (let j = i + 1; j < len; j++) m[i * len + j] = MASK_VALUE;
  return tf.tensor4d(m, [1, 1, len, len]);
}

/** fairseq's sinusoidal position table [n, d]: row p = [sin(p w_0..), cos(p w_0..)], w_i = 10000^(-i/(d/2-1)). */
export function sinusoidalPositions(n: number, d: number): Float32Array {
  const half = d / 2;
  const out = new Float32Array(n * d);
  const step = Math.log(10000) / Math.max(half - 1, 1);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * Math.exp(-i * step);
      out[p * d + i] = Math.sin(a);
      out[p * d + half + i] = Math.cos(a);
    }
  }
  return out;
}

function uniqueScope(base: string): string {
  const reg = tf.engine().registeredVariables;
  const taken = (s: string): boolean => Object.keys(reg).some((n) => n.startsWith(`${s}/`));
  if (!taken(base)) return base;
  for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
}

/**
 * The Transformer. Owns its variables (`dispose()` frees them). `forward` is the teacher-forced pass used for
 * training; `startDecoding` / `decodeStep` / `reorderState` are the incremental pass used by search.
 */
export class Transformer {
  readonly arch: TransformerArch;
  readonly srcVocabSize: number;
  readonly tgtVocabSize: number;
  readonly padId: number;
  readonly scope: string;
  /** Trainable variables in a fixed creation order (the order optimizer state is saved in). */
  readonly variables: tf.Variable[] = [];
  /** Variable name without the scope prefix -> variable. */
  private readonly byLocalName = new Map<string, tf.Variable>();
  private readonly srcEmbed: tf.Variable;
  private readonly tgtEmbed: tf.Variable;
  private readonly outEmbed: tf.Variable;
  private readonly encLayers: EncoderLayer[] = [];
  private readonly decLayers: DecoderLayer[] = [];
  private readonly encFinalLn: LayerNorm | null;
  private readonly decFinalLn: LayerNorm | null;
  private positions: tf.Tensor2D;
  private initSeed: number;
  private dropoutSeed = 0;
  private dropoutCalls = 0;
  private disposed = false;

  constructor(opts: TransformerOptions) {
    validateArch(opts.arch);
    for (const f of ['srcVocabSize', 'tgtVocabSize'] as const) {
      if (!Number.isInteger(opts[f]) || opts[f] < 2) throw new Error(`Transformer ${f} = ${opts[f]} is invalid: expected an integer >= 2.`);
    }
    if (!Number.isInteger(opts.padId) || opts.padId < 0 || opts.padId >= Math.min(opts.srcVocabSize, opts.tgtVocabSize)) {
      throw new Error(`Transformer padId = ${opts.padId} is invalid: expected an integer id inside both vocabularies.`);
    }
    if (opts.arch.shareAllEmbeddings && opts.srcVocabSize !== opts.tgtVocabSize) {
      throw new Error(
        `arch.shareAllEmbeddings = true needs one joint vocabulary, but srcVocabSize = ${opts.srcVocabSize} and ` +
          `tgtVocabSize = ${opts.tgtVocabSize}; set shareAllEmbeddings to false or use a joint tokenizer.`,
      );
    }
    this.arch = { ...opts.arch };
    this.srcVocabSize = opts.srcVocabSize;
    this.tgtVocabSize = opts.tgtVocabSize;
    this.padId = opts.padId;
    this.initSeed = opts.seed ?? 1;
    this.dropoutSeed = this.initSeed;
    this.scope = uniqueScope(opts.name ?? 'transformer');
    const a = this.arch;

    this.srcEmbed = this.embedding('encoder/embed_tokens/embeddings', this.srcVocabSize);
    this.tgtEmbed = a.shareAllEmbeddings ? this.srcEmbed : this.embedding('decoder/embed_tokens/embeddings', this.tgtVocabSize);
    this.outEmbed =
      a.shareDecoderInputOutputEmbed || a.shareAllEmbeddings
        ? this.tgtEmbed
        : this.embedding('decoder/output_projection/embeddings', this.tgtVocabSize);
    for (let i = 0; i < a.encoderLayers; i++) {
      const p = `encoder/layers_${i}`;
      this.encLayers.push({
        selfAttn: this.attention(`${p}/self_attn`),
        selfAttnLn: this.layerNorm(`${p}/self_attn_layer_norm`),
        fc1: this.linear(`${p}/fc1`, a.dModel, a.ffnDim),
        fc2: this.linear(`${p}/fc2`, a.ffnDim, a.dModel),
        ffnLn: this.layerNorm(`${p}/final_layer_norm`),
      });
    }
    for (let i = 0; i < a.decoderLayers; i++) {
      const p = `decoder/layers_${i}`;
      this.decLayers.push({
        selfAttn: this.attention(`${p}/self_attn`),
        selfAttnLn: this.layerNorm(`${p}/self_attn_layer_norm`),
        crossAttn: this.attention(`${p}/encoder_attn`),
        crossAttnLn: this.layerNorm(`${p}/encoder_attn_layer_norm`),
        fc1: this.linear(`${p}/fc1`, a.dModel, a.ffnDim),
        fc2: this.linear(`${p}/fc2`, a.ffnDim, a.dModel),
        ffnLn: this.layerNorm(`${p}/final_layer_norm`),
      });
    }
    this.encFinalLn = a.preNorm ? this.layerNorm('encoder/layer_norm') : null;
    this.decFinalLn = a.preNorm ? this.layerNorm('decoder/layer_norm') : null;
    this.positions = tf.keep(tf.tensor2d(sinusoidalPositions(256, a.dModel), [256, a.dModel]));
  }

  // ---------------------------------------------------------------- parameters

  private nextSeed(): number {
    this.initSeed = (this.initSeed * 1103515245 + 12345) % 2147483647;
    return this.initSeed;
  }

  private addVar(local: string, init: tf.Tensor): tf.Variable {
    const v = tf.variable(init, true, `${this.scope}/${local}`);
    init.dispose();
    this.variables.push(v);
    this.byLocalName.set(local, v);
    return v;
  }

  /** fairseq Embedding init: N(0, d^-1/2), padding row zero. */
  private embedding(local: string, vocab: number): tf.Variable {
    const d = this.arch.dModel;
    const init = tf.tidy(() => {
      const w = tf.randomNormal([vocab, d], 0, d ** -0.5, 'float32', this.nextSeed());
      const keep = tf.oneHot(tf.tensor1d([this.padId], 'int32'), vocab);
      const rowMask = tf.sub(tf.scalar(1), tf.reshape(keep, [vocab, 1]));
      return tf.mul(w, rowMask);
    });
    return this.addVar(local, init);
  }

  /** Xavier-uniform kernel [in, out], zero bias (fairseq Linear). */
  private linear(local: string, fanIn: number, fanOut: number): Linear {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return {
      kernel: this.addVar(`${local}/kernel`, tf.randomUniform([fanIn, fanOut], -lim, lim, 'float32', this.nextSeed())),
      bias: this.addVar(`${local}/bias`, tf.zeros([fanOut])),
    };
  }

  private layerNorm(local: string): LayerNorm {
    const d = this.arch.dModel;
    return { gamma: this.addVar(`${local}/gamma`, tf.ones([d])), beta: this.addVar(`${local}/beta`, tf.zeros([d])) };
  }

  private attention(local: string): Attention {
    const d = this.arch.dModel;
    return {
      q: this.linear(`${local}/q_proj`, d, d),
      k: this.linear(`${local}/k_proj`, d, d),
      v: this.linear(`${local}/v_proj`, d, d),
      o: this.linear(`${local}/out_proj`, d, d),
    };
  }

  /** Number of trainable scalars. */
  numParams(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  /** Variable names without the scope prefix, in `variables` order. */
  localNames(): string[] {
    return [...this.byLocalName.keys()];
  }

  /** The variables with their local names (no scope prefix), in `variables` order. */
  namedVariables(): Array<{ name: string; variable: tf.Variable }> {
    return [...this.byLocalName].map(([name, variable]) => ({ name, variable }));
  }

  /** Copies of the weights keyed by local name (caller disposes). */
  getWeights(): Map<string, tf.Tensor> {
    const m = new Map<string, tf.Tensor>();
    for (const [k, v] of this.byLocalName) m.set(k, tf.clone(v));
    return m;
  }

  /** Assigns weights by local name; every variable must be present with its shape. */
  setWeights(w: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
    const get = (k: string): tf.Tensor | undefined => (w instanceof Map ? w.get(k) : w[k]);
    for (const [k, v] of this.byLocalName) {
      const t = get(k);
      if (!t) throw new Error(`Weights for '${k}' are missing; the checkpoint does not match this architecture.`);
      if (t.shape.join('x') !== v.shape.join('x')) {
        throw new Error(`Weights for '${k}' have shape [${t.shape}] but the model expects [${v.shape}].`);
      }
      v.assign(t);
    }
  }

  /** State of the dropout random stream (for checkpoints). */
  getDropoutState(): { seed: number; calls: number } {
    return { seed: this.dropoutSeed, calls: this.dropoutCalls };
  }

  /**
   * Restarts the dropout stream at `seed`: the same seed gives the same dropout masks. The training loop calls this
   * at the start of the loss closure, so the two passes of a SAM step see the same masks.
   */
  setDropoutState(s: { seed: number; calls?: number }): void {
    this.dropoutSeed = s.seed;
    this.dropoutCalls = s.calls ?? 0;
  }

  /** Frees the variables and cached tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
    this.positions.dispose();
  }

  // ---------------------------------------------------------------- building blocks

  private dense(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
    return tf.add(tf.matMul(x, l.kernel), l.bias);
  }

  private ln(x: tf.Tensor2D, p: LayerNorm): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, tf.scalar(1e-5)))), p.gamma), p.beta);
  }

  private drop<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
    if (!training || rate === 0) return x;
    const seed = (this.dropoutSeed * 7919 + this.dropoutCalls++ * 104729) % 2147483647;
    return tf.dropout(x, rate, undefined, seed) as T;
  }

  private positionTable(len: number): tf.Tensor2D {
    if (len > this.positions.shape[0]) {
      let n = this.positions.shape[0];
      while (n < len) n *= 2;
      this.positions.dispose();
      this.positions = tf.keep(tf.tensor2d(sinusoidalPositions(n, this.arch.dModel), [n, this.arch.dModel]));
    }
    return this.positions;
  }

  /** Token + position embedding for `tokens` [b, t] at positions offset..offset+t-1, flattened to [b*t, d]. */
  private embed(tokens: tf.Tensor2D, table: tf.Variable, offset: number, training: boolean): tf.Tensor2D {
    const [b, t] = tokens.shape;
    const d = this.arch.dModel;
    const scale = this.arch.scaleEmbedding ? Math.sqrt(d) : 1;
    const e = tf.reshape(tf.gather(table, tf.reshape(tokens, [b * t])), [b, t, d]);
    const pos = tf.slice(this.positionTable(offset + t), [offset, 0], [t, d]);
    const x = tf.add(tf.mul(e, tf.scalar(scale)), tf.reshape(pos, [1, t, d]));
    return this.drop(tf.reshape(x, [b * t, d]) as tf.Tensor2D, this.arch.dropout, training);
  }

  /** Projects [b*t, d] to heads: [b, h, t, dh]. */
  private splitHeads(x: tf.Tensor2D, b: number, t: number): tf.Tensor4D {
    const h = this.arch.heads;
    const dh = this.arch.dModel / h;
    return tf.transpose(tf.reshape(x, [b, t, h, dh]), [0, 2, 1, 3]);
  }

  /** Projects [b*t, d] to transposed keys: [b, h, dh, t]. */
  private splitHeadsT(x: tf.Tensor2D, b: number, t: number): tf.Tensor4D {
    const h = this.arch.heads;
    const dh = this.arch.dModel / h;
    return tf.transpose(tf.reshape(x, [b, t, h, dh]), [0, 2, 3, 1]);
  }

  /** Scaled dot-product attention over prepared heads; returns the output projection [b*tq, d]. */
  private attend(
    p: Attention,
    q: tf.Tensor2D,
    kT: tf.Tensor4D,
    v: tf.Tensor4D,
    b: number,
    tq: number,
    masks: tf.Tensor[],
    training: boolean,
  ): tf.Tensor2D {
    const d = this.arch.dModel;
    const dh = d / this.arch.heads;
    const qh = this.splitHeads(tf.mul(this.dense(q, p.q), tf.scalar(dh ** -0.5)), b, tq);
    let scores: tf.Tensor = tf.matMul(qh, kT); // [b, h, tq, tk]
    for (const m of masks) scores = tf.add(scores, m);
    const probs = this.drop(tf.softmax(scores), this.arch.attentionDropout, training);
    const ctx = tf.matMul(probs as tf.Tensor4D, v); // [b, h, tq, dh]
    const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b * tq, d]) as tf.Tensor2D;
    return this.dense(merged, p.o);
  }

  /** Residual sub-block with pre- or post-norm. */
  private sublayer(x: tf.Tensor2D, ln: LayerNorm, f: (y: tf.Tensor2D) => tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.arch.preNorm) return tf.add(x, this.drop(f(this.ln(x, ln)), this.arch.dropout, training));
    return this.ln(tf.add(x, this.drop(f(x), this.arch.dropout, training)), ln);
  }

  private ffn(x: tf.Tensor2D, l: EncoderLayer, training: boolean): tf.Tensor2D {
    const hdn = this.drop(tf.relu(this.dense(x, l.fc1)), this.arch.activationDropout, training);
    return this.dense(hdn, l.fc2);
  }

  // ---------------------------------------------------------------- passes

  /** Encodes `src` int32 [b, s]. Not tidied: call inside `tf.tidy` or dispose the result. */
  encode(src: tf.Tensor2D, training = false): EncoderOutput {
    const [b, s] = src.shape;
    const keyMask = paddingMask(src, this.padId);
    let x = this.embed(src, this.srcEmbed, 0, training);
    for (const l of this.encLayers) {
      x = this.sublayer(
        x,
        l.selfAttnLn,
        (y) => this.attend(l.selfAttn, y, this.splitHeadsT(this.dense(y, l.selfAttn.k), b, s), this.splitHeads(this.dense(y, l.selfAttn.v), b, s), b, s, [keyMask], training),
        training,
      );
      x = this.sublayer(x, l.ffnLn, (y) => this.ffn(y, l, training), training);
    }
    if (this.encFinalLn) x = this.ln(x, this.encFinalLn);
    return { out: tf.reshape(x, [b, s, this.arch.dModel]) as tf.Tensor3D, keyMask };
  }

  /**
   * Teacher-forced decoder pass: `prevTokens` int32 [b, t] (target shifted right, starting with BOS) ->
   * logits [b*t, tgtVocab]. Position i sees positions <= i only (causal mask) and every non-pad source token.
   */
  decode(prevTokens: tf.Tensor2D, enc: EncoderOutput, training = false): tf.Tensor2D {
    const [b, t] = prevTokens.shape;
    const s = enc.out.shape[1];
    const d = this.arch.dModel;
    const causal = causalMask(t);
    const encFlat = tf.reshape(enc.out, [b * s, d]) as tf.Tensor2D;
    let x = this.embed(prevTokens, this.tgtEmbed, 0, training);
    for (const l of this.decLayers) {
      x = this.sublayer(
        x,
        l.selfAttnLn,
        (y) => this.attend(l.selfAttn, y, this.splitHeadsT(this.dense(y, l.selfAttn.k), b, t), this.splitHeads(this.dense(y, l.selfAttn.v), b, t), b, t, [causal], training),
        training,
      );
      x = this.sublayer(
        x,
        l.crossAttnLn,
        (y) =>
          this.attend(l.crossAttn, y, this.splitHeadsT(this.dense(encFlat, l.crossAttn.k), b, s), this.splitHeads(this.dense(encFlat, l.crossAttn.v), b, s), b, t, [enc.keyMask], training),
        training,
      );
      x = this.sublayer(x, l.ffnLn, (y) => this.ffn(y, l, training), training);
    }
    if (this.decFinalLn) x = this.ln(x, this.decFinalLn);
    return tf.matMul(x, this.outEmbed, false, true);
  }

  /** Full teacher-forced forward: logits [b*t, tgtVocab] for `prevTokens` [b, t] given `src` [b, s]. */
  forward(src: tf.Tensor2D, prevTokens: tf.Tensor2D, training = false): tf.Tensor2D {
    return tf.tidy(() => this.decode(prevTokens, this.encode(src, training), training));
  }

  // ---------------------------------------------------------------- incremental decoding

  /**
   * Encodes `src` [b, s] and precomputes each decoder layer's encoder-decoder keys/values. The returned state owns
   * its tensors: pass it to `decodeStep` / `reorderState` and free it with `disposeState`.
   */
  startDecoding(src: tf.Tensor2D): TransformerDecoderState {
    const [b, s] = src.shape;
    const d = this.arch.dModel;
    let state: TransformerDecoderState | undefined;
    tf.tidy(() => {
      const enc = this.encode(src, false);
      const encFlat = tf.reshape(enc.out, [b * s, d]) as tf.Tensor2D;
      const layers = this.decLayers.map((l) => ({
        selfK: null,
        selfV: null,
        crossK: tf.keep(this.splitHeadsT(this.dense(encFlat, l.crossAttn.k), b, s)),
        crossV: tf.keep(this.splitHeads(this.dense(encFlat, l.crossAttn.v), b, s)),
      }));
      state = { batch: b, step: 0, keyMask: tf.keep(enc.keyMask), layers };
    });
    return state!;
  }

  /**
   * Feeds one token per row (`tokens` length = state.batch, the token at position state.step) and returns the
   * log-probabilities of the next token, [batch, tgtVocab]. Only the new position is computed; past self-attention
   * keys/values come from the cache. Mutates `state` (its old cache tensors are freed).
   */
  decodeStep(state: TransformerDecoderState, tokens: ArrayLike<number>): tf.Tensor2D {
    const b = state.batch;
    if (tokens.length !== b) throw new Error(`decodeStep got ${tokens.length} tokens for a state with ${b} rows.`);
    const newCache: Array<{ k: tf.Tensor4D; v: tf.Tensor4D }> = [];
    const out = tf.tidy(() => {
      const tok = tf.tensor2d(Array.from(tokens), [b, 1], 'int32');
      let x = this.embed(tok, this.tgtEmbed, state.step, false);
      this.decLayers.forEach((l, i) => {
        const c = state.layers[i]!;
        x = this.sublayer(
          x,
          l.selfAttnLn,
          (y) => {
            const kNew = this.splitHeadsT(this.dense(y, l.selfAttn.k), b, 1);
            const vNew = this.splitHeads(this.dense(y, l.selfAttn.v), b, 1);
            const k = c.selfK ? tf.concat([c.selfK, kNew], 3) : kNew;
            const v = c.selfV ? tf.concat([c.selfV, vNew], 2) : vNew;
            newCache.push({ k: tf.keep(k), v: tf.keep(v) });
            return this.attend(l.selfAttn, y, k, v, b, 1, [], false);
          },
          false,
        );
        x = this.sublayer(x, l.crossAttnLn, (y) => this.attend(l.crossAttn, y, c.crossK, c.crossV, b, 1, [state.keyMask], false), false);
        x = this.sublayer(x, l.ffnLn, (y) => this.ffn(y, l, false), false);
      });
      if (this.decFinalLn) x = this.ln(x, this.decFinalLn);
      return tf.logSoftmax(tf.matMul(x, this.outEmbed, false, true)) as tf.Tensor2D;
    });
    state.layers.forEach((c, i) => {
      c.selfK?.dispose();
      c.selfV?.dispose();
      c.selfK = newCache[i]!.k;
      c.selfV = newCache[i]!.v;
    });
    state.step += 1;
    return out;
  }

  /**
   * Reorders (and resizes) the rows of a decoder state: row r of the result is row `indices[r]` of the input.
   * Beam search uses it to follow surviving hypotheses. Mutates `state`.
   */
  reorderState(state: TransformerDecoderState, indices: ArrayLike<number>): void {
    const idx = tf.tensor1d(Array.from(indices), 'int32');
    const g = <T extends tf.Tensor>(t: T): T => {
      const r = tf.gather(t, idx, 0) as T;
      t.dispose();
      return r;
    };
    state.keyMask = g(state.keyMask);
    for (const c of state.layers) {
      c.crossK = g(c.crossK);
      c.crossV = g(c.crossV);
      if (c.selfK) c.selfK = g(c.selfK);
      if (c.selfV) c.selfV = g(c.selfV);
    }
    idx.dispose();
    state.batch = indices.length;
  }

  /** Frees a decoder state's tensors. */
  disposeState(state: TransformerDecoderState): void {
    state.keyMask.dispose();
    for (const c of state.layers) {
      c.crossK.dispose();
      c.crossV.dispose();
      c.selfK?.dispose();
      c.selfV?.dispose();
    }
  }
}
