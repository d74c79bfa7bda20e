/**
 * `asam train <task>` on a registered toy task (nothing in the command knows it): a run writes the run folder through
 * runTask; Ctrl-C stops it at a checkpoint (exit 130, status stopped); `--resume` finishes it with the weights,
 * optimizer state and metrics of an uninterrupted run, bit for bit; the result is read through the metric vocabulary
 * in result.json. Bad input: one line naming the flag, field or task, and the fix.
 */
import { initEngine } from '@asam/engine';
import { createTaskRegistry, metricSpec, readCheckpoint, readRunResult } from '@asam/train';
import { toyTaskSpec } from '@asam/train/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTrainCommand } from './train-command.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-train-cmd-'));
const tasks = createTaskRegistry([toyTaskSpec()]);
const originalWrite = process.stdout.write;
afterEach(() => { process.stdout.write = originalWrite; });

/** Runs `asam train …` in this process; `onLine` sees every line printed (and may raise a signal). */
async function train(argv: string[], onLine: (l: string) => void = () => {}): Promise<{ code: number; out: string }> {
  let text = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { const s = String(chunk); text += s; for (const l of s.split('\n')) onLine(l); return true; }) as typeof process.stdout.write;
  try {
    const code = await runTrainCommand({
      tasks, name: 'asam', argv, env: {}, programFile: import.meta.url, defaultDataDir: () => os.tmpdir(),
      initEngine: async (b) => (await initEngine({ backend: b === 'auto' ? 'cpu' : b as 'cpu' })) as never,
    });
    return { code, out: text };
  } finally {
    process.stdout.write = write;
  }
}

async function weights(out: string): Promise<Record<string, number[]>> {
  const ck = await readCheckpoint(path.join(out, 'checkpoint.bin'));
  return Object.fromEntries(Object.entries(ck.groups).flatMap(([g, ts]) => ts.map((t) => [`${g}/${t.name.replace(/toy_\d+\//, '')}`, Array.from(t.data)])));
}

describe('asam train <task> (a registered toy task)', () => {
  it('trains; Ctrl-C stops at a checkpoint; --resume finishes bit-identical to an uninterrupted run; result read through its vocabulary', async () => {
    const full = tmp();
    const a = await train(['toy', '--out', full, '--backend', 'cpu', '--set', 'seed=3', '--epochs', '3']);
    expect(a.code, a.out).toBe(0);
    for (const f of ['config.json', 'env.json', 'log.txt', 'metrics.csv', 'result.json', 'checkpoint.bin']) expect(fs.existsSync(path.join(full, f)), f).toBe(true);

    const cut = tmp();
    let signalled = false;
    const s = await train(['toy', '--out', cut, '--backend', 'cpu', '--set', 'seed=3', '--epochs', '3', '--progress-every', '1'], (l) => {
      if (!signalled && l.includes('(global 7/15)')) { signalled = true; process.emit('SIGINT'); }
    });
    expect(s.code, s.out).toBe(130);
    expect(s.out).toMatch(/resume with: asam train toy --resume --out /);
    expect(readRunResult(cut)).toMatchObject({ status: 'stopped', steps: 7 });

    // a task field may not change on resume (an execution setting may: --micro-batch 8 is the whole batch, the same step)
    expect((await train(['toy', '--resume', '--out', cut, '--set', 'seed=4']).catch((e: Error) => ({ code: -1, out: e.message }))).out)
      .toMatch(/--resume reuses .*config\.json; drop --set/);
    const b = await train(['toy', '--resume', '--out', cut, '--backend', 'cpu', '--micro-batch', '8']);
    expect(b.code, b.out).toBe(0);
    expect(await weights(cut)).toEqual(await weights(full));
    const r = readRunResult(cut)!;
    expect(r).toMatchObject({ status: 'completed', steps: 15, resumedFrom: { epoch: 1, step: 2 }, taskId: 'toy' });
    const head = metricSpec(r.metrics!, r.metrics!.headline);
    expect(r.final).toEqual({ metric: head.column, value: readRunResult(full)!.final!.value });
    expect(fs.readFileSync(path.join(cut, 'env-resume.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('bad input: an unknown task, a bad field, a bad flag value: one line naming it and the fix', async () => {
    const out = tmp();
    await expect(train(['toyy', '--out', out])).rejects.toThrow(/unknown task 'toyy'; valid tasks: toy; did you mean 'toy'\?/);
    await expect(train(['toy', '--out', out, '--set', 'epochs=3'])).rejects.toThrow(/config\.epochs = 3 is invalid: expected no epochs here: it is the runtime's setting runtime\.epochs; .*--epochs/);
    await expect(train(['toy', '--out', out, '--set', 'seed'])).rejects.toThrow(/--set "seed" is not field=value/);
    await expect(train(['toy', '--out', out, '--workers', '0'])).rejects.toThrow(/--workers/);
    await expect(train(['--out', out])).rejects.toThrow(/name one task: asam train <task> \[flags\], <task> one of toy/);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
