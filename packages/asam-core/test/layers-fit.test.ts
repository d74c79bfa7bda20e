/**
 * SAM / ASAM through tfjs-layers `compile()` + `fit()` / `fitDataset()` / `trainOnBatch()`: the same steps
 * as the custom loop, clean-pass logs and BatchNorm statistics, no leaks, save/load, and clear refusals.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { asam, registerSharpnessAwareOptimizer, sam, SharpnessAwareOptimizer, type WrapperOptions } from '../src/index';
import { useCpu } from './helpers';

beforeAll(useCpu);

const BATCH = 8;
const STEPS = 10;
const L2 = 1e-3;

/** A small CNN with BatchNorm and L2 regularizers; weights come from `seed`. */
function cnn(seed: number): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      kernelRegularizer: tfl.regularizers.l2({ l2: L2 }) }),
    tfl.layers.batchNormalization({ momentum: 0.9 }),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      kernelRegularizer: tfl.regularizers.l2({ l2: L2 }) }),
  ] });
}

/** Deterministic data: STEPS batches of BATCH images, labels depend on the image. */
function data(n = STEPS * BATCH): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.sin(tf.mul(tf.range(0, n * 6 * 6 * 2), 0.37)).reshape([n, 6, 6, 2]) as tf.Tensor4D;
    const label = tf.mod(tf.cast(tf.floor(tf.add(tf.mul(tf.sum(x, [1, 2, 3]), 3), 100)), 'int32'), 3);
    return { x, y: tf.oneHot(tf.cast(label, 'int32') as tf.Tensor1D, 3) as tf.Tensor2D };
  });
}

/** fit() gets `{ model }`; the custom-loop reference guards the BatchNorm statistics explicitly, the documented custom-loop way. */
type Make = (opts: WrapperOptions) => SharpnessAwareOptimizer;
const METHODS: [string, Make][] = [
  ['SAM', (opts) => sam(tf.train.momentum(0.05, 0.9), { rho: 0.05 }, opts)],
  ['ASAM with coupled weight decay', (opts) => asam(tf.train.momentum(0.05, 0.9), { rho: 0.5, eta: 0.01, weightDecay: 5e-4 }, opts)],
];

function compileWith(model: tfl.LayersModel, opt: tf.Optimizer): void {
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
}

/** The loss tfjs-layers minimizes: mean categorical cross-entropy + the L2 penalties of the two kernels. */
function layersLoss(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, record?: (pred: tf.Tensor) => void): tf.Scalar {
  const pred = model.apply(x, { training: true }) as tf.Tensor;
  record?.(pred);
  let loss = tf.mean(tfl.metrics.categoricalCrossentropy(y, pred)) as tf.Scalar;
  for (const w of model.trainableWeights.filter((v) => v.name.endsWith('kernel'))) loss = tf.add(loss, tf.mul(L2, tf.sum(tf.square(w.read())))) as tf.Scalar;
  return loss;
}

function accuracy(y: tf.Tensor, pred: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tfl.metrics.categoricalAccuracy(y, pred)).dataSync()[0]!);
}

function maxAbsDiff(a: tfl.LayersModel, b: tfl.LayersModel): number {
  let d = 0;
  a.weights.forEach((w, i) => {
    const u = w.read().dataSync();
    const v = b.weights[i]!.read().dataSync();
    for (let j = 0; j < u.length; j++) d = Math.max(d, Math.abs(u[j]! - v[j]!));
  });
  return d;
}

/** The custom-loop reference: one `minimize` per batch in order; returns the clean loss and accuracy of each step. */
function customLoop(model: tfl.LayersModel, opt: SharpnessAwareOptimizer, x: tf.Tensor4D, y: tf.Tensor2D): { loss: number[]; acc: number[]; perturbedAcc: number[] } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const out = { loss: [] as number[], acc: [] as number[], perturbedAcc: [] as number[] };
  for (let s = 0; s < x.shape[0] / BATCH; s++) {
    const [xb, yb] = [x.slice(s * BATCH, BATCH), y.slice(s * BATCH, BATCH)];
    const accs: number[] = [];
    const loss = opt.minimize(() => layersLoss(model, xb, yb, (p) => accs.push(accuracy(yb, p))), true, vars)!;
    out.loss.push(loss.dataSync()[0]!);
    out.acc.push(accs[0]!);
    out.perturbedAcc.push(accs[1]!);
    tf.dispose([loss, xb, yb]);
  }
  return out;
}

