/**
 * What the vision and nmt cells share: progress lines for the cell log (at most one every 5 s, plus each epoch's row)
 * and the rule for how a training run ends a cell (stopped: resumable later; diverged: the cell's result, kept).
 */
import { formatEpochRow, formatProgress, type MetricsRow, type RunResult, type TrainProgress } from '@asam/train';
import type { TaskContext } from './types.ts';

/** Hooks that print throttled progress and every epoch's row to the cell log, and pass the stop request on. */
export function cellHooks(ctx: TaskContext): {
  onProgress: (p: TrainProgress) => void; onEpoch: (row: MetricsRow) => void; onLog: (m: string) => void; shouldStop: () => boolean; backend: string;
} {
  let lastLog = 0;
  return {
    backend: ctx.backend.backend,
    onProgress: (p) => {
      const now = Date.now();
      if (p.phase === 'epoch_end' || (now - lastLog < 5000 && p.step !== p.stepsPerEpoch)) return;
      lastLog = now;
      ctx.log(formatProgress(p));
    },
    onEpoch: (row) => ctx.log(formatEpochRow(row)),
    onLog: (m) => ctx.log(m),
    shouldStop: ctx.shouldStop,
  };
}

/**
 * Returns for a completed, stopped or diverged run; throws otherwise. Stopped: checkpointed on request (cell-main
 * exits non-zero and the cell resumes later). Diverged: the run's result.json says where, and the sweep keeps it as
 * the cell's result (a setting that diverges, e.g. a ρ too large, is a finding; resuming would diverge again).
 */
export function endCell(res: RunResult): void {
  if (res.status === 'completed' || res.status === 'stopped' || res.status === 'diverged') return;
  throw new Error(`training ended with status '${res.status}' (expected completed, stopped or diverged)`);
}
