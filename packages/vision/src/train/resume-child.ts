/**
 * Child process of the kill-and-resume test (resume.mp.test.ts): trains the run described by a config.json into `out`
 * on the given backend and, when the progress hook reports global step `stopAt`, writes `stopped <step>` to fd 3 and
 * blocks for good, so that the parent's SIGKILL lands at exactly that step (the checkpoint of step `stopAt - 1`,
 * written with `checkpointEverySteps: 1`, is the last one on disk). Without `stopAt` it trains to the end.
 *
 *   node --import tsx src/train/resume-child.ts <config.json> <out> <dataDir> <backend> [stopAt]
 */
import { readFileSync, writeSync } from 'node:fs';
import { initEngine, type BackendRequest } from '@asam/engine';
import { trainClassifier, visionConfigOfRun } from './trainer.ts';

const [configPath, out, dataDir, backend, stopArg] = process.argv.slice(2);
if (!configPath || !out || !dataDir || !backend) throw new Error('usage: resume-child.ts <config.json> <out> <dataDir> <backend> [stopAt]');
const stopAt = stopArg === undefined ? undefined : Number(stopArg);
if (stopAt !== undefined && !(Number.isInteger(stopAt) && stopAt > 0)) throw new Error(`stopAt must be a positive integer, got ${stopArg}`);

// progress every step, so the hook sees step `stopAt` (an execution setting: the steps computed are the same)
const config = { ...visionConfigOfRun(JSON.parse(readFileSync(configPath, 'utf8')), configPath), out, progressEvery: 1 };
// Test helper: the kernel tier follows $ASAM_NATIVE_KERNELS as in the CLI.
const engine = await initEngine({ backend: backend as BackendRequest, nativeKernels: process.env.ASAM_NATIVE_KERNELS !== 'off' });
await trainClassifier(config, {
  backend: engine.backend, dataDir, resume: 'never',
  onProgress: (p) => {
    if (stopAt === undefined || p.phase !== 'train' || p.globalStep !== stopAt) return;
    writeSync(3, `stopped ${p.globalStep}\n`);
    // Wait here (the event loop included) until the parent kills this process.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
});
