import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { sharpnessAware } from '@asam/core';
import { loadCifar10, writeSyntheticCifar10, CIFAR10_MEAN, CIFAR10_STD, ImageBatcher } from '@asam/data';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from '../models/registry.ts';
import { readCheckpoint, type RunResult } from '@asam/train';
import { trainClassifier } from './trainer.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-vision-'));

// Every test runs on a small synthetic CIFAR-10 written here (learnable class patterns, the official file layout), so
// the suite needs no data. With ASAM_DATA_DIR set (CI points it at the real data) the tests whose outcome depends on
// the images (loss falls, label noise) run on the real CIFAR-10 files as well; a missing file there fails the test.
const synthetic = tmp();
const realDataDir = process.env.ASAM_DATA_DIR || undefined;

beforeAll(async () => {
  writeSyntheticCifar10(synthetic, { train: 200, test: 32, seed: 0 });
  await initEngine({ backend: 'wasm' });
});

const dataSources: { name: string; dir: string }[] = [
  { name: 'synthetic CIFAR-10', dir: synthetic },
  ...(realDataDir === undefined ? [] : [{ name: `the real CIFAR-10 subset in ASAM_DATA_DIR`, dir: realDataDir }]),
];

for (const { name: dataName, dir: dataDir } of dataSources) describe(`trainClassifier on ${dataName} (resnet8_tiny, wasm)`, () => {
  for (const method of ['none', 'sam', 'asam'] as const) {
    it(`${method}: train loss falls over 5 steps, tensors stay flat, run files written`, async () => {
      const out = tmp();
      const counts: number[] = [];
      const r: RunResult = await trainClassifier({
        model: 'resnet8_tiny', out, epochs: 5, batchSize: 16, trainLimit: 16, testLimit: 16, evalBatchSize: 16,
        augment: 'none', schedule: 'constant', lr: 0.1, optimizer: { method }, progressEvery: 1,
      }, { dataDir, backend: 'wasm', onProgress: (p) => { if (p.phase === 'train') counts.push(tf.memory().numTensors); } });
      expect(r.status).toBe('completed');
      expect(r.epochsCompleted).toBe(5);
      const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toBe('epoch,step,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec');
      expect(csv.length).toBe(6);
      const loss = csv.slice(1).map((l) => Number(l.split(',')[3]));
      // same 16 images every step (full batch): the loss at the 5th step is clearly below the first
      expect(loss[4]!).toBeLessThan(loss[0]! - 0.05);
      expect(counts.length).toBe(5);
      expect(new Set(counts.slice(1)).size).toBe(1); // no tensor leak from step to step
      const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
      expect(res).toMatchObject({ format: 'asam-run/1', status: 'completed', backend: 'wasm', epochsCompleted: 5, steps: 5, task: { method } });
      expect(res.best.metric).toBe('test_acc');
      expect(res.best.value).toBeGreaterThanOrEqual(res.final.value);
      expect(res.final.value).toBe(res.last.test_acc);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ format: 'asam-config/1', task: 'vision', runtime: { out, epochs: 5 } });
      expect(cfg.config.optimizer.method).toBe(method);
      expect(cfg.config.optimizer.weightDecay).toBe(5e-4);
      expect(res.taskId).toBe('vision');
      expect(res.metrics.headline).toBe('test_acc');
      expect(existsSync(join(out, 'checkpoint.bin'))).toBe(true);
    });
  }

  it('label noise: noisy train labels saved beside the run, evaluation on clean test labels', async () => {
    const out = tmp();
    const r = await trainClassifier({
      model: 'resnet8_tiny', out, epochs: 1, batchSize: 16, trainLimit: 200, testLimit: 16, evalBatchSize: 16,
      maxStepsPerEpoch: 1, labelNoise: { rate: 0.4, kind: 'symmetric' }, optimizer: { method: 'none' },
    }, { dataDir });
    expect(r.status).toBe('completed');
    const noise = JSON.parse(readFileSync(join(out, 'label-noise.json'), 'utf8'));
    expect(noise).toMatchObject({ kind: 'symmetric', rate: 0.4, n: 200 });
    expect(noise.realisedRate).toBeGreaterThan(0.35);
    expect(noise.realisedRate).toBeLessThan(0.45);
    const clean = await loadCifar10(dataDir, 'train', { limit: 200 });
    for (let j = 0; j < noise.flippedIndices.length; j++) expect(noise.newLabels[j]).not.toBe(clean.labels[noise.flippedIndices[j]]);
  });
});

