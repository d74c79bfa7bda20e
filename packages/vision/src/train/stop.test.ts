/**
 * hooks.shouldStop (what a SIGTERM handler sets): the run writes a checkpoint at the step where it is asked, returns
 * 'stopped', and the same config resumes from that step to the weights of the uninterrupted run, bit for bit.
 * wasm backend (one thread, deterministic), synthetic CIFAR-10 written by the test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '@asam/engine';
import { writeSyntheticCifar10 } from '@asam/data';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartialTrainConfig } from './config.ts';
import { readCheckpoint } from '@asam/train';
import { trainClassifier } from './trainer.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-vision-stop-'));
const dataDir = tmp();
beforeAll(async () => {
  writeSyntheticCifar10(dataDir, { train: 24, test: 8, seed: 0 });
  await initEngine({ backend: 'wasm' });
});

// Checkpoints only at epoch ends: the checkpoint of a stopped run comes from the stop itself.
const cfg = (out: string): PartialTrainConfig => ({
  model: 'resnet8_tiny', out, epochs: 2, batchSize: 8, trainLimit: 24, testLimit: 8, evalBatchSize: 8, augment: 'cifar',
  progressEvery: 1, optimizer: { method: 'sam' }, lr: 0.05,
});

describe('shouldStop', () => {
  it('checkpoints at the step it is asked, and the resumed run ends equal to the uninterrupted one', async () => {
    const full = tmp();
    const a = await trainClassifier(cfg(full), { dataDir, backend: 'wasm' });
    expect(a.status).toBe('completed');

    const cut = tmp();
    let step = 0;
    const s = await trainClassifier(cfg(cut), {
      dataDir, backend: 'wasm', onProgress: (p) => { if (p.phase === 'train') step = p.globalStep; }, shouldStop: () => step >= 4,
    });
    expect(s.status).toBe('stopped');
    expect(s.steps).toBe(4); // epoch 2, step 1 of 3: mid-epoch
    expect(JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8')).status).toBe('stopped');
    const mid = await readCheckpoint(join(cut, 'checkpoint.bin'));
    expect((mid.meta as { globalStep: number; stepInEpoch: number }).globalStep).toBe(4);
    expect((mid.meta as { globalStep: number; stepInEpoch: number }).stepInEpoch).toBe(1);

    const b = await trainClassifier(cfg(cut), { dataDir, backend: 'wasm', resume: 'require' });
    expect(b.status).toBe('completed');
    expect(b.resumedFrom).toEqual({ epoch: 1, step: 1 });
    const ca = await readCheckpoint(join(full, 'checkpoint.bin'));
    const cb = await readCheckpoint(join(cut, 'checkpoint.bin'));
    const all = (c: typeof ca) => Object.values(c.groups).flat();
    expect(all(cb).length).toBe(all(ca).length);
    all(ca).forEach((t, i) => expect(Buffer.from(all(cb)[i]!.data.buffer).equals(Buffer.from(t.data.buffer)), t.name).toBe(true));
  });

  it('asked at an epoch end, stops after that epoch\'s checkpoint', async () => {
    const out = tmp();
    const r = await trainClassifier(cfg(out), { dataDir, backend: 'wasm', shouldStop: () => existsSync(join(out, 'metrics.csv')) });
    expect(r.status).toBe('stopped');
    expect(r.epochsCompleted).toBe(1);
  });
});
