/**
 * ImageNet path of trainClassifier on the real sample folder `$ASAM_DATA_DIR/imagenet-samples` (42 JPEGs, one per
 * class, 1000-class LOC_synset_mapping.txt). The folder has no val split, so every run here evaluates on its train
 * images (`evalSplit: 'train'`): the accuracies are training-set figures. Small crops (32 px) and the tiny
 * ImageNet-family ResNet keep the cpu backend fast.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { ImageFolderBatcher, listImageFolder } from '@asam/data';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../models/registry.ts';
import { readCheckpoint } from '@asam/train';
import { IMAGENET_MEAN, IMAGENET_STD, trainClassifier } from './trainer.ts';
import type { PartialTrainConfig } from './config.ts';

const dataDir = process.env.ASAM_DATA_DIR;
const samplesTrain = dataDir ? join(dataDir, 'imagenet-samples', 'train') : null;
const skipReason = !dataDir ? 'ASAM_DATA_DIR is not set (it must point at the shared data folder holding imagenet-samples/)'
  : !existsSync(samplesTrain as string) ? `${samplesTrain} does not exist` : null;
if (skipReason) console.warn(`[imagenet.test] skipped: ${skipReason}`);

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-vision-inet-'));
const SIZE = 32;
const base = (out: string): PartialTrainConfig => ({
  model: 'resnet10_tiny', dataset: 'imagenet', imagenetFolder: 'imagenet-samples', evalSplit: 'train', imageSize: SIZE, out,
});
const csvRows = (out: string) => readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');

/** Top-1 / top-5 counts by sorting each row of logits in JS (independent of tf.topk / argMax). */
function topkCounts(logits: Float32Array, labels: Int32Array, classes: number): { top1: number; top5: number } {
  let top1 = 0, top5 = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes), (v, c) => ({ v, c }));
    row.sort((a, b) => b.v - a.v || a.c - b.c);
    if (row[0]!.c === labels[i]) top1++;
    if (row.slice(0, 5).some((r) => r.c === labels[i])) top5++;
  }
  return { top1, top5 };
}