describe.each(METHODS)('%s through compile() + fit()', (_name, make) => {
  it('fit() equals the custom loop step for step (weights and BatchNorm statistics to 1e-6 after 10 steps); callbacks see clean-pass logs', async () => {
    const { x, y } = data();
    const fitted = cnn(1);
    const reference = cnn(1);
    reference.setWeights(fitted.getWeights());
    compileWith(fitted, make({ model: fitted }));
    const logs: { loss: number; acc: number }[] = [];
    await fitted.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0,
      callbacks: { onBatchEnd: async (_b, l) => { logs.push({ loss: l!['loss'] as number, acc: l!['acc'] as number }); } } });
    const ref = customLoop(reference, make({ guard: reference.nonTrainableWeights }), x, y);

    expect(maxAbsDiff(fitted, reference)).toBeLessThan(1e-6);
    expect(maxAbsDiff(fitted, cnn(1))).toBeGreaterThan(1e-3); // it trained
    expect(logs).toHaveLength(STEPS);
    logs.forEach((l, s) => {
      expect(l.loss).toBeCloseTo(ref.loss[s]!, 6);
      expect(l.acc).toBe(ref.acc[s]);
    });
    // the clean and perturbed passes disagree on some step, so the check above can tell them apart
    expect(ref.acc.some((a, s) => a !== ref.perturbedAcc[s])).toBe(true);
    tf.dispose([x, y]);
  });

  it('fitDataset() and trainOnBatch() take the same steps; trainOnBatch returns [loss, accuracy] of the clean pass', async () => {
    const { x, y } = data();
    const viaDataset = cnn(2);
    const viaBatch = cnn(2);
    const reference = cnn(2);
    viaBatch.setWeights(viaDataset.getWeights());
    reference.setWeights(viaDataset.getWeights());
    compileWith(viaDataset, make({ model: viaDataset }));
    compileWith(viaBatch, make({ model: viaBatch }));
    let i = 0;
    const dataset = { iterator: async () => ({ next: async () => {
      if (i >= STEPS) return { value: null, done: true };
      const value = { xs: x.slice(i * BATCH, BATCH), ys: y.slice(i * BATCH, BATCH) };
      i++;
      return { value, done: false };
    } }) };
    await viaDataset.fitDataset(dataset as never, { epochs: 1, verbose: 0 });
    const batchOut: number[][] = [];
    for (let s = 0; s < STEPS; s++) {
      const [xb, yb] = [x.slice(s * BATCH, BATCH), y.slice(s * BATCH, BATCH)];
      batchOut.push((await viaBatch.trainOnBatch(xb, yb)) as number[]);
      tf.dispose([xb, yb]);
    }
    const ref = customLoop(reference, make({ guard: reference.nonTrainableWeights }), x, y);
    expect(maxAbsDiff(viaDataset, reference)).toBeLessThan(1e-6);
    expect(maxAbsDiff(viaBatch, reference)).toBeLessThan(1e-6);
    batchOut.forEach((o, s) => {
      expect(o).toHaveLength(2);
      expect(o[0]!).toBeCloseTo(ref.loss[s]!, 6);
      expect(o[1]!).toBe(ref.acc[s]);
    });
    tf.dispose([x, y]);
  });
});

