/**
 * Reads a cell folder into one record for reports: status, the compared numbers, wall time, mean step time and the
 * metrics.csv columns. Training cells (a result.json with a metric vocabulary, or a task of TASK_VOCABULARIES) are read
 * through @asam/train's run-folder reader, which gives every task the same result.json (best epoch by the task's metric,
 * the final figure, the final test); analysis cells are reported from their result.json directly (`raw`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetricsColumns, readRunResult, type RunResult } from '@asam/train';
import { readJsonIfExists } from './fs-util.ts';
import { taskVocabulary } from './report-vocabulary.ts';

export interface CellOutcome {
  /**
   * 'diverged': the run stopped on a non-finite loss or weight (a result: see runner's `isFinishedStatus`).
   * 'unfinished': the folder has a run that has not ended (running now, or stopped at a checkpoint: a report cannot
   * tell, and a published partial run is not running anywhere; it resumes from its checkpoint).
   */
  status: 'completed' | 'diverged' | 'failed' | 'unfinished' | 'missing';
  /** Compared numbers: the best epoch's value of the task's metric and the run's final figure (vision: accuracy in [0,1]; nmt: BLEU). */
  best: number | null;
  final: number | null;
  /** The task's final test (nmt: `bleu`, `tokenizedBleu`, `sentences`). */
  extra: Record<string, number | null>;
  wallS: number | null;
  meanStepS: number | null;
  backend: string | null;
  error: string | null;
  /** The raw result.json (analysis tasks are reported from it directly). */
  raw: Record<string, unknown> | null;
  /** Every numeric column of metrics.csv (one value per epoch), e.g. epoch, lr, train_loss, train_acc, test_acc. */
  columns: Record<string, number[]>;
  /** Epochs the task was configured for (vision: epochs; nmt: maxEpochs), to tell a finished curve from a cut one. */
  plannedEpochs: number | null;
  /** Where a diverged run stopped: epoch counted from 1, step within it, the non-finite loss (null for NaN). */
  divergedAt: { epoch: number; step: number; loss: number | null } | null;
}

function n(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Normalised outcome of one cell folder. */
export function readOutcome(task: string, dir: string): CellOutcome {
  // a damaged file makes the cell 'failed' in the report, with the file named (a sweep reports it the same way)
  let damaged: string | null = null;
  const read = <T>(name: string): T | undefined => {
    try {
      return readJsonIfExists<T>(path.join(dir, name));
    } catch (e) {
      damaged ??= (e as Error).message;
      return undefined;
    }
  };
  const raw = read<Record<string, unknown>>('result.json') ?? null;
  const env = read<{ backend?: { backend?: string } }>('env.json');
  const columns = Object.fromEntries(Object.entries(readMetricsColumns(dir)).filter(([, v]) => v.some(Number.isFinite)));
  const cfg = read<{ config?: Record<string, unknown> }>('cell.json')?.config;
  const base: CellOutcome = {
    status: 'missing', best: null, final: null, extra: {}, wallS: null, meanStepS: null,
    backend: env?.backend?.backend ?? null, error: null, raw, columns, plannedEpochs: n(cfg?.epochs ?? cfg?.maxEpochs), divergedAt: null,
  };
  if (damaged !== null) return { ...base, status: 'failed', error: damaged };
  if (!raw) return fs.existsSync(dir) ? { ...base, status: 'unfinished' } : base;
  const status = raw.status === 'completed' || raw.status === 'diverged' || raw.status === 'failed' ? raw.status : 'unfinished';
  const d = raw.divergedAt as { epoch?: unknown; step?: unknown; loss?: unknown } | null | undefined;
  const divergedAt = status === 'diverged' && d && typeof d.epoch === 'number' ? { epoch: d.epoch + 1, step: n(d.step) ?? 0, loss: n(d.loss) } : null;
  const out: CellOutcome = { ...base, status, divergedAt, error: typeof raw.error === 'string' ? raw.error : null };
  // A training run carries its metric vocabulary (or is of a task whose older runs did not yet write it).
  if (raw.metrics === undefined && !taskVocabulary(task)) return { ...out, wallS: n(raw.wallTimeS) ?? n(raw.wallSeconds) };
  let run: RunResult;
  try {
    run = readRunResult(dir)!;
  } catch (e) {
    // a result.json the sweep wrote for a failed cell keeps its own error; any other one not in the runtime's layout is named
    return status === 'failed' ? out : { ...out, status: 'failed', error: (e as Error).message };
  }
  return {
    ...out, best: run.best?.value ?? null, final: run.final?.value ?? null, extra: { ...(run.test ?? {}) },
    wallS: n(run.wallSeconds), meanStepS: n(run.meanStepSeconds),
  };
}
