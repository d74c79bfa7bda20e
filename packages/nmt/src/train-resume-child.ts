/**
 * Child process for the resume test (src/train-resume.mp.test.ts): trains the toy task with the wasm backend, printing
 * `update <n>` per update and `RESULT <json>` at the end. With `stopAt`, the progress hook of update `stopAt` writes
 * `stopped <n>` to fd 3 and blocks for good, so that the parent's SIGKILL lands at exactly that update.
 * Usage: tsx src/train-resume-child.ts <outDir> [stopAt]
 */
import { writeSync } from 'node:fs';
import { initEngine } from '@asam/engine';
import { toyDeps } from './train-toy.ts';
import { trainTranslation } from './train.ts';
import { resumeTestConfig } from './train-resume-config.ts';

const [out, stopArg] = process.argv.slice(2);
if (!out) throw new Error('usage: tsx src/train-resume-child.ts <outDir> [stopAt]');
const stopAt = stopArg === undefined ? undefined : Number(stopArg);
if (stopAt !== undefined && !(Number.isInteger(stopAt) && stopAt > 0)) throw new Error(`stopAt must be a positive integer, got ${stopArg}`);
await initEngine({ backend: 'wasm' });
const r = await trainTranslation(resumeTestConfig(out), {
  onProgress: (p) => {
    console.log(`update ${p.globalStep}`);
    if (p.globalStep !== stopAt) return;
    writeSync(3, `stopped ${p.globalStep}\n`);
    // Wait here (the event loop included) until the parent kills this process.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
}, toyDeps({ train: 120, valid: 12, test: 12 }, 8));
console.log(`RESULT ${JSON.stringify(r)}`);