describe('compile() + fit() with a sharpness-aware optimizer', () => {
  it('BatchNorm moving statistics after one step equal those after the clean forward pass alone', async () => {
    const { x, y } = data(BATCH);
    const stepped = cnn(3);
    const clean = cnn(3);
    clean.setWeights(stepped.getWeights());
    compileWith(stepped, asam(tf.train.momentum(0.05, 0.9), { rho: 1.0 }, { model: stepped }));
    await stepped.trainOnBatch(x, y);
    tf.dispose(clean.apply(x, { training: true }) as tf.Tensor); // the clean pass alone, at the same weights
    const stats = (m: tfl.LayersModel) => m.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
    expect(stats(stepped)).toEqual(stats(clean));
    // a second training forward pass would have moved them: the comparison can fail
    tf.dispose(clean.apply(tf.mul(x, 3), { training: true }) as tf.Tensor);
    expect(stats(stepped)).not.toEqual(stats(clean));
    tf.dispose([x, y]);
  });

  it('tf.memory().numTensors is flat over 100 fit() steps with metrics and validation data', async () => {
    const { x, y } = data(4 * 5);
    const model = cnn(4);
    compileWith(model, asam(tf.train.momentum(0.05, 0.9), { rho: 0.5 }, { model }));
    const fitArgs = { batchSize: 4, shuffle: true, verbose: 0 as const, validationData: [x.slice(0, 4), y.slice(0, 4)] as [tf.Tensor, tf.Tensor] };
    await model.fit(x, y, { ...fitArgs, epochs: 1 }); // warm-up: optimizer slots and tfjs-layers' cached constants
    const before = tf.memory().numTensors;
    const h = await model.fit(x, y, { ...fitArgs, epochs: 20 }); // 5 steps per epoch
    expect(tf.memory().numTensors).toBe(before);
    expect(h.history['val_loss']).toHaveLength(20);
    expect(h.history['acc']).toHaveLength(20);
    tf.dispose([x, y, ...fitArgs.validationData]);
  });

  it('History and early stopping work as usual', async () => {
    const { x, y } = data(16);
    const model = cnn(5);
    compileWith(model, sam(tf.train.momentum(0.05, 0.9), { rho: 0.05 }, { model }));
    const h = await model.fit(x, y, { batchSize: 8, epochs: 6, verbose: 0, validationSplit: 0.5,
      callbacks: [tfl.callbacks.earlyStopping({ monitor: 'val_loss', patience: 1, minDelta: 1e9 })] });
    // no epoch can improve val_loss by 1e9: the first sets the best value, the second is one without improvement, then it stops
    expect(h.epoch).toEqual([0, 1]);
    expect(Object.keys(h.history).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
    tf.dispose([x, y]);
  });

  it('model.save() / loadLayersModel() round-trips the model and its optimizer: training continues identically', async () => {
    const { x, y } = data(4 * BATCH);
    const model = cnn(6);
    compileWith(model, asam(tf.train.momentum(0.05, 0.9), { rho: 0.5, eta: 0.02, weightDecay: 1e-4 }, { model }));
    const first = { x: x.slice(0, 2 * BATCH), y: y.slice(0, 2 * BATCH) };
    const rest = { x: x.slice(2 * BATCH), y: y.slice(2 * BATCH) };
    await model.fit(first.x, first.y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    registerSharpnessAwareOptimizer();
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const opt = loaded.optimizer as SharpnessAwareOptimizer;
    expect(opt).toBeInstanceOf(SharpnessAwareOptimizer);
    expect(opt.config).toEqual((model.optimizer as SharpnessAwareOptimizer).config);
    expect(opt.stepCount).toBe(2);
    expect(maxAbsDiff(loaded, model)).toBe(0);
    opt.setModel(loaded);
    await model.fit(rest.x, rest.y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    await loaded.fit(rest.x, rest.y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    expect(maxAbsDiff(loaded, model)).toBeLessThan(1e-6);
    tf.dispose([x, y, first.x, first.y, rest.x, rest.y]);
  });

  it('refuses, with one clear line, a sharpness-aware optimizer compiled without { model } into a model with metrics', async () => {
    const { x, y } = data(BATCH);
    const model = cnn(7);
    compileWith(model, sam(tf.train.momentum(0.05, 0.9), { rho: 0.05 }));
    const w0 = model.getWeights().map((w) => Array.from(w.dataSync()));
    await expect(model.fit(x, y, { batchSize: BATCH, epochs: 1, verbose: 0 })).rejects.toThrow(/compile\(\{ optimizer: asam\(base, \{ rho \}, \{ model \}\)/);
    expect(model.trainableWeights.map((w) => Array.from(w.read().dataSync()))).toEqual(w0.slice(0, model.trainableWeights.length));
    tf.dispose([x, y]);
  });

  it('a functional model (tf.model) trains with fit() as the custom loop does', async () => {
    const { x, y } = data();
    const layersOf = cnn(11);
    const functional = tfl.model({ inputs: layersOf.inputs, outputs: layersOf.outputs });
    const reference = cnn(11);
    reference.setWeights(functional.getWeights());
    compileWith(functional, asam(tf.train.momentum(0.05, 0.9), { rho: 0.5 }, { model: functional }));
    await functional.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    customLoop(reference, asam(tf.train.momentum(0.05, 0.9), { rho: 0.5 }, { guard: reference.nonTrainableWeights }), x, y);
    expect(maxAbsDiff(functional, reference)).toBeLessThan(1e-6);
    expect(maxAbsDiff(functional, cnn(11))).toBeGreaterThan(1e-3);
    tf.dispose([x, y]);
  });

  it('without compiled metrics, an optimizer compiled without { model } takes the same steps (its closure keeps nothing)', async () => {
    const { x, y } = data();
    const fitted = cnn(10);
    const reference = cnn(10);
    reference.setWeights(fitted.getWeights());
    fitted.compile({ optimizer: sam(tf.train.momentum(0.05, 0.9), { rho: 0.05 }), loss: 'categoricalCrossentropy' });
    await fitted.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    customLoop(reference, sam(tf.train.momentum(0.05, 0.9), { rho: 0.05 }, { guard: reference.nonTrainableWeights }), x, y);
    expect(maxAbsDiff(fitted, reference)).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });

  it('refuses mSharpness / microBatches with fit(), naming the custom loop', async () => {
    const { x, y } = data(BATCH);
    const model = cnn(8);
    compileWith(model, sam(tf.train.momentum(0.05, 0.9), { rho: 0.05, mSharpness: 2 }, { model }));
    await expect(model.trainOnBatch(x, y)).rejects.toThrow(/mSharpness \(2\) and microBatches \(1\) must be 1 with fit\(\).*custom loop/);
    tf.dispose([x, y]);
  });

  it('a model prepared with { model } trains as before when compiled with a plain optimizer', async () => {
    const { x, y } = data(BATCH);
    const a = cnn(9);
    const b = cnn(9);
    b.setWeights(a.getWeights());
    sam(tf.train.sgd(0.1), { rho: 0.05 }, { model: a }).dispose();
    compileWith(a, tf.train.sgd(0.1));
    compileWith(b, tf.train.sgd(0.1));
    await a.trainOnBatch(x, y);
    await b.trainOnBatch(x, y);
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([x, y]);
  });
});
