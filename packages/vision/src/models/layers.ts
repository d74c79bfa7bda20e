/**
 * Small building blocks shared by the model families: custom tfjs-layers layers (channel zero-padding,
 * seeded dropout), PyTorch-style conv/BN helpers and the seeded He initialisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormalization } from './batch-norm.ts';

/** Symbolic tensor type of the tfjs-layers functional API. */
export type Sym = tfl.SymbolicTensor;

/** BatchNorm settings of the PyTorch recipes: PyTorch momentum 0.1 = tfjs momentum 0.9, epsilon 1e-5. */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const t = Array.isArray(inputs) ? inputs[0] : inputs;
  if (t === undefined) throw new Error('layer called without an input tensor');
  return t;
}

/**
 * Zero-pads the channel (last) axis of an NHWC tensor: `before` zero channels in front, `after` behind.
 * Used by the parameter-free shortcuts: ResNet "option A" (He et al. 2016, CIFAR) pads planes/4 on both
 * sides; PyramidNet (Han et al. 2017) appends the missing channels as zeros.
 */
export class ChannelPad extends tfl.layers.Layer {
  static className = 'ChannelPad';
  private readonly before: number;
  private readonly after: number;
  constructor(args: { before: number; after: number; name?: string }) {
    super({ name: args.name });
    this.before = args.before;
    this.after = args.after;
  }
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const out = s.slice();
    const c = out[out.length - 1];
    out[out.length - 1] = c == null ? null : c + this.before + this.after;
    return out;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      return tf.pad(x, [[0, 0], [0, 0], [0, 0], [this.before, this.after]]);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), before: this.before, after: this.after };
  }
}

/** A source of dropout seeds; the trainer supplies one backed by a checkpointed RNG so resumes are exact. */
export interface SeedSource { nextSeed(): number }

/**
 * Inverted dropout (keep prob 1 - rate, scale 1/(1-rate)) whose mask seed is drawn from a `SeedSource`
 * at every training call, so a run is reproducible and resumable (tfjs-layers' own dropout draws from
 * Math.random). Identity at inference.
 */
export class SeededDropout extends tfl.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  seeds: SeedSource | null = null;
  private fallback = 1;
  constructor(args: { rate: number; name?: string }) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`dropout rate ${args.rate} is outside [0, 1)`);
    this.rate = args.rate;
  }
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      if (!kwargs?.training || this.rate === 0) return tf.clone(x);
      const seed = this.seeds ? this.seeds.nextSeed() : this.fallback++;
      const keep = 1 - this.rate;
      const mask = tf.cast(tf.less(tf.randomUniform(x.shape, 0, 1, 'float32', seed), keep), 'float32');
      return tf.mul(x, tf.mul(mask, 1 / keep));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/**
 * Gives each built model a unique layer-name prefix. tfjs-layers makes colliding variable names unique by
 * appending `_1`, `_2` to the END of the name (`.../beta_1`), which would break name-based filters such as
 * "ends in bias/beta"; unique prefixes keep every variable name ending in its tfjs role name.
 */
const usedPrefixes = new Set<string>();
export function uniquePrefix(base: string): string {
  let p = base;
  for (let i = 2; usedPrefixes.has(p); i++) p = `${base}_${i}`;
  usedPrefixes.add(p);
  return p;
}

/** Layer-building context: names layers `<prefix>/<name>`-style (with `.` separators). */
export class Builder {
  constructor(readonly prefix: string) {}
  n(name: string): string { return `${this.prefix}.${name}`; }

