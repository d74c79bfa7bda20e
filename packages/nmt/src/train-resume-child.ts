/**
 * Child process for the resume test (src/train-resume.test.ts): trains on the toy task with the cpu backend.
 * Usage: tsx src/train-resume-child.ts <outDir>
 */
import { initEngine } from '@asam/engine';
import { toyDeps } from './train-toy.ts';
import { trainTranslation } from './train.ts';
import { resumeTestConfig } from './train-resume-config.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx src/train-resume-child.ts <outDir>');
await initEngine({ backend: 'cpu' });
const r = await trainTranslation(resumeTestConfig(out), { onProgress: (p) => console.log(`update ${p.update}`) }, toyDeps({ train: 120, valid: 12, test: 12 }, 8));
console.log(`RESULT ${JSON.stringify(r)}`);
