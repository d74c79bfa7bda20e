/**
 * Workload models used to exercise the engine: a CIFAR ResNet (tfjs-layers), a small
 * raw-op conv net covering every conv/pool shape the vision models use, and a compact
 * encoder–decoder Transformer built from raw tfjs-core ops. Used by this package's tests only (the
 * engine cannot depend on the model packages, which depend on it); the real model zoos live in
 * @asam/vision and @asam/nmt, and `bench:engine` (benchmarks/src/engine-bench) measures those.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * CIFAR ResNet (He et al. 2016, §4.2): 3x3 conv 16 → 3 stages (widths 16/32/64, n blocks each,
 * stride 2 at the start of stages 2 and 3, 1x1 projection shortcut when the shape changes) →
 * global average pool → dense. depth = 6n + 2 (n = 3 gives ResNet-20, 0.27M parameters).
 */
export function buildCifarResNet(o: { depth?: number; numClasses?: number; inputShape?: [number, number, number]; seed?: number } = {}): tfl.LayersModel {
  const depth = o.depth ?? 20;
  if ((depth - 2) % 6 !== 0 || depth < 8) throw new Error(`buildCifarResNet: depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110), got ${depth}.`);
  const n = (depth - 2) / 6;
  let seed = o.seed ?? 1;
  const conv = (filters: number, k: number, stride: number) => tfl.layers.conv2d({
    filters, kernelSize: k, strides: stride, padding: 'same', useBias: false,
    kernelInitializer: tfl.initializers.heNormal({ seed: seed++ }),
  });
  const bn = () => tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });
  const relu = () => tfl.layers.activation({ activation: 'relu' });
  const input = tfl.input({ shape: o.inputShape ?? [32, 32, 3] });
  let x = relu().apply(bn().apply(conv(16, 3, 1).apply(input))) as tfl.SymbolicTensor;
  let cin = 16;
  for (const [s, width] of [16, 32, 64].entries()) {
    for (let b = 0; b < n; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      let y = relu().apply(bn().apply(conv(width, 3, stride).apply(x))) as tfl.SymbolicTensor;
      y = bn().apply(conv(width, 3, 1).apply(y)) as tfl.SymbolicTensor;
      const shortcut = stride !== 1 || cin !== width ? bn().apply(conv(width, 1, stride).apply(x)) as tfl.SymbolicTensor : x;
      x = relu().apply(tfl.layers.add().apply([y, shortcut])) as tfl.SymbolicTensor;
      cin = width;
    }
  }
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: o.numClasses ?? 10, kernelInitializer: tfl.initializers.heNormal({ seed: seed++ }) })
    .apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

/** Mean softmax cross-entropy of logits [B,K] against integer labels [B]. */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits) as tf.Scalar;
}

let nameCounter = 0;
/** A variable name unique in this process (tfjs refuses duplicate variable names). */
function uniqueName(name: string): string {
  return `${name}_${nameCounter++}`;
}

/** Deterministic initial values for raw-op models (scaled uniform, seeded LCG). */
function init(shape: number[], scale: number, seed: number): tf.Tensor {
  let a = seed >>> 0;
  const size = shape.reduce((p, q) => p * q, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    v[i] = (a / 4294967296 * 2 - 1) * scale;
  }
  return tf.tensor(v, shape);
}

/** Batch norm in training mode from `tf.moments` over all but the channel axis. */
function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const axes = [...Array(x.rank - 1).keys()];
  const { mean, variance } = tf.moments(x, axes);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5);
}

/**
 * Small conv net touching every conv / pool configuration of the vision models: 7x7 stride-2
 * 'same' stem, 3x3 stride-2 max-pool, 3x3 stride-1 and stride-2 convs, 1x1 stride-2 projection,
 * a 3x3 'valid' conv, BN (training mode), ReLU, global average pool, dense. Input [B,16,16,3].
 */
