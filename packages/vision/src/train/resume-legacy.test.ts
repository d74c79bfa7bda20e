/**
 * A run folder whose checkpoint is in the older `ASAMCKPT1\n` layout, with the older trainer's state (written before
 * @asam/train's runtime: the state of the committed benchmark cells), resumes
 * and finishes with the same weights, optimizer state and metrics, bit for bit, as the same run uninterrupted; the
 * checkpoints it writes from then on are in the current layout. wasm backend (one thread, deterministic), synthetic
 * CIFAR-10 written by the test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '@asam/engine';
import { writeSyntheticCifar10 } from '@asam/data';
import { readCheckpoint as readAnyLayout, type RuntimeState } from '@asam/train';
import { writeLegacyVisionCheckpoint } from '@asam/train/testing';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartialTrainConfig } from './config.ts';
import { trainClassifier } from './trainer.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-vision-legacy-'));
const dataDir = tmp();
beforeAll(async () => {
  writeSyntheticCifar10(dataDir, { train: 24, test: 8, seed: 0 });
  await initEngine({ backend: 'wasm' });
});

const cfg = (out: string): PartialTrainConfig => ({
  model: 'resnet8_tiny', out, epochs: 2, batchSize: 8, trainLimit: 24, testLimit: 8, evalBatchSize: 8, augment: 'cifar',
  checkpointEverySteps: 1, progressEvery: 1, optimizer: { method: 'asam' }, lr: 0.05,
});

describe('resume from an ASAMCKPT1 checkpoint', () => {
  it('ends with the weights, optimizer state and metrics of the uninterrupted run', async () => {
    const full = tmp();
    const a = await trainClassifier(cfg(full), { dataDir, backend: 'wasm' });
    expect(a.status).toBe('completed');

    const cut = tmp();
    // stop at global step 5 (epoch 2, step 2): the last checkpoint holds epoch 2 step 1, mid-epoch
    await expect(trainClassifier(cfg(cut), {
      dataDir, backend: 'wasm', onProgress: (p) => { if (p.phase === 'train' && p.globalStep === 5) throw new Error('interrupted'); },
    })).rejects.toThrow('interrupted');
    expect(JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8')).status).toBe('running');

    // rewrite that checkpoint with the writer of the older layout, as a run checkpointed before the move would hold it
    const ckpt = join(cut, 'checkpoint.bin');
    const mid = await readAnyLayout(ckpt);
    expect(mid.layout).toBe('current');
    // ... with the training state that trainer kept (correct-prediction counts, rows without a step column)
    const st = mid.meta as RuntimeState;
    const legacyState = {
      modelId: 'resnet8_tiny', config: {}, epoch: st.epoch, stepInEpoch: st.stepInEpoch, globalStep: st.globalStep,
      rows: st.rows.map(({ step: _step, ...row }) => ({ ...row, test_top5: null })), epochLossSum: st.epochLossSum,
      epochCorrect: st.epochSums.acc, epochSeen: st.epochWeight, epochTrainSeconds: st.epochTrainSeconds, dropoutRng: {},
      wallSeconds: st.wallSeconds, stepSecondsSum: st.stepSecondsSum, stepsTimed: st.stepsTimed,
    };
    await writeLegacyVisionCheckpoint(ckpt, legacyState, Object.entries(mid.groups).flatMap(([group, list]) =>
      list.map((t) => ({ group, name: t.name, shape: t.shape, data: t.data as Float32Array | Int32Array }))));
    expect(readFileSync(ckpt).subarray(0, 10).toString('latin1')).toBe('ASAMCKPT1\n');
    expect((await readAnyLayout(ckpt)).layout).toBe('legacy-vision');

    const b = await trainClassifier(cfg(cut), { dataDir, backend: 'wasm', resume: 'require' });
    expect(b.resumedFrom).toEqual({ epoch: 1, step: 1 });
    expect(b.steps).toBe(a.steps);
    expect((await readAnyLayout(ckpt)).layout).toBe('current');

    const ca = await readAnyLayout(join(full, 'checkpoint.bin'));
    const cb = await readAnyLayout(ckpt);
    const all = (c: typeof ca) => Object.entries(c.groups).flatMap(([group, list]) => list.map((t) => ({ group, ...t })));
    // optimizer slot names carry the model instance's prefix (resnet8_tiny_<k>.), which differs within one process
    const names = (c: typeof ca) => all(c).map((t) => `${t.group}/${t.name.replace(/^resnet8_tiny(_\d+)?\./, '')}`);
    expect(names(cb)).toEqual(names(ca));
    expect(ca.groups.optimizer!.length).toBeGreaterThan(1);
    all(ca).forEach((t, i) => {
      expect(Buffer.from(all(cb)[i]!.data.buffer).equals(Buffer.from(t.data.buffer)), t.name).toBe(true);
    });
    const rows = (p: string) => readFileSync(join(p, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 7).join(','));
    expect(rows(cut)).toEqual(rows(full));
  });
});
