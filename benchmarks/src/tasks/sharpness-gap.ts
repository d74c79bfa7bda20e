/**
 * Sharpness vs. adaptive sharpness as predictors of the generalization gap (Kwon et al. 2021, §3 /
 * Fig. 2), at CPU scale: a grid of one-hidden-layer MLPs trained with SGD (momentum 0.9) on a
 * CIFAR-10 subset, varying batch size, learning rate, weight decay and dropout. At the end of
 * training we measure, on a fixed training subset in inference mode,
 *   sharpness          max_{‖ε‖₂ ≤ ρ}        L(w + ε) − L(w)
 *   adaptive sharpness max_{‖T_w⁻¹ε‖₂ ≤ ρ'} L(w + ε) − L(w),  T_w = |w| + η
 * with @asam/core, and the gaps (train acc − test acc, test loss − train loss). The report gives
 * Kendall's τ of each measure with each gap. Finished models are kept in `models.json` so an
 * interrupted run resumes where it stopped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adaptiveSharpness, sharpness } from '@asam/core';
import { CIFAR10_MEAN, CIFAR10_STD, loadCifar10, Rng, type ImageDataset } from '@asam/data';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../fs-util.ts';
import { kendallTau } from '../stats.ts';
import type { TaskContext } from './types.ts';
import { RunFolder } from '@asam/train/run-folder';

export interface SharpnessGapConfig {
  trainLimit: number;
  testLimit: number;
  hidden: number;
  epochs: number;
  batchSize: number[];
  lr: number[];
  weightDecay: number[];
  dropout: number[];
  /** ρ of plain sharpness and ρ' of adaptive sharpness (the paper's CIFAR-10 SAM / ASAM radii). */
  rho: number;
  adaptiveRho: number;
  eta: number;
  sharpnessSamples: number;
  sharpnessSteps: number;
  seed: number;
}

export const DEFAULTS: SharpnessGapConfig = {
  trainLimit: 2000, testLimit: 1000, hidden: 128, epochs: 12,
  batchSize: [32, 256], lr: [0.002, 0.01], weightDecay: [0, 5e-3], dropout: [0, 0.5],
  rho: 0.05, adaptiveRho: 0.5, eta: 0.01, sharpnessSamples: 1000, sharpnessSteps: 10, seed: 0,
};

export interface ModelPoint {
  id: string;
  batchSize: number;
  lr: number;
  weightDecay: number;
  dropout: number;
  trainAcc: number;
  testAcc: number;
  trainLoss: number;
  testLoss: number;
  gapAcc: number;
  gapLoss: number;
  /** null when training diverged (non-finite loss): such models are excluded from the correlations. */
  sharpness: number | null;
  adaptiveSharpness: number | null;
  diverged: boolean;
  wallS: number;
}

/** Existing CIFAR-10 binary files under dataDir (for env.json's data hash). */
export function dataFiles(_config: unknown, dataDir: string): string[] {
  const dir = path.join(dataDir, 'cifar-10-batches-bin');
  return ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']
    .map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
}

/** Flattened, per-channel normalised float32 features [n, h·w·c] from an HWC uint8 dataset. */
function features(ds: ImageDataset): Float32Array {
  const d = ds.height * ds.width * ds.channels;
  const out = new Float32Array(ds.n * d);
  for (let i = 0; i < ds.n * d; i++) {
    const ch = i % ds.channels;
    out[i] = (ds.images[i]! / 255 - CIFAR10_MEAN[ch]!) / CIFAR10_STD[ch]!;
  }
  return out;
}

interface Mlp {
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
}

function initMlp(inDim: number, hidden: number, classes: number, rng: Rng, tag: string): Mlp {
  const he = (fanIn: number, n: number) => {
    const a = new Float32Array(n);
    const s = Math.sqrt(2 / fanIn);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
    return a;
  };
  return {
    w1: tf.variable(tf.tensor2d(he(inDim, inDim * hidden), [inDim, hidden]), true, `${tag}/dense1/kernel`),
    b1: tf.variable(tf.zeros([hidden]), true, `${tag}/dense1/bias`),
    w2: tf.variable(tf.tensor2d(he(hidden, hidden * classes), [hidden, classes]), true, `${tag}/dense2/kernel`),
    b2: tf.variable(tf.zeros([classes]), true, `${tag}/dense2/bias`),
  };
}

