/**
 * A task plugs into the runtime by registering a spec: the toy task is registered, trained through runTask, stopped
 * and resumed (bit-identical to an uninterrupted run), and its result read through the metric vocabulary result.json
 * carries — nothing here knows which task it reads. Also: the config.json layout, resume refusals, and the older flat
 * layout of a task's config.json (old runtime names) resuming through the spec's mapping.
 */
import { initEngine } from '@asam/engine';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.ts';
import { readMetricsColumns, readRunResult, type RunResult } from './run-folder.ts';
import { createTaskRegistry, readRunConfig, RUN_CONFIG_FORMAT, runTask } from './run-task.ts';
import { ResumeError } from './runtime.ts';
import { metricSpec, type TaskSpec } from './task-spec.ts';
import { toyTaskSpec, type ToyTaskConfig } from './testing/toy-task.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-run-task-'));
beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

const tasks = createTaskRegistry([toyTaskSpec()]);
const TOY = { seed: 3, rows: 40, batchSize: 8 };

/** Model and optimizer tensors of a run folder's checkpoint, as plain arrays by name (less the per-process tfjs scope `toy_<n>/`). */
async function weights(out: string): Promise<Record<string, number[]>> {
  const ck = await readCheckpoint(path.join(out, 'checkpoint.bin'));
  return Object.fromEntries(Object.entries(ck.groups).flatMap(([g, ts]) => ts.map((t) => [`${g}/${t.name.replace(/toy_\d+\//, '')}`, Array.from(t.data)])));
}

/** What a reader shows of any run folder, through the vocabulary in its result.json: headline, best epoch, last row. */
function report(out: string): { headline: string; value: string; best: string; columns: string[] } {
  const r = readRunResult(out)!;
  const v = r.metrics!;
  const head = metricSpec(v, v.headline);
  const cols = readMetricsColumns(out);
  const last = cols[v.headline]!.at(-1)!;
  return {
    headline: head.label, value: (last * head.scale).toFixed(head.digits), best: `${metricSpec(v, v.best).label} @ epoch ${r.best!.epoch}`,
    columns: v.metrics.map((m) => m.column).filter((c) => c in cols),
  };
}

/** A result less its timings and where it ran. */
const strip = (r: RunResult) => ({ ...r, wallSeconds: 0, meanStepSeconds: 0, resumedFrom: null, out: '', last: { ...r.last, seconds: 0, rows_per_sec: 0 } });

