/** Where each task's adapter module lives (the child process imports it by path), as an @asam/train registry. */
import { fileURLToPath } from 'node:url';
import { createRegistry } from '@asam/train';
import { TASKS, type TaskName } from '../experiment.ts';

const MODULES: Record<TaskName, string> = {
  vision: './vision.ts',
  nmt: './nmt.ts',
  scale_invariance: './scale-invariance.ts',
  sharpness_gap: './sharpness-gap.ts',
  step_time: './step-time.ts',
};

/** Task name → absolute path of its adapter module, in the order of `TASKS`. */
const taskModules = createRegistry<string>('task');
for (const t of TASKS) taskModules.register(t, fileURLToPath(new URL(MODULES[t], import.meta.url)));

/** Absolute path of the adapter module for a task; throws (UnknownIdError) listing valid tasks for an unknown name. */
export function taskModulePath(task: string): string {
  return taskModules.get(task);
}
