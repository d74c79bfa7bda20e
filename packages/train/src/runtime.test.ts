/**
 * The runtime on the toy task (softmax regression, cpu backend: deterministic): the run folder it writes, resume bit
 * for bit, the resume policy, divergence, micro-batches and data-parallel workers against the single-pass step, and
 * the refusal of the older trainers' checkpoint states and result files.
 */
import { initEngine } from '@asam/engine';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.ts';
import { readRunResult } from './run-folder.ts';
import { RunLockedError } from './run-lock.ts';
import { evaluationsLeft, ResumeError, runtimeStateOf, train, type TrainOptions } from './runtime.ts';
import { constantSchedule } from './schedules.ts';
import { toyTask, type ToyTaskOptions } from './testing/toy-task.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-runtime-'));
beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

const TOY: ToyTaskOptions = { features: 6, classes: 3, seed: 3, rows: 40, batchSize: 8, validRows: 32, statistics: true, sharpness: { method: 'asam', rho: 0.5 } };

/** Trains a fresh toy task into `out`; returns the result and the final weights (host copies). */
async function run(out: string, o: Partial<TrainOptions> = {}, toy: Partial<ToyTaskOptions> = {}) {
  const task = toyTask({ ...TOY, ...toy });
  try {
    const r = await train(task, { out, config: { toy: { ...TOY, ...toy }, workers: o.workers ?? 1, microBatch: o.microBatch ?? null }, executionFields: ['workers', 'microBatch'],
      epochs: 3, schedule: constantSchedule(0.5), ...o });
    const weights = task.model.variables.map((v) => Array.from(v.variable.dataSync()));
    return { r, weights };
  } finally {
    task.optimizer.dispose();
    task.model.dispose();
  }
}

const csv = (out: string): string[] => fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');

describe('train (toy task, cpu)', () => {
  it('writes the run folder: config.json, metrics.csv in the one column convention, result.json; the loss falls; no tensor leaks', async () => {
    const out = tmp();
    const counts: number[] = [];
    const running: Array<[string, number]> = [];
    const { r } = await run(out, {
      progressEvery: 1, onProgress: (p) => { if (p.phase === 'train') counts.push(tf.memory().numTensors); },
      onEpoch: () => { const x = readRunResult(out)!; running.push([x.status, x.epochsCompleted]); },
    });
    expect(r).toMatchObject({ format: 'asam-run/1', status: 'completed', epochs: 3, epochsCompleted: 3, steps: 15, resumedFrom: null, divergedAt: null, task: { kind: 'toy' } });
    const rows = csv(out);
    expect(rows[0]).toBe('epoch,step,lr,train_loss,train_acc,valid_loss,valid_acc,seconds,rows_per_sec');
    const loss = rows.slice(1).map((l) => Number(l.split(',')[3]));
    expect(loss[2]!).toBeLessThan(loss[0]!);
    expect(r.best!.metric).toBe('valid_acc');
    expect(r.final).toEqual({ metric: 'valid_acc', value: r.last!.valid_acc });
    expect(readRunResult(out)).toEqual(r);
    // while running, result.json follows the epochs as they complete
    expect(running).toEqual([['running', 1], ['running', 2], ['running', 3]]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ workers: 1 });
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('stopped mid-epoch and resumed, a run ends with the weights, optimizer state and metrics of the uninterrupted one, bit for bit', async () => {
    const full = tmp();
    const a = await run(full);
    const cut = tmp();
    let step = 0;
    const s = await run(cut, { onProgress: (p) => { step = p.globalStep; }, progressEvery: 1, shouldStop: () => step >= 7 });
    expect(s.r).toMatchObject({ status: 'stopped', steps: 7 });
    expect(readRunResult(cut)!.status).toBe('stopped');
    const b = await run(cut, { resume: 'require' });
    expect(b.r.resumedFrom).toEqual({ epoch: 1, step: 2 });
    expect(b.weights).toEqual(a.weights);
    const ca = await readCheckpoint(path.join(full, 'checkpoint.bin'));
    const cb = await readCheckpoint(path.join(cut, 'checkpoint.bin'));
    // optimizer slot names carry the model instance's scope (toy_<k>/), which differs within one process
    const strip = (c: typeof ca) => Object.values(c.groups).flat().map((t) => ({ ...t, name: t.name.replace(/^toy_\d+\//, '') }));
    expect(strip(cb)).toEqual(strip(ca));
    const noTime = (rows: string[]) => rows.map((l) => l.split(',').slice(0, 7).join(','));
    expect(noTime(csv(cut))).toEqual(noTime(csv(full)));
  });

  it('resume policy: refuses a folder with a checkpoint under "never", requires one under "require", refuses a changed config naming the field, accepts changed execution fields', async () => {
    const out = tmp();
    await run(out, { epochs: 1 });
    await expect(run(out, { epochs: 1, resume: 'never' })).rejects.toThrow(ResumeError);
    await expect(run(tmp(), { epochs: 1, resume: 'require' })).rejects.toThrow(/no checkpoint at/);
    await expect(run(out, { epochs: 1 }, { seed: 4 })).rejects.toThrow(/config\.json differs from this config \(toy\.seed: 3 vs 4\)/);
    await expect(run(out, { epochs: 1, microBatch: 3 })).resolves.toMatchObject({ r: { status: 'completed' } });
  });

  it('a folder another live process trains is refused before anything is written (run.lock); the lock is given back after a run', async () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, 'run.lock'), JSON.stringify({ format: 'asam-run-lock/1', host: os.hostname(), bootId: null, pid: process.pid, pidStart: null,
      childPid: null, childStart: null, token: 'another-process', since: '2026-12-07T03:00:00.000Z', what: 'pnpm bench' }));
    await expect(run(out)).rejects.toThrow(RunLockedError);
    expect(fs.readdirSync(out)).toEqual(['run.lock']);
    fs.rmSync(path.join(out, 'run.lock'));
    await run(out, { epochs: 1 });
    expect(fs.existsSync(path.join(out, 'run.lock'))).toBe(false);
  });

  it('a second train() on a folder this process already trains is refused in one line; the first run completes as if alone', async () => {
    const out = tmp();
    const alone = await run(tmp());
    const [first, second] = await Promise.allSettled([run(out), run(out)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    const err = (second as PromiseRejectedResult).reason as Error;
    expect(err).toBeInstanceOf(RunLockedError);
    expect(err.message).toBe(`${path.resolve(out)} is already being trained by this process (training); a second training on the same run folder would write into the first one's run: wait for the first to end, or give each run its own folder`);
    const r = (first as PromiseFulfilledResult<Awaited<ReturnType<typeof run>>>).value;
    expect(r.r.status).toBe('completed');
    expect(r.weights).toEqual(alone.weights);
    expect(fs.existsSync(path.join(out, 'run.lock'))).toBe(false);
    // given back: the folder trains again (resumed: the run is complete)
    await expect(run(out)).resolves.toMatchObject({ r: { status: 'completed' } });
  });

  it('a diverging run stops with status "diverged" and keeps the last good checkpoint', async () => {
    const out = tmp();
    const { r } = await run(out, { schedule: constantSchedule(1e38), checkpointEverySteps: 1 }, { sharpness: { method: 'none', rho: 0 } });
    expect(r.status).toBe('diverged');
    expect(r.divergedAt).not.toBeNull();
    if (fs.existsSync(path.join(out, 'checkpoint.bin'))) {
      const ck = await readCheckpoint(path.join(out, 'checkpoint.bin'));
      for (const t of ck.groups.model!) for (const v of t.data) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('micro-batches of a batch give the whole-batch step (no statistics: up to float rounding); data-parallel workers give the micro-batched step', async () => {
    const noStats = { statistics: false };
    const whole = await run(tmp(), {}, noStats);
    const sliced = await run(tmp(), { microBatch: 4 }, noStats);
    whole.weights.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - sliced.weights[i]![j]!)).toBeLessThan(1e-5)));
    // with statistics: two workers take the steps of one process with micro-batches of half a batch (the statistics
    // differ by design: written once per slice in turn there, the share-weighted mean of the workers' here)
    const seq = await run(tmp(), { microBatch: 4 });
    const par = await run(tmp(), { workers: 2 });
    expect(par.r.status).toBe('completed');
    seq.weights.slice(0, 2).forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - par.weights[i]![j]!), `variable ${i}`).toBeLessThan(1e-5)));
    expect(par.weights[2]!.every(Number.isFinite)).toBe(true);
  }, 60_000);
});