describe('runTask (a registered toy task)', () => {
  it('trains, stops, resumes bit-identically to an uninterrupted run, and is reported through its metric vocabulary', async () => {
    const spec = tasks.get('toy');
    const full = tmp();
    const a = await runTask(spec, { runtime: { out: full }, task: TOY }, { dataDir: '' });
    expect(a).toMatchObject({ status: 'completed', epochs: 3, steps: 15, taskId: 'toy', metrics: spec.metrics });

    const cut = tmp();
    let step = 0;
    const s = await runTask(spec, { runtime: { out: cut, progressEvery: 1 }, task: TOY },
      { dataDir: '', onProgress: (p) => { step = p.globalStep; }, shouldStop: () => step >= 7 });
    expect(s).toMatchObject({ status: 'stopped', steps: 7 });
    // the resumed process may cut its steps differently (an execution setting): micro-batches of the whole batch
    const b = await runTask(spec, { runtime: { out: cut, resume: 'require', microBatch: 8 }, task: TOY }, { dataDir: '' });
    expect(b.resumedFrom).toEqual({ epoch: 1, step: 2 }); // 5 steps per epoch
    expect(await weights(cut)).toEqual(await weights(full));
    expect(strip(b)).toEqual(strip(a));
    expect(fs.readFileSync(path.join(cut, 'metrics.csv'), 'utf8').split('\n').map((l) => l.split(',').slice(0, 7).join(',')))
      .toEqual(fs.readFileSync(path.join(full, 'metrics.csv'), 'utf8').split('\n').map((l) => l.split(',').slice(0, 7).join(',')));

    // config.json: both sections, the task named; result.json: the vocabulary, so the reader needs no task switch
    const cfg = JSON.parse(fs.readFileSync(path.join(cut, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ format: RUN_CONFIG_FORMAT, task: 'toy', runtime: { out: cut, epochs: 3, maxSteps: null, microBatch: 8 }, config: { seed: 3, rows: 40 } });
    const rep = report(cut);
    expect(rep).toEqual({ headline: 'valid accuracy (%)', value: (a.last!.valid_acc! * 100).toFixed(1), best: `valid accuracy (%) @ epoch ${a.best!.epoch}`,
      columns: ['train_loss', 'train_acc', 'valid_loss', 'valid_acc'] });
  });

  it('refuses a resume that changes what the run computes, naming the field; a finished step cap may grow (schedule does not span the run)', async () => {
    const spec = tasks.get('toy');
    const out = tmp();
    await runTask(spec, { runtime: { out, maxSteps: 5 }, task: TOY }, { dataDir: '' });
    await expect(runTask(spec, { runtime: { out }, task: { ...TOY, seed: 4 } }, { dataDir: '' })).rejects.toThrow(/config\.seed: 3 vs 4/);
    await expect(runTask(spec, { runtime: { out, resume: 'never' }, task: TOY }, { dataDir: '' })).rejects.toThrow(ResumeError);
    const r = await runTask(spec, { runtime: { out, maxSteps: 10 }, task: TOY }, { dataDir: '' });
    expect(r).toMatchObject({ status: 'completed', steps: 10, resumedFrom: { epoch: 1, step: 0 } });
  });

  it('a spanning schedule fixes epochs and maxSteps for the run', async () => {
    const spec: TaskSpec<ToyTaskConfig> = { ...toyTaskSpec('toy_cosine'), scheduleSpansRun: true };
    const out = tmp();
    await runTask(spec, { runtime: { out, maxSteps: 5 }, task: TOY }, { dataDir: '' });
    await expect(runTask(spec, { runtime: { out, maxSteps: 10 }, task: TOY }, { dataDir: '' })).rejects.toThrow(/runtime\.maxSteps: 5 vs 10/);
  });

  it('reads an older flat config.json through the spec\'s old runtime names, and refuses runtime fields in the task section', () => {
    const spec: TaskSpec<ToyTaskConfig> = { ...toyTaskSpec(), runtimeNames: { outDir: 'out', maxEpochs: 'epochs', maxUpdates: 'maxSteps', logEveryUpdates: 'progressEvery' } };
    const c = readRunConfig(spec, { outDir: '/r', maxEpochs: 7, maxUpdates: null, logEveryUpdates: 3, resume: true, workers: 2, seed: 5 });
    expect(c.runtime).toEqual({ out: '/r', epochs: 7, maxSteps: null, resume: 'auto', checkpointEverySteps: null, workers: 2, microBatch: null, progressEvery: 3 });
    expect(c.task.seed).toBe(5);
    expect(() => readRunConfig(spec, { format: RUN_CONFIG_FORMAT, task: 'nmt', runtime: { out: '/r' }, config: {} })).toThrow(/config\.json\.task = "nmt" is invalid: expected "toy"/);
    expect(() => spec.parseConfig({ epochs: 3 }, 'config')).toThrow(/config\.epochs = 3 is invalid: expected no epochs here: it is the runtime's setting runtime\.epochs/);
    expect(() => tasks.get('toyy')).toThrow(/unknown task 'toyy'; valid tasks: toy; did you mean 'toy'\?/);
  });
});

describe('RunFolder: the stop and failure records', () => {
  it('markStopped leaves an ended run alone, marks a running one; markFailed keeps the last result\'s fields', async () => {
    const { RunFolder } = await import('./run-folder.ts');
    const dir = tmp();
    const f = new RunFolder(dir);
    expect(f.markStopped()).toBe(false); // nothing to mark
    expect(fs.existsSync(path.join(dir, 'result.json'))).toBe(false);
    expect(f.markStopped({ whenMissing: true })).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'))).toEqual({ status: 'stopped' });
    f.writeResultSync({ status: 'running', steps: 3 });
    expect(f.markStopped()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'))).toEqual({ status: 'stopped', steps: 3 });
    const rec = f.markFailed(new Error('boom'), { exitCode: 1 });
    expect(rec).toMatchObject({ status: 'failed', steps: 3, error: 'boom', exitCode: 1 });
    expect(typeof rec.stack).toBe('string');
    expect(f.markStopped()).toBe(false);
    expect(f.markStopped({ replaceFailed: true })).toBe(true);
    f.writeResultSync({ status: 'completed' });
    expect(f.markStopped({ whenMissing: true, replaceFailed: true })).toBe(false);
    expect(() => { f.recordEnv({ a: 1 }, 'start'); f.recordEnv({ a: 2 }, 'start'); }).toThrow(/env\.json exists already; a new run never replaces another run's env\.json/);
    f.recordEnv({ a: 3 }, 'resume');
    expect(fs.readFileSync(path.join(dir, 'env-resume.jsonl'), 'utf8')).toBe('{"a":3}\n');
  });
});