export function smallConvNet(seed = 7): { vars: tf.Variable[]; forward: (x: tf.Tensor4D) => tf.Tensor2D } {
  const v = (name: string, shape: number[], scale: number) => {
    const t = init(shape, scale, seed++);
    const variable = tf.variable(t, true, uniqueName(name));
    t.dispose();
    return variable;
  };
  const p = {
    stem: v('stem', [7, 7, 3, 8], 0.1), g0: v('g0', [8], 1), b0: v('b0', [8], 0.1),
    c1: v('c1', [3, 3, 8, 8], 0.2), g1: v('g1', [8], 1), b1: v('b1', [8], 0.1),
    c2: v('c2', [3, 3, 8, 12], 0.2), g2: v('g2', [12], 1), b2: v('b2', [12], 0.1),
    proj: v('proj', [1, 1, 8, 12], 0.3),
    c3: v('c3', [3, 3, 12, 12], 0.2), bias3: v('bias3', [12], 0.1),
    dense: v('dense', [12, 5], 0.3), dbias: v('dbias', [5], 0.1),
  };
  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h = tf.relu(batchNormTrain(tf.conv2d(x, p.stem as tf.Tensor4D, 2, 'same'), p.g0, p.b0)) as tf.Tensor4D;  // 8x8
    h = tf.maxPool(h, 3, 2, 'same');                                                                             // 4x4
    const a = tf.relu(batchNormTrain(tf.conv2d(h, p.c1 as tf.Tensor4D, 1, 'same'), p.g1, p.b1)) as tf.Tensor4D;
    const b = batchNormTrain(tf.conv2d(a, p.c2 as tf.Tensor4D, 2, 'same'), p.g2, p.b2);                          // 2x2
    const s = tf.conv2d(h, p.proj as tf.Tensor4D, 2, 'same');
    let y = tf.relu(tf.add(b, s)) as tf.Tensor4D;
    y = tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    y = tf.relu(tf.add(tf.conv2d(y, p.c3 as tf.Tensor4D, 1, 'valid'), p.bias3)) as tf.Tensor4D;                  // 2x2
    const pooled = tf.mean(y, [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, p.dense as tf.Tensor2D), p.dbias) as tf.Tensor2D;
  };
  return { vars: Object.values(p), forward };
}

/** Configuration of {@link compactTransformer}. */
export interface TransformerConfig { vocab: number; dModel: number; heads: number; ffn: number; layers: number; dropout: number }

/**
 * Compact encoder–decoder Transformer (Vaswani et al. 2017) from raw ops: tied embedding /
 * output projection (gather + matMul with transposeB), sinusoidal positions, pre-LN layer norm
 * from `tf.moments`, multi-head attention with additive masks (padding via `equal`, causal via
 * `linalg.bandPart`), ReLU FFN, dropout, label-smoothed cross-entropy over non-pad tokens.
 * Token id 0 is padding.
 */
