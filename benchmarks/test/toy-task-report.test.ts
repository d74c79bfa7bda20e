/**
 * The acceptance test of the task registry end to end: a task the benchmarks code has never heard of (@asam/train's
 * toy softmax regression, registered as a TaskSpec) is trained through `runTask` into the cell folders of an
 * experiment, one cell is stopped and resumed, and the report reads the runs through the metric vocabulary their
 * result.json carries — with no entry for the task anywhere in benchmarks/src.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { createTaskRegistry, runTask } from '@asam/train';
import { TOY_METRICS, toyTaskSpec } from '@asam/train/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkReport } from '../src/check.ts';
import { defineExperiment, expandGrid, type TaskName } from '../src/experiment.ts';
import { generateReport } from '../src/report.ts';
import { TASK_VOCABULARIES } from '../src/report-vocabulary.ts';
import { cellDir } from '../src/runner.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('a registered toy task, trained and resumed through runTask, reported without a change to the benchmarks code', () => {
  it('writes runs the report reads through their vocabulary', async () => {
    expect(Object.keys(TASK_VOCABULARIES)).not.toContain('toy');
    const tasks = createTaskRegistry([toyTaskSpec()]);
    const exp = { ...defineExperiment({
      id: 'toy_softmax', title: 'Toy softmax regression', task: 'vision', description: 'a task registered outside benchmarks',
      base: {}, grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.5] }, seed: [0, 1] }, profiles: { cpu: {} },
      claims: [{ better: 'asam', worse: 'sgd', paper: 'higher validation accuracy' }],
    }), task: 'toy' as TaskName };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-toy-report-'));
    const runs = path.join(root, 'runs');
    const numTensors = tf.memory().numTensors;
    for (const c of expandGrid(exp, 'cpu')) {
      const out = cellDir(runs, c);
      const task = { method: c.optimizer === 'sgd' ? 'none' : 'asam', rho: c.rho ?? 0, seed: c.seed };
      const config = { runtime: { out, epochs: 4, progressEvery: 1 }, task };
      if (c.optimizer === 'asam' && c.seed === 1) {
        // this cell stops after 7 steps (as on Ctrl-C) and is resumed by the next start
        let step = 0;
        const s = await runTask(tasks.get('toy'), config, { dataDir: '', onProgress: (p) => { step = p.globalStep; }, shouldStop: () => step >= 7 });
        expect(s.status).toBe('stopped');
        const r = await runTask(tasks.get('toy'), { ...config, runtime: { ...config.runtime, resume: 'require' } }, { dataDir: '' });
        expect(r.resumedFrom).toEqual({ epoch: 1, step: 2 });
      } else {
        expect((await runTask(tasks.get('toy'), config, { dataDir: '' })).status).toBe('completed');
      }
      fs.writeFileSync(path.join(out, 'cell.json'), JSON.stringify({ experiment: exp.id, id: c.id, config: { epochs: 4 } }));
    }
    expect(tf.memory().numTensors).toBe(numTensors);

    const out = path.join(root, 'report');
    generateReport({ experiments: [exp], profile: 'cpu', runsDir: runs, outDir: out });
    const md = fs.readFileSync(path.join(out, 'toy_softmax', 'report.md'), 'utf8');
    // labels from TOY_METRICS, both methods with both seeds done, the claim decided on the headline column
    const headline = TOY_METRICS.metrics.find((m) => m.column === TOY_METRICS.headline)!;
    expect(md).toContain(headline.label);
    expect(md).toMatch(/\| SGD \| – \| 2\/2 \|/);
    expect(md).toMatch(/\| ASAM \| 0\.5 \| 2\/2 \|/);
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toContain('ASAM > SGD');
    expect(checkReport(out).problems).toEqual([]);
  }, 120_000);
});
