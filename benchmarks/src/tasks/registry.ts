/** Where each task's adapter module lives (the child process imports it by path). */
import { fileURLToPath } from 'node:url';
import { TASKS, type TaskName } from '../experiment.ts';

const MODULES: Record<TaskName, string> = {
  vision: './vision.ts',
  nmt: './nmt.ts',
  scale_invariance: './scale-invariance.ts',
  sharpness_gap: './sharpness-gap.ts',
  step_time: './step-time.ts',
};

/** Absolute path of the adapter module for a task; throws listing valid tasks for an unknown name. */
export function taskModulePath(task: string): string {
  if (!TASKS.includes(task as TaskName)) throw new Error(`unknown task "${task}"; valid: ${TASKS.join(', ')}`);
  return fileURLToPath(new URL(MODULES[task as TaskName], import.meta.url));
}