// How the trainer computes, checkpoints and refuses: independent of what the images show, run on the synthetic set.
describe('trainClassifier mechanics (resnet8_tiny, wasm, synthetic CIFAR-10)', () => {
  const dataDir = synthetic;

  it('BN moving statistics after a SAM/ASAM step equal those after the clean pass alone', async () => {
    const ds = await loadCifar10(dataDir, 'train', { limit: 8 });
    const batcher = new ImageBatcher(ds, { batchSize: 8, shuffle: false, seed: 0, mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] });
    const it = batcher.epoch(0)[Symbol.asyncIterator]();
    const b = (await it.next()).value as { x: tf.Tensor4D; y: tf.Tensor1D };
    for (const method of ['sam', 'asam'] as const) {
      const m = buildModel('resnet8_tiny', { seed: 1 });
      try {
        const init = m.bnStats.map((v) => tf.clone(v));
        // clean pass only (training mode updates the moving statistics inside call)
        tf.tidy(() => { m.model.apply(b.x, { training: true }); });
        const clean = await Promise.all(m.bnStats.map((v) => v.data()));
        m.bnStats.forEach((v, i) => v.assign(init[i]!));
        const opt = sharpnessAware(tf.train.momentum(0.1, 0.9), { method, rho: method === 'sam' ? 0.05 : 0.5 }, { guard: m.bnStats });
        let calls = 0;
        const loss = opt.minimize(() => {
          calls++;
          const logits = m.model.apply(b.x, { training: true }) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(tf.oneHot(b.y, 10), logits) as tf.Scalar;
        }, true, m.trainable);
        loss?.dispose();
        expect(calls).toBe(2); // clean + perturbed pass
        const after = await Promise.all(m.bnStats.map((v) => v.data()));
        after.forEach((a, i) => expect(Array.from(a), m.bnStats[i]!.name).toEqual(Array.from(clean[i]!)));
        // and they did move away from the initial values (the clean pass updated them)
        expect(Array.from(after[0]!)).not.toEqual(Array.from(await init[0]!.data()));
        tf.dispose(init);
        opt.dispose();
      } finally {
        m.dispose();
      }
    }
    b.x.dispose(); b.y.dispose();
  });

  it("bnStatistics 'both-passes' reaches the step: the moving statistics after one SAM step differ from 'clean-pass' ones", async () => {
    const stats = async (bnStatistics: 'clean-pass' | 'both-passes') => {
      const out = tmp();
      const r = await trainClassifier({
        model: 'resnet8_tiny', out, epochs: 1, batchSize: 8, trainLimit: 8, testLimit: 8, evalBatchSize: 8,
        augment: 'none', schedule: 'constant', lr: 0.1, optimizer: { method: 'sam', rho: 0.05, bnStatistics },
      }, { dataDir, backend: 'wasm' });
      expect(r.steps).toBe(1);
      const ck = await readCheckpoint(join(out, 'checkpoint.bin'));
      const moving = (ck.groups.model ?? []).filter((t) => /moving_(mean|variance)/.test(t.name));
      expect(moving.length).toBeGreaterThan(0);
      return moving.map((t) => Array.from(t.data as Float32Array));
    };
    const clean = await stats('clean-pass');
    const both = await stats('both-passes');
    // the trainer guards model.statistics; that guard once restored them after the perturbed pass under either policy
    expect(both).not.toEqual(clean);
  });

  it('microBatch: a 10-image batch in slices of at most 4 trains (ASAM), counts every image once, leaks nothing; microBatch = batch is the plain step', async () => {
    const base = { model: 'resnet8_tiny', epochs: 3, batchSize: 10, trainLimit: 10, testLimit: 8, evalBatchSize: 8,
      augment: 'none' as const, schedule: 'constant' as const, lr: 0.05, optimizer: { method: 'asam' as const }, progressEvery: 1 };
    const counts: number[] = [];
    const sliced = tmp();
    const r = await trainClassifier({ ...base, out: sliced, microBatch: 4 },
      { dataDir, backend: 'wasm', onProgress: (p) => { if (p.phase === 'train') counts.push(tf.memory().numTensors); } });
    expect(r.status).toBe('completed');
    expect(JSON.parse(readFileSync(join(sliced, 'config.json'), 'utf8')).runtime.microBatch).toBe(4);
    const rows = readFileSync(join(sliced, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    for (const row of rows) {
      expect(Number.isFinite(row[3])).toBe(true);
      const correct = row[4]! * 10; // train accuracy over the 10 images: a whole number of them
      expect(Math.abs(correct - Math.round(correct))).toBeLessThan(1e-6);
    }
    expect(rows[2]![3]!).toBeLessThan(rows[0]![3]!);
    expect(new Set(counts.slice(1)).size).toBe(1);
    // one slice of the whole batch: the same run as no micro-batching
    const whole = tmp();
    const one = tmp();
    await trainClassifier({ ...base, epochs: 1, out: whole }, { dataDir, backend: 'wasm' });
    await trainClassifier({ ...base, epochs: 1, out: one, microBatch: 10 }, { dataDir, backend: 'wasm' });
    const metric = (dir: string) => readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n')[1]!.split(',').slice(0, 7);
    expect(metric(one)).toEqual(metric(whole));
  });

  it('workers: 2 data-parallel workers take the same steps as one process with microBatch = batch/2 (ASAM, weight decay)', async () => {
    const base = { model: 'resnet8_tiny', epochs: 2, batchSize: 8, trainLimit: 16, testLimit: 8, evalBatchSize: 8,
      augment: 'none' as const, schedule: 'constant' as const, lr: 0.05, optimizer: { method: 'asam' as const }, progressEvery: 1 };
    const par = tmp();
    const seq = tmp();
    const counts: number[] = [];
    const r = await trainClassifier({ ...base, out: par, workers: 2 },
      { dataDir, backend: 'wasm', onProgress: (p) => { if (p.phase === 'train') counts.push(tf.memory().numTensors); } });
    await trainClassifier({ ...base, out: seq, microBatch: 4 }, { dataDir, backend: 'wasm' });
    expect(r.status).toBe('completed');
    expect(new Set(counts.slice(1)).size).toBe(1); // the main thread leaks nothing per step
    const rows = (dir: string) => readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const a = rows(par);
    const b = rows(seq);
    expect(a.length).toBe(2);
    a.forEach((row, i) => {
      expect(Math.abs(row[3]! - b[i]![3]!) / Math.abs(b[i]![3]!), `train_loss epoch ${i + 1}`).toBeLessThan(1e-4);
      expect(row[4], `train_acc epoch ${i + 1}`).toBe(b[i]![4]);
    });
    const weights = async (dir: string) => ((await readCheckpoint(join(dir, 'checkpoint.bin'))).groups.model ?? [])
      .filter((t) => !/moving_/.test(t.name));
    const wa = await weights(par);
    const wb = await weights(seq);
    expect(wa.map((t) => t.name)).toEqual(wb.map((t) => t.name));
    wa.forEach((t, i) => {
      let err = 0;
      let ref = 0;
      t.data.forEach((v, j) => { err = Math.max(err, Math.abs(v - wb[i]!.data[j]!)); ref = Math.max(ref, Math.abs(wb[i]!.data[j]!)); });
      expect(err / ref, t.name).toBeLessThan(1e-4);
    });
  });

  it('a diverging run (lr 1e6) stops with status "diverged" and keeps the last good checkpoint', async () => {
    const out = tmp();
    const r = await trainClassifier({
      model: 'resnet8_tiny', out, epochs: 3, batchSize: 8, trainLimit: 32, testLimit: 8, evalBatchSize: 8, lr: 1e6,
      schedule: 'constant', optimizer: { method: 'none' }, checkpointEverySteps: 1, augment: 'none',
    }, { dataDir });
    expect(r.status).toBe('diverged');
    expect(r.divergedAt).not.toBeNull();
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res.status).toBe('diverged');
    if (existsSync(join(out, 'checkpoint.bin'))) {
      const ck = await readCheckpoint<{ globalStep: number }>(join(out, 'checkpoint.bin'));
      for (const t of Object.values(ck.groups).flat()) for (const x of t.data) expect(Number.isFinite(x)).toBe(true);
      expect(ck.meta.globalStep).toBeLessThanOrEqual(r.steps);
    }
  });

  it('refuses to overwrite a run with a checkpoint unless resuming, and rejects a changed config', async () => {
    const out = tmp();
    const base = { model: 'resnet8_tiny', out, epochs: 1, batchSize: 8, trainLimit: 8, testLimit: 8, evalBatchSize: 8, optimizer: { method: 'none' as const } };
    await trainClassifier(base, { dataDir });
    await expect(trainClassifier(base, { dataDir, resume: 'never' })).rejects.toThrow(/checkpoint\.bin exists/);
    await expect(trainClassifier({ ...base, lr: 0.2 }, { dataDir })).rejects.toThrow(/config\.json differs .*lr: 0\.1 vs 0\.2/);
    await expect(trainClassifier({ ...base, model: 'resnet8_tinyy' }, { dataDir })).rejects.toThrow(/valid models: resnet20/);
    // how a step is computed may change on resume (e.g. micro-batching after running out of memory)
    await expect(trainClassifier({ ...base, microBatch: 4, progressEvery: 3 }, { dataDir })).resolves.toMatchObject({ status: 'completed' });
  });
});
