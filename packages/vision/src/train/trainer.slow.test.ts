/**
 * Longer training runs (`pnpm test:slow`): SGD, SAM and ASAM each learn to classify held-out images, not only lower
 * the loss on the batch they saw. On a synthetic CIFAR-10 written here always; with ASAM_DATA_DIR set, also on a
 * subset of the real CIFAR-10.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '@asam/engine';
import { writeSyntheticCifar10 } from '@asam/data';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainClassifier } from './trainer.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-vision-slow-'));
const synthetic = tmp();
const realDataDir = process.env.ASAM_DATA_DIR || undefined;

beforeAll(async () => {
  writeSyntheticCifar10(synthetic, { train: 400, test: 200, seed: 1 });
  await initEngine({ backend: 'wasm' });
});

const testAcc = (out: string): number[] =>
  readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[6]));

describe('training generalises (resnet8_tiny, wasm)', () => {
  for (const method of ['none', 'sam', 'asam'] as const) {
    it(`${method}: 3 epochs on 400 synthetic images label 200 held-out ones far above chance (10%)`, async () => {
      const out = tmp();
      const r = await trainClassifier({
        model: 'resnet8_tiny', out, epochs: 3, batchSize: 32, evalBatchSize: 100, lr: 0.05, schedule: 'cosine',
        augment: 'cifar', optimizer: { method },
      }, { dataDir: synthetic, backend: 'wasm' });
      expect(r).toMatchObject({ status: 'completed', epochsCompleted: 3, task: { trainImages: 400, evalImages: 200 } });
      const acc = testAcc(out);
      expect(acc[2]!).toBeGreaterThan(0.6);
      expect(r.final?.value).toBe(acc[2]);
    });
  }

  it.skipIf(realDataDir === undefined)('real CIFAR-10 (ASAM_DATA_DIR): ASAM, 3 epochs on 2,000 images, above chance on 1,000 test images', async () => {
    const out = tmp();
    const r = await trainClassifier({
      model: 'resnet8_tiny', out, epochs: 3, batchSize: 64, evalBatchSize: 250, trainLimit: 2000, testLimit: 1000, lr: 0.1,
      schedule: 'cosine', augment: 'cifar', optimizer: { method: 'asam' },
    }, { dataDir: realDataDir!, backend: 'wasm' });
    expect(r).toMatchObject({ status: 'completed', task: { trainImages: 2000, evalImages: 1000 } });
    expect(r.final!.value).toBeGreaterThan(0.2);
  });
});