describe('older trainers\' files are refused, in one line naming what was found', () => {
  it('a checkpoint state without runtime: 1 (the image-classification trainer\'s epochCorrect, the translation trainer\'s batchIndex)', () => {
    expect(runtimeStateOf({ runtime: 1, epoch: 2 })).toEqual({ runtime: 1, epoch: 2 });
    expect(() => runtimeStateOf({ modelId: 'resnet20', epoch: 1, epochCorrect: 7, epochSeen: 24 }))
      .toThrow('checkpoint: its state has no "runtime": 1 (found fields modelId, epoch, epochCorrect, epochSeen; an older trainer\'s state is no longer read)');
    expect(() => runtimeStateOf({ version: 1, batchIndex: 4, updates: 14 })).toThrow(/found fields version, batchIndex, updates;/);
    expect(() => runtimeStateOf(null)).toThrow(/found null;/);
  });

  it('a result.json without format asam-run/1', () => {
    const dir = tmp();
    const f = path.join(dir, 'result.json');
    fs.writeFileSync(f, JSON.stringify({ status: 'completed', bestTestAcc: 0.733, bestEpoch: 102, finalTestAcc: 0.731, outDir: dir }));
    expect(() => readRunResult(dir)).toThrow(`${f}: not this runtime's result.json (no "format": "asam-run/1"; an older trainer's, whose layout is no longer read, or another program's); fix: run the cell again in a new folder`);
  });
});

describe('evaluationsLeft (the time left counts the evaluations a step cap leaves, not every epoch)', () => {
  it('a cap inside the next epoch: one more evaluation, however many epochs are planned (--max-updates with 50 epochs)', () => {
    expect(evaluationsLeft({ epochsLeft: 49, stepsLeft: 2, stepsPerEpoch: 5, stepInEpoch: 0 })).toBe(1);
    expect(evaluationsLeft({ epochsLeft: 10, stepsLeft: 4, stepsPerEpoch: 5, stepInEpoch: 3 })).toBe(2);
  });
  it('without a cap, one per epoch left; none when nothing is left', () => {
    expect(evaluationsLeft({ epochsLeft: 3, stepsLeft: 15, stepsPerEpoch: 5, stepInEpoch: 0 })).toBe(3);
    expect(evaluationsLeft({ epochsLeft: 3, stepsLeft: 12, stepsPerEpoch: 5, stepInEpoch: 3 })).toBe(3);
    expect(evaluationsLeft({ epochsLeft: 0, stepsLeft: 0, stepsPerEpoch: 5, stepInEpoch: 0 })).toBe(0);
    expect(evaluationsLeft({ epochsLeft: 4, stepsLeft: 0, stepsPerEpoch: 5, stepInEpoch: 0 })).toBe(0);
  });
});
