/**
 * A tiny stand-in task for runner tests (no tensors): "trains" a scalar w toward a target by
 * gradient steps, checkpoints after every step, writes metrics.csv and result.json like a real task.
 * Config: { steps, failAlways?, failAs? (the thrown error's name), crashOnceAtStep?, divergeAtStep?, sleepMs? (per step),
 * ignoreStop? (runs to the end although asked to stop, as an analysis without steps does), defaultSigterm? (drops the
 * cell process's SIGTERM handler, as a process that has not set it up yet), takeLock? (takes the folder's run.lock as the
 * training runtime does, and writes lock-seen.json: adopted or not, and the lock record) } — crashOnceAtStep kills the
 * process once (a marker file remembers it), to test resume from the checkpoint; divergeAtStep ends the run the way
 * the training runtime does on a non-finite loss (result.json status 'diverged' with divergedAt, a normal return).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskContext } from '../src/tasks/types.ts';
import { readJsonIfExists, writeJsonAtomic } from '../src/fs-util.ts';
import { acquireRunLock, inspectRunLock } from '@asam/train/run-folder';

export async function run(ctx: TaskContext): Promise<void> {
  const c = ctx.config as { steps: number; failAlways?: boolean; failAs?: string; crashOnceAtStep?: number; divergeAtStep?: number; sleepMs?: number;
    ignoreStop?: boolean; defaultSigterm?: boolean; takeLock?: boolean; optimizer?: { method: string; rho: number } };
  if (c.defaultSigterm) process.removeAllListeners('SIGTERM');
  if (c.takeLock) {
    // what a training task does first (the runtime's train()): take the folder's lock; under the runner it adopts the runner's
    const lock = acquireRunLock(ctx.outDir, 'stand-in task');
    writeJsonAtomic(path.join(ctx.outDir, 'lock-seen.json'), { adopted: lock.adopted, record: inspectRunLock(ctx.outDir).record });
    lock.release();
  }
  if (c.failAlways) {
    const e = new Error('stand-in task: configured to fail (failAlways)');
    if (c.failAs) e.name = c.failAs;
    throw e;
  }
  const ckptFile = path.join(ctx.outDir, 'checkpoint.json');
  const ckpt = readJsonIfExists<{ step: number; w: number }>(ckptFile);
  let step = ckpt?.step ?? 0;
  let w = ckpt?.w ?? 0;
  const resumedFrom = ckpt ? step : null;
  const metrics = path.join(ctx.outDir, 'metrics.csv');
  if (!ckpt) fs.writeFileSync(metrics, 'epoch,train_loss,test_accuracy\n');
  writeJsonAtomic(path.join(ctx.outDir, 'config.json'), c);
  ctx.log(`start at step ${step}`);
  while (step < c.steps) {
    const marker = path.join(ctx.outDir, 'crashed-once');
    if (c.crashOnceAtStep === step && !fs.existsSync(marker)) {
      fs.writeFileSync(marker, '');
      ctx.log(`crashing at step ${step}`);
      process.exit(7);
    }
    if (c.divergeAtStep === step) {
      ctx.log(`non-finite loss at step ${step}`);
      fs.appendFileSync(path.join(ctx.outDir, 'runs.log'), 'diverged\n');
      writeJsonAtomic(path.join(ctx.outDir, 'result.json'), { format: 'asam-run/1', status: 'diverged', divergedAt: { epoch: step, step: 1, loss: null }, resumedFrom });
      return;
    }
    if (c.sleepMs) await new Promise((r) => setTimeout(r, c.sleepMs));
    w += 0.5 * (1 - w);
    step++;
    fs.appendFileSync(metrics, `${step},${(1 - w) ** 2},${w}\n`);
    writeJsonAtomic(ckptFile, { step, w });
    ctx.log(`step ${step}/${c.steps} w=${w.toFixed(4)}`);
    if (step < c.steps && !c.ignoreStop && ctx.shouldStop()) {
      ctx.log(`stopping at step ${step} (checkpointed)`);
      return;
    }
  }
  writeJsonAtomic(path.join(ctx.outDir, 'result.json'), {
    format: 'asam-run/1', status: 'completed', best: { metric: 'test_accuracy', value: w, epoch: step }, final: { metric: 'test_accuracy', value: w },
    wallSeconds: 0.01, meanStepSeconds: 0.001, resumedFrom,
  });
}
