/**
 * A benchmark run folder as the runtime before the registry wrote it resumes under runTask: the flat config.json
 * (from before the runtime section), its checkpoint and its cell.json, kept in test/fixtures/flat-run-folder as
 * committed to benchmarks/results/cpu/runs/cifar10_resnet20/sam-rho0.05-seed3 at commit a701079 (that cell has since
 * finished and its checkpoint left the results). The flat config is read through the runtime's names, equals the
 * cell's config (so the resume is not refused and nothing restarts), and the run goes on from the checkpoint's step
 * with its state (the rows of every finished epoch). The folder is copied to a temporary one; the images are synthetic
 * CIFAR-10 of the same shape (the test needs no dataset), so one step is taken and the run stops there.
 */
import { writeSyntheticCifar10 } from '@asam/data';
import { initEngine } from '@asam/engine';
import { readCheckpoint, type RuntimeState } from '@asam/train';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from './config.ts';
import { trainClassifier, visionConfigOfRun } from './trainer.ts';

const CELL = fileURLToPath(new URL('../../test/fixtures/flat-run-folder/', import.meta.url));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'asam-vision-committed-'));
const dataDir = tmp();
beforeAll(async () => {
  writeSyntheticCifar10(dataDir, { train: 4000, test: 1000, seed: 0 });
  await initEngine({ backend: 'wasm' });
});

describe('a committed benchmark run folder (flat config.json) under runTask', () => {
  it('is accepted on resume and continues from its checkpoint\'s step with its finished epochs', async () => {
    const out = tmp();
    for (const f of ['config.json', 'checkpoint.bin', 'cell.json']) copyFileSync(join(CELL, f), join(out, f));
    // the folder as the runtime before the registry left it: a flat config.json without the fields added since
    const flat = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(flat.format).toBeUndefined();
    // the cell's config, as the benchmark cell hands it over today, resolves to the same config the folder holds
    const cell = JSON.parse(readFileSync(join(out, 'cell.json'), 'utf8'));
    // (the saved file lacks the fields added since it was written; resolved, each takes its default, e.g.
    // optimizer.perturbedDropout 'reuse', and everything it holds is unchanged)
    const filled = resolveConfig(flat);
    expect(filled).toMatchObject(flat);
    expect(resolveConfig({ ...cell.config, out: flat.out })).toEqual(filled);
    expect(visionConfigOfRun(flat)).toEqual(filled);

    const before = await readCheckpoint<RuntimeState>(join(out, 'checkpoint.bin'));
    const r = await trainClassifier({ ...cell.config, out }, { dataDir, backend: 'wasm', resume: 'require', shouldStop: () => true });
    expect(r.status).toBe('stopped');
    expect(r.resumedFrom).toEqual({ epoch: before.meta.epoch, step: before.meta.stepInEpoch });
    expect(r.steps).toBe(before.meta.globalStep + 1);
    expect(r.epochsCompleted).toBe(before.meta.rows.length);
    const after = await readCheckpoint<RuntimeState>(join(out, 'checkpoint.bin'));
    expect(after.meta.rows).toEqual(before.meta.rows);
    // config.json is now in the runtime's layout, with the same settings
    const now = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(now).toMatchObject({ format: 'asam-config/1', task: 'vision', runtime: { out, epochs: 120, maxSteps: null } });
    expect(visionConfigOfRun(now)).toEqual({ ...filled, out });
  }, 120_000);
});