function logits(m: Mlp, x: tf.Tensor2D, dropout: number, seed?: number): tf.Tensor2D {
  let h = tf.relu(tf.add(tf.matMul(x, m.w1), m.b1));
  if (dropout > 0) h = tf.dropout(h, dropout, undefined, seed);
  return tf.add(tf.matMul(h, m.w2), m.b2) as tf.Tensor2D;
}

function ce(z: tf.Tensor2D, y: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), z) as tf.Scalar;
}

function evaluate(m: Mlp, x: Float32Array, y: Int32Array, dim: number, classes: number): { acc: number; loss: number } {
  const n = y.length;
  let correct = 0;
  let lossSum = 0;
  for (let s = 0; s < n; s += 500) {
    const e = Math.min(n, s + 500);
    const [l, c] = tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(s * dim, e * dim), [e - s, dim]);
      const yb = tf.tensor1d(y.subarray(s, e), 'int32');
      const z = logits(m, xb, 0);
      return [tf.mul(ce(z, yb, classes), e - s), tf.sum(tf.cast(tf.equal(tf.argMax(z, 1), yb), 'float32'))];
    });
    lossSum += l.dataSync()[0]!;
    correct += c.dataSync()[0]!;
    tf.dispose([l, c]);
  }
  return { acc: correct / n, loss: lossSum / n };
}

/** Trains one MLP and measures it. */
function trainOne(
  cfg: SharpnessGapConfig, hp: { batchSize: number; lr: number; weightDecay: number; dropout: number }, idx: number,
  tr: { x: Float32Array; y: Int32Array }, te: { x: Float32Array; y: Int32Array }, dim: number, classes: number,
): Omit<ModelPoint, 'id' | 'batchSize' | 'lr' | 'weightDecay' | 'dropout' | 'wallS'> {
  const rng = Rng.derive(cfg.seed, idx);
  const m = initMlp(dim, cfg.hidden, classes, rng, `mlp${idx}`);
  const vars = [m.w1, m.b1, m.w2, m.b2];
  const opt = tf.train.momentum(hp.lr, 0.9);
  const n = tr.y.length;
  const xb = new Float32Array(hp.batchSize * dim);
  const yb = new Int32Array(hp.batchSize);
  try {
    for (let ep = 0; ep < cfg.epochs; ep++) {
      const perm = rng.permutation(n);
      for (let s = 0; s + hp.batchSize <= n; s += hp.batchSize) {
        for (let k = 0; k < hp.batchSize; k++) {
          const i = perm[s + k]!;
          xb.set(tr.x.subarray(i * dim, (i + 1) * dim), k * dim);
          yb[k] = tr.y[i]!;
        }
        const seed = rng.int(2 ** 31);
        tf.tidy(() => {
          const x = tf.tensor2d(xb, [hp.batchSize, dim]);
          const y = tf.tensor1d(yb, 'int32');
          opt.minimize(() => {
            const l = ce(logits(m, x, hp.dropout, seed), y, classes);
            if (hp.weightDecay === 0) return l;
            return tf.add(l, tf.mul(0.5 * hp.weightDecay, tf.add(tf.sum(tf.square(m.w1)), tf.sum(tf.square(m.w2))))) as tf.Scalar;
          }, false, vars);
        });
      }
    }
    const trainM = evaluate(m, tr.x, tr.y, dim, classes);
    const testM = evaluate(m, te.x, te.y, dim, classes);
    if (!Number.isFinite(trainM.loss) || !Number.isFinite(testM.loss)) {
      return { trainAcc: trainM.acc, testAcc: testM.acc, trainLoss: trainM.loss, testLoss: testM.loss, gapAcc: trainM.acc - testM.acc, gapLoss: NaN, sharpness: null, adaptiveSharpness: null, diverged: true };
    }
    const ns = Math.min(cfg.sharpnessSamples, n);
    const xs = tf.tensor2d(tr.x.subarray(0, ns * dim), [ns, dim]);
    const ys = tf.tensor1d(tr.y.subarray(0, ns), 'int32');
    const f = () => ce(logits(m, xs, 0), ys, classes);
    const sh = sharpness(f, vars, { rho: cfg.rho, steps: cfg.sharpnessSteps });
    const ash = adaptiveSharpness(f, vars, { rho: cfg.adaptiveRho, eta: cfg.eta, steps: cfg.sharpnessSteps });
    tf.dispose([xs, ys]);
    return {
      trainAcc: trainM.acc, testAcc: testM.acc, trainLoss: trainM.loss, testLoss: testM.loss,
      gapAcc: trainM.acc - testM.acc, gapLoss: testM.loss - trainM.loss, sharpness: sh, adaptiveSharpness: ash, diverged: false,
    };
  } finally {
    opt.dispose();
    tf.dispose(vars);
  }
}