  /** 3x3/1x1/kxk convolution without bias, PyTorch padding semantics (symmetric `pad` zeros). */
  conv(x: Sym, name: string, filters: number, kernel: number, stride = 1, pad = -1, useBias = false): Sym {
    const p = pad < 0 ? (kernel - 1) >> 1 : pad;
    let h = x;
    // 'same' in tfjs pads asymmetrically for stride > 1; explicit symmetric padding matches PyTorch.
    const sameOk = stride === 1 && kernel % 2 === 1 && p === (kernel - 1) >> 1;
    if (!sameOk && p > 0) {
      h = tfl.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name: this.n(`${name}_pad`) }).apply(h) as Sym;
    }
    return tfl.layers.conv2d({
      filters, kernelSize: kernel, strides: stride, padding: sameOk ? 'same' : 'valid', useBias,
      kernelInitializer: 'zeros', biasInitializer: 'zeros', name: this.n(name),
    }).apply(h) as Sym;
  }
  bn(x: Sym, name: string): Sym {
    return batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name: this.n(name) }).apply(x) as Sym;
  }
  relu(x: Sym, name: string): Sym {
    return tfl.layers.activation({ activation: 'relu', name: this.n(name) }).apply(x) as Sym;
  }
  add(a: Sym, b: Sym, name: string): Sym {
    return tfl.layers.add({ name: this.n(name) }).apply([a, b]) as Sym;
  }
  avgPool(x: Sym, name: string, size: number, stride: number): Sym {
    return tfl.layers.averagePooling2d({ poolSize: size, strides: stride, padding: 'valid', name: this.n(name) }).apply(x) as Sym;
  }
  maxPool(x: Sym, name: string, size: number, stride: number, pad = 0): Sym {
    let h = x;
    // Zero padding equals PyTorch's -inf padding here because the input is post-ReLU (>= 0).
    if (pad > 0) h = tfl.layers.zeroPadding2d({ padding: [[pad, pad], [pad, pad]], name: this.n(`${name}_pad`) }).apply(h) as Sym;
    return tfl.layers.maxPooling2d({ poolSize: size, strides: stride, padding: 'valid', name: this.n(name) }).apply(h) as Sym;
  }
  channelPad(x: Sym, name: string, before: number, after: number): Sym {
    return new ChannelPad({ before, after, name: this.n(name) }).apply(x) as Sym;
  }
  dropout(x: Sym, name: string, rate: number): Sym {
    return new SeededDropout({ rate, name: this.n(name) }).apply(x) as Sym;
  }
  gap(x: Sym, name: string): Sym {
    return tfl.layers.globalAveragePooling2d({ name: this.n(name) }).apply(x) as Sym;
  }
  flatten(x: Sym, name: string): Sym {
    return tfl.layers.flatten({ name: this.n(name) }).apply(x) as Sym;
  }
  dense(x: Sym, name: string, units: number): Sym {
    return tfl.layers.dense({ units, useBias: true, kernelInitializer: 'zeros', biasInitializer: 'zeros', name: this.n(name) }).apply(x) as Sym;
  }
}

/** mulberry32: a tiny seeded 32-bit PRNG (used only for weight initialisation). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded initialisation following the PyTorch CIFAR/ImageNet recipes:
 * - Conv kernels [kh,kw,cin,cout]: He/Kaiming normal, fan_out mode, N(0, 2 / (kh·kw·cout)); conv biases 0.
 * - Dense kernels [in,out] and biases: PyTorch's Linear default U(-1/√in, 1/√in).
 * - BatchNorm: gamma 1, beta 0, moving mean 0, moving variance 1 (tfjs defaults, left as built).
 * Deterministic in `seed`; each variable gets its own stream derived from (seed, index).
 */
export function initializeWeights(model: tfl.LayersModel, seed: number): void {
  let idx = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense') continue;
    const [kernel, bias] = layer.getWeights();
    if (!kernel) continue;
    const rnd = mulberry32((seed * 1000003 + idx++ * 7919) >>> 0);
    const n = kernel.size;
    const vals = new Float32Array(n);
    if (cls === 'Conv2D') {
      const [kh, kw, , cout] = kernel.shape as number[];
      const std = Math.sqrt(2 / ((kh ?? 1) * (kw ?? 1) * (cout ?? 1)));
      for (let i = 0; i < n; i += 2) {
        const u1 = 1 - rnd();
        const u2 = rnd();
        const r = Math.sqrt(-2 * Math.log(u1));
        vals[i] = std * r * Math.cos(2 * Math.PI * u2);
        if (i + 1 < n) vals[i + 1] = std * r * Math.sin(2 * Math.PI * u2);
      }
    } else {
      const bound = 1 / Math.sqrt(kernel.shape[0] ?? 1);
      for (let i = 0; i < n; i++) vals[i] = (rnd() * 2 - 1) * bound;
    }
    const newW: tf.Tensor[] = [tf.tensor(vals, kernel.shape, 'float32')];
    if (bias) {
      if (cls === 'Dense') {
        const bound = 1 / Math.sqrt(kernel.shape[0] ?? 1);
        const b = new Float32Array(bias.size);
        for (let i = 0; i < b.length; i++) b[i] = (rnd() * 2 - 1) * bound;
        newW.push(tf.tensor(b, bias.shape, 'float32'));
      } else {
        newW.push(tf.zeros(bias.shape, 'float32'));
      }
    }
    layer.setWeights(newW);
    for (const t of newW) t.dispose();
  }
}
