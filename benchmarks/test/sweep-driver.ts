/**
 * A sweep of two stand-in cells as a program (for the Ctrl-C test, which signals its whole process group the way a
 * terminal does): `tsx test/sweep-driver.ts RUNS_DIR STEPS SLEEP_MS`. Exits 130 when interrupted, 1 when a cell
 * failed, else 0.
 */
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { runSweep } from '../src/runner.ts';

const [runsDir, steps, sleepMs] = process.argv.slice(2);
const exp = defineExperiment({
  id: 'stand_in', title: 'stand-in', task: 'vision', description: 'test', base: { steps: Number(steps), sleepMs: Number(sleepMs) },
  grid: { optimizer: ['sgd', 'sam'], rho: { sam: [0.05] }, seed: [0] }, profiles: { smoke: {} },
});
const STAND_IN = fileURLToPath(new URL('./stand-in-task.ts', import.meta.url));
const s = await runSweep({
  cells: expandGrid(exp, 'smoke'), runsDir: runsDir!, backend: 'none', dataDir: os.tmpdir(), jobs: 2, taskModule: () => STAND_IN,
  resumeCommand: 'the driver again',
});
process.exit(s.interrupted ? 130 : s.failed ? 1 : 0);