export function compactTransformer(cfg: TransformerConfig, seed = 11): {
  vars: tf.Variable[];
  loss: (src: tf.Tensor2D, tgtIn: tf.Tensor2D, tgtOut: tf.Tensor2D, training: boolean, smoothing?: number) => tf.Scalar;
} {
  const { vocab, dModel: d, heads, ffn, layers } = cfg;
  if (d % heads !== 0) throw new Error(`compactTransformer: dModel (${d}) must be divisible by heads (${heads}).`);
  const vars: tf.Variable[] = [];
  const v = (name: string, shape: number[], scale: number, constant?: number) => {
    const t = constant === undefined ? init(shape, scale, seed++) : tf.fill(shape, constant);
    const variable = tf.variable(t, true, uniqueName(name));
    t.dispose();
    vars.push(variable);
    return variable;
  };
  const sd = Math.sqrt(3 / d);
  const emb = v('embeddings', [vocab, d], sd);
  const ln = () => ({ g: v('ln_gamma', [d], 0, 1), b: v('ln_beta', [d], 0, 0) });
  const attn = () => ({ q: v('q', [d, d], sd), k: v('k', [d, d], sd), vv: v('v', [d, d], sd), o: v('o', [d, d], sd) });
  const ff = () => ({ w1: v('ffn1', [d, ffn], sd), b1: v('ffn1_bias', [ffn], 0, 0), w2: v('ffn2', [ffn, d], Math.sqrt(3 / ffn)), b2: v('ffn2_bias', [d], 0, 0) });
  const enc = Array.from({ length: layers }, () => ({ ln1: ln(), att: attn(), ln2: ln(), ff: ff() }));
  const dec = Array.from({ length: layers }, () => ({ ln1: ln(), self: attn(), ln2: ln(), cross: attn(), ln3: ln(), ff: ff() }));
  const encLn = ln();
  const decLn = ln();

  const layerNorm = (x: tf.Tensor, p: { g: tf.Tensor; b: tf.Tensor }) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), p.g), p.b);
  };
  const drop = (x: tf.Tensor, training: boolean) => (training && cfg.dropout > 0 ? tf.dropout(x, cfg.dropout) : x);
  const dense = (x: tf.Tensor, w: tf.Tensor) => {
    const shape = x.shape;
    const out = tf.matMul(tf.reshape(x, [-1, shape[shape.length - 1]!]), w as tf.Tensor2D);
    return tf.reshape(out, [...shape.slice(0, -1), w.shape[1]!]);
  };
  const split = (x: tf.Tensor, b: number, t: number) => tf.transpose(tf.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
  /** Multi-head attention; mask is additive, broadcast to [B, heads, Tq, Tk]. */
  const mha = (xq: tf.Tensor, xkv: tf.Tensor, p: ReturnType<typeof attn>, mask: tf.Tensor, training: boolean) => {
    const [b, tq] = xq.shape as [number, number, number];
    const tk = xkv.shape[1]!;
    const q = split(dense(xq, p.q), b, tq);
    const k = split(dense(xkv, p.k), b, tk);
    const vv = split(dense(xkv, p.vv), b, tk);
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d / heads)), mask);
    const w = drop(tf.softmax(scores), training);
    const ctx = tf.reshape(tf.transpose(tf.matMul(w, vv), [0, 2, 1, 3]), [b, tq, d]);
    return dense(ctx, p.o);
  };
  const positions = (t: number) => {
    const pe = new Float32Array(t * d);
    for (let pos = 0; pos < t; pos++) {
      for (let i = 0; i < d; i++) {
        const angle = pos / Math.pow(10000, (2 * Math.floor(i / 2)) / d);
        pe[pos * d + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
    }
    return tf.tensor3d(pe, [1, t, d]);
  };
  const embed = (ids: tf.Tensor2D, training: boolean) =>
    drop(tf.add(tf.mul(tf.gather(emb, ids), Math.sqrt(d)), positions(ids.shape[1])), training);
  const ffBlock = (x: tf.Tensor, p: ReturnType<typeof ff>, training: boolean) =>
    tf.add(dense(drop(tf.relu(tf.add(dense(x, p.w1), p.b1)), training), p.w2), p.b2);

  const loss = (src: tf.Tensor2D, tgtIn: tf.Tensor2D, tgtOut: tf.Tensor2D, training: boolean, smoothing = 0.1): tf.Scalar => {
    const [b, s] = src.shape;
    const t = tgtIn.shape[1];
    const neg = -1e9;
    const srcPad = tf.mul(tf.cast(tf.reshape(tf.equal(src, 0), [b, 1, 1, s]), 'float32'), neg);
    const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([t, t]), -1, 0)), neg);
    const tgtPad = tf.mul(tf.cast(tf.reshape(tf.equal(tgtIn, 0), [b, 1, 1, t]), 'float32'), neg);
    const selfMask = tf.add(causal, tgtPad);
    let h = embed(src, training);
    for (const l of enc) {
      h = tf.add(h, drop(mha(layerNorm(h, l.ln1), layerNorm(h, l.ln1), l.att, srcPad, training), training));
      h = tf.add(h, drop(ffBlock(layerNorm(h, l.ln2), l.ff, training), training));
    }
    const memory = layerNorm(h, encLn);
    let y = embed(tgtIn, training);
    for (const l of dec) {
      const n1 = layerNorm(y, l.ln1);
      y = tf.add(y, drop(mha(n1, n1, l.self, selfMask, training), training));
      y = tf.add(y, drop(mha(layerNorm(y, l.ln2), memory, l.cross, srcPad, training), training));
      y = tf.add(y, drop(ffBlock(layerNorm(y, l.ln3), l.ff, training), training));
    }
    const out = layerNorm(y, decLn);
    const logits = tf.reshape(tf.matMul(tf.reshape(out, [b * t, d]), emb, false, true), [b * t, vocab]);
    const logp = tf.logSoftmax(logits);
    const labels = tf.reshape(tgtOut, [b * t]);
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(labels, vocab)), -1));
    const smooth = tf.neg(tf.mean(logp, -1));
    const perToken = tf.add(tf.mul(nll, 1 - smoothing), tf.mul(smooth, smoothing));
    const weights = tf.cast(tf.notEqual(labels, 0), 'float32');
    return tf.div(tf.sum(tf.mul(perToken, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  };
  return { vars, loss };
}

/** Random token batch for {@link compactTransformer}: ids in [1, vocab) with trailing padding (id 0). */
export function randomTokens(b: number, t: number, vocab: number, seed: number): tf.Tensor2D {
  let a = seed >>> 0;
  const v = new Int32Array(b * t);
  for (let i = 0; i < b; i++) {
    const len = t - (i % 3);
    for (let j = 0; j < t; j++) {
      a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
      v[i * t + j] = j < len ? 1 + (a % (vocab - 1)) : 0;
    }
  }
  return tf.tensor2d(v, [b, t], 'int32');
}
