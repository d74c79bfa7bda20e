/**
 * Data-parallel workers with the sharpness-aware options that change a step: m-sharpness and the BatchNorm policy
 * (toy task, cpu backend, two worker threads). Multi-process tier: each run starts worker threads.
 */
import { initEngine } from '@asam/engine';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { train, type TrainOptions } from '../runtime.ts';
import { constantSchedule } from '../schedules.ts';
import { toyTask, type ToyTaskOptions } from '../testing/toy-task.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-data-parallel-'));
beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

const TOY: ToyTaskOptions = { features: 6, classes: 3, seed: 3, rows: 40, batchSize: 8, validRows: 32, statistics: false, sharpness: { method: 'asam', rho: 0.5 } };

/** Trains a fresh toy task; returns the final variables (host copies) in checkpoint order: kernel, bias[, moving_mean]. */
async function run(o: Partial<TrainOptions>, toy: Partial<ToyTaskOptions>, setup?: (task: ReturnType<typeof toyTask>) => void): Promise<number[][]> {
  const task = toyTask({ ...TOY, ...toy });
  try {
    setup?.(task);
    const r = await train(task, { out: tmp(), config: { toy: { ...TOY, ...toy }, workers: o.workers ?? 1, microBatch: o.microBatch ?? null },
      executionFields: ['workers', 'microBatch'], epochs: 2, schedule: constantSchedule(0.5), ...o });
    expect(r.status).toBe('completed');
    return task.model.variables.map((v) => Array.from(v.variable.dataSync()));
  } finally {
    task.optimizer.dispose();
    task.model.dispose();
  }
}

const maxDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((w, i) => w.map((v, j) => Math.abs(v - b[i]![j]!))));

describe('data-parallel workers and the step options', () => {
  it('mSharpness 2 over 2 workers takes the single-thread steps of 2 parts with 2 micro-batches each (one ε per part)', async () => {
    const m2 = { sharpness: { method: 'asam', rho: 0.5, mSharpness: 2 } } as const;
    const seq = await run({ microBatch: 4 }, m2);
    const par = await run({ workers: 2 }, m2);
    expect(maxDiff(seq, par)).toBeLessThan(1e-5);
    // the option changes the step, so the agreement above is not that of a step which ignores it
    const m1 = await run({ microBatch: 4 }, {});
    expect(maxDiff(seq, m1)).toBeGreaterThan(1e-3);
  }, 60_000);

  it("a custom ASAM filter (normalizeParams 'custom') over 2 workers: the main thread's step takes the micro-batched single-thread steps", async () => {
    // ε is computed once, on the main thread, by the optimizer that holds the filter function (workers only take gradients)
    const custom = { sharpness: { method: 'asam', rho: 0.5, normalizeParams: 'custom' } } as const;
    const biasOnly = (task: ReturnType<typeof toyTask>): void => task.optimizer.setNormalizeFilter((v) => v.name.endsWith('/bias'));
    const seq = await run({ microBatch: 4 }, custom, biasOnly);
    const par = await run({ workers: 2 }, custom, biasOnly);
    expect(maxDiff(seq, par)).toBeLessThan(1e-5);
    // the filter changes the step (the default normalizes the kernel, not the bias)
    const byDefault = await run({ microBatch: 4 }, {});
    expect(maxDiff(seq, byDefault)).toBeGreaterThan(1e-3);
  }, 60_000);

  it('workers with micro-batches, and micro-batches in the optimizer config, are refused in one line before the run folder is written', async () => {
    for (const [o, toy, msg] of [
      [{ workers: 2, microBatch: 4 }, {}, /^workers = 2 with microBatch = 4: .*set microBatch null, or use workers 1 with microBatch$/],
      [{}, { sharpness: { method: 'sam', rho: 0.05, microBatches: 2 } }, /^optimizer microBatches = 2: .*leave microBatches out of the optimizer config and set microBatch$/],
    ] as const) {
      const task = toyTask({ ...TOY, ...toy });
      const out = tmp();
      try {
        await expect(train(task, { out, config: { toy: TOY }, epochs: 1, schedule: constantSchedule(0.5), ...o })).rejects.toThrow(msg);
        expect(fs.readdirSync(out)).toEqual([]);
        expect(task.optimizer.stepCount).toBe(0);
      } finally {
        task.optimizer.dispose();
        task.model.dispose();
      }
    }
  });

  it("bnStatistics 'both-passes' over workers: the statistics take both passes' updates, not the clean pass's alone", async () => {
    // one step from zero statistics: the toy statistic is s ← 0.9 s + 0.1 mean(x) per pass, and x does not depend on w,
    // so after the clean pass s = 0.1 x̄ and after both s = 0.19 x̄ (both shards the same size)
    const one = { workers: 2, maxSteps: 1 };
    const clean = await run(one, { statistics: true, sharpness: { method: 'sam', rho: 0.05 } });
    const both = await run(one, { statistics: true, sharpness: { method: 'sam', rho: 0.05, bnStatistics: 'both-passes' } });
    const s = clean[2]!;
    expect(s.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    both[2]!.forEach((v, j) => expect(v).toBeCloseTo(1.9 * s[j]!, 6));
  }, 60_000);
});