describe.skipIf(skipReason !== null)(`trainClassifier on ImageNet samples (resnet10_tiny, ${SIZE} px, cpu)${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

  // SGD and ASAM (SAM shares ASAM's code path in @asam/core and is covered by the CIFAR tests)
  for (const method of ['none', 'asam'] as const) {
    it(`${method}: loss falls over 6 full-batch steps, top-5 written and >= top-1, tensors flat`, async () => {
      const out = tmp();
      const counts: number[] = [];
      const r = await trainClassifier({
        ...base(out), epochs: 6, batchSize: 16, trainLimit: 16, testLimit: 16, evalBatchSize: 16, augment: 'none',
        schedule: 'constant', lr: 0.1, optimizer: { method }, progressEvery: 1,
      }, { dataDir, backend: 'cpu', onProgress: (p) => { if (p.phase === 'train') counts.push(tf.memory().numTensors); } });
      expect(r.status).toBe('completed');
      expect(r).toMatchObject({ task: { numClasses: 1000, trainImages: 16, evalImages: 16 }, steps: 6, epochsCompleted: 6 });
      const rows = csvRows(out);
      expect(rows[0]).toBe('epoch,step,lr,train_loss,train_acc,test_loss,test_acc,test_top5,seconds,images_per_sec');
      const cols = rows.slice(1).map((l) => l.split(',').map(Number));
      const loss = cols.map((c) => c[3]!);
      // the same 16 images every step (eval transform, full batch): the last step's loss is clearly below the first
      expect(loss[5]!).toBeLessThan(loss[0]! - 0.1);
      for (const c of cols) {
        expect(c[7]!).toBeGreaterThanOrEqual(c[6]!); // top-5 >= top-1
        expect(c[7]!).toBeLessThanOrEqual(1);
      }
      expect(counts.length).toBe(6);
      expect(new Set(counts.slice(1)).size).toBe(1); // no tensor leak from step to step
      const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
      expect(res.last.test_top5).toBe(cols[5]![7]);
      expect(res.last.test_top5).toBeGreaterThanOrEqual(res.final.value);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg.config).toMatchObject({ dataset: 'imagenet', imagenetFolder: 'imagenet-samples', imageSize: SIZE, evalSplit: 'train', augment: 'none' });
      expect(cfg.config.optimizer).toMatchObject({ method, weightDecay: 1e-4, rho: { none: 0, asam: 1.0 }[method] });
    });
  }

  it('top-1 / top-5 in metrics.csv equal a JS sort of the logits of the saved model on the eval transform', async () => {
    const out = tmp();
    await trainClassifier({
      ...base(out), epochs: 1, batchSize: 14, trainLimit: 28, evalBatchSize: 21, augment: 'imagenet', lr: 0.2, optimizer: { method: 'none' },
    }, { dataDir });
    const last = csvRows(out).at(-1)!.split(',').map(Number);
    const ck = await readCheckpoint(join(out, 'checkpoint.bin'));
    const m = buildModel('resnet10_tiny', { numClasses: 1000, inputShape: [SIZE, SIZE, 3], seed: 123 });
    try {
      const byName = new Map((ck.groups.model ?? []).map((t) => [t.name, t.data as Float32Array]));
      for (const v of m.all) {
        const key = v.name.slice(m.prefix.length + 1);
        tf.tidy(() => v.assign(tf.tensor(byName.get(key)!, v.shape, 'float32')));
      }
      const index = await listImageFolder(join(dataDir as string, 'imagenet-samples'), 'train');
      expect(index.numClasses).toBe(1000);
      const evalB = new ImageFolderBatcher(index, { batchSize: 42, shuffle: false, seed: 0, mode: 'eval', size: SIZE, mean: IMAGENET_MEAN, std: IMAGENET_STD });
      let top1 = 0, top5 = 0, n = 0;
      for await (const b of evalB.epoch(0)) {
        const logits = tf.tidy(() => m.model.apply(b.x, { training: false }) as tf.Tensor);
        const c = topkCounts(await logits.data() as Float32Array, await b.y.data() as Int32Array, 1000);
        top1 += c.top1; top5 += c.top5; n += b.size;
        tf.dispose([logits, b.x, b.y]);
      }
      expect(n).toBe(42);
      expect(last[6]).toBeCloseTo(top1 / n, 12);
      expect(last[7]).toBeCloseTo(top5 / n, 12);
    } finally {
      m.dispose();
    }
  });

  it('random-resized-crop run interrupted mid-epoch resumes to bit-identical weights and metrics', async () => {
    const cfg = (out: string): PartialTrainConfig => ({
      ...base(out), epochs: 2, batchSize: 8, trainLimit: 24, testLimit: 8, evalBatchSize: 8, augment: 'imagenet',
      checkpointEverySteps: 1, progressEvery: 1, optimizer: { method: 'asam' }, lr: 0.05,
    });
    const full = tmp();
    const a = await trainClassifier(cfg(full), { dataDir, backend: 'cpu' });
    expect(a.status).toBe('completed');

    const cut = tmp();
    // stop at global step 5 (epoch 2, step 2); the last checkpoint then holds epoch 2 step 1: mid-epoch
    await expect(trainClassifier(cfg(cut), {
      dataDir, backend: 'cpu', onProgress: (p) => { if (p.phase === 'train' && p.globalStep === 5) throw new Error('interrupted'); },
    })).rejects.toThrow('interrupted');
    expect(JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8')).status).toBe('running');
    const b = await trainClassifier(cfg(cut), { dataDir, backend: 'cpu', resume: 'require' });
    expect(b.resumedFrom).toEqual({ epoch: 1, step: 1 });
    expect(b.steps).toBe(a.steps);
    const ca = await readCheckpoint(join(full, 'checkpoint.bin'));
    const cb = await readCheckpoint(join(cut, 'checkpoint.bin'));
    // optimizer slot names carry the model instance's prefix (resnet10_tiny_<k>.), which differs within one process
    const all = (c: typeof ca) => Object.values(c.groups).flat();
    const names = (c: typeof ca) => all(c).map((t) => t.name.replace(/^resnet10_tiny(_\d+)?\./, ''));
    expect(names(cb)).toEqual(names(ca));
    expect(ca.groups.optimizer!.length).toBeGreaterThan(1);
    all(ca).forEach((t, i) => {
      expect(Buffer.from(all(cb)[i]!.data.buffer).equals(Buffer.from(t.data.buffer)), t.name).toBe(true);
    });
    const six = (p: string) => csvRows(p).map((l) => l.split(',').slice(0, 8).join(','));
    expect(six(cut)).toEqual(six(full));
  });

  it('a missing ImageNet folder is reported with its path and how to provide it', async () => {
    await expect(trainClassifier({ ...base(tmp()), imagenetFolder: 'no-such-imagenet', epochs: 1 }, { dataDir }))
      .rejects.toThrow(/no-such-imagenet[/\\]train/);
  });

  it('CLI: --dataset imagenet --imagenet-folder imagenet-samples --image-size 32 --eval-split train runs and writes top-5', () => {
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const out = tmp();
    const r = spawnSync(process.execPath, [tsxCli, join(pkg, 'src', 'cli.ts'), '--model', 'resnet10_tiny', '--dataset', 'imagenet',
      '--imagenet-folder', 'imagenet-samples', '--image-size', String(SIZE), '--eval-split', 'train', '--optimizer', 'sgd', '--epochs', '1',
      '--batch-size', '8', '--max-steps-per-epoch', '2', '--test-limit', '8', '--backend', 'cpu', '--data-dir', dataDir as string, '--out', out],
    { encoding: 'utf8', env: process.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/top5 \d+\.\d+%/);
    expect(csvRows(out)[0]).toContain('test_top5');
    const help = spawnSync(process.execPath, [tsxCli, join(pkg, 'src', 'cli.ts'), '--help'], { encoding: 'utf8' });
    expect(help.stdout).toMatch(/--imagenet-folder/);
    expect(help.stdout).toMatch(/--image-size/);
    expect(help.stdout).toMatch(/--eval-split/);
  }, 120_000);
});