/** Kendall τ of sharpness and adaptive sharpness with both gaps, over the models that did not diverge. */
export function correlations(all: ModelPoint[]): Record<string, number> {
  const points = all.filter((p) => !p.diverged && p.sharpness !== null && p.adaptiveSharpness !== null);
  const s = points.map((p) => p.sharpness!);
  const a = points.map((p) => p.adaptiveSharpness!);
  const ga = points.map((p) => p.gapAcc);
  const gl = points.map((p) => p.gapLoss);
  return {
    sharpnessVsGapAcc: kendallTau(s, ga), adaptiveSharpnessVsGapAcc: kendallTau(a, ga),
    sharpnessVsGapLoss: kendallTau(s, gl), adaptiveSharpnessVsGapLoss: kendallTau(a, gl),
  };
}

/** Trains the grid of MLPs (resuming from models.json), measures them and writes result.json with Kendall τ. */
export async function run(ctx: TaskContext): Promise<void> {
  const t0 = performance.now();
  const cfg: SharpnessGapConfig = { ...DEFAULTS, ...(ctx.config as Partial<SharpnessGapConfig>) };
  const trainDs = await loadCifar10(ctx.dataDir, 'train', { limit: cfg.trainLimit });
  const testDs = await loadCifar10(ctx.dataDir, 'test', { limit: cfg.testLimit });
  const dim = trainDs.height * trainDs.width * trainDs.channels;
  const tr = { x: features(trainDs), y: trainDs.labels };
  const te = { x: features(testDs), y: testDs.labels };
  const grid: Array<{ batchSize: number; lr: number; weightDecay: number; dropout: number }> = [];
  for (const batchSize of cfg.batchSize) for (const lr of cfg.lr) for (const weightDecay of cfg.weightDecay) for (const dropout of cfg.dropout) grid.push({ batchSize, lr, weightDecay, dropout });
  const progressFile = path.join(ctx.outDir, 'models.json');
  const done = readJsonIfExists<ModelPoint[]>(progressFile) ?? [];
  if (done.length) ctx.log(`resuming: ${done.length}/${grid.length} models already measured (models.json)`);
  for (let i = 0; i < grid.length; i++) {
    const hp = grid[i]!;
    const id = `bs${hp.batchSize}-lr${hp.lr}-wd${hp.weightDecay}-do${hp.dropout}`;
    if (done.some((p) => p.id === id)) continue;
    const m0 = performance.now();
    const r = trainOne(cfg, hp, i, tr, te, dim, trainDs.numClasses);
    const wallS = (performance.now() - m0) / 1000;
    const point: ModelPoint = { id, ...hp, ...r, wallS };
    done.push(point);
    writeJsonAtomic(progressFile, done);
    const eta = (((performance.now() - t0) / 1000) / (i + 1)) * (grid.length - i - 1);
    ctx.log(`model ${i + 1}/${grid.length} ${id}: train ${(r.trainAcc * 100).toFixed(1)}% test ${(r.testAcc * 100).toFixed(1)}% ` +
      `${r.diverged ? 'DIVERGED (excluded)' : `sharpness ${r.sharpness!.toExponential(3)} adaptive ${r.adaptiveSharpness!.toExponential(3)}`} (${wallS.toFixed(1)}s, ETA ${eta.toFixed(0)}s)`);
    // a model trains synchronously: let the event loop deliver a pending signal before asking
    await new Promise((r) => setImmediate(r));
    if (done.length < grid.length && ctx.shouldStop()) {
      // Ctrl-C / SIGTERM: a model is this task's step; the finished ones are in models.json and the cell resumes there
      ctx.log(`stopping after model ${i + 1}/${grid.length}: ${done.length} model(s) kept in models.json, the cell resumes from there`);
      return;
    }
  }
  const tau = correlations(done);
  ctx.log(`Kendall τ: ${Object.entries(tau).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ')}`);
  new RunFolder(ctx.outDir).writeResultSync({
    status: 'completed', task: 'sharpness_gap', config: cfg, data: { train: trainDs.n, test: testDs.n },
    models: done, kendallTau: tau, wallTimeS: (performance.now() - t0) / 1000,
  });
}
