/**
 * The run folder every task writes, and how it is read back:
 *
 * - `config.json` — the task's resolved config; a resume compares it with the new config (see {@link configDiff});
 * - `metrics.csv` — one row per epoch, columns `epoch, step, lr, train_loss, train_<metric>…, <split>_<metric>…,
 *   seconds, <unit>_per_sec` (`<split>` is the task's evaluated split: `test`, `valid`);
 * - `result.json` — {@link RunResult}: written with status `running` when the run starts, and with `completed`,
 *   `diverged` or `stopped` when it returns;
 * - `checkpoint.bin` — the runtime's state and the model/optimizer tensors (see checkpoint.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** result.json's `format`. */
export const RUN_RESULT_FORMAT = 'asam-run/1';

/** How a run ended (or that it is under way: `running` is written when it starts; `failed` is written by a sweep runner whose cell process failed). */
export type RunStatus = 'running' | 'completed' | 'diverged' | 'stopped' | 'failed';

/** One metrics.csv row. */
export type MetricsRow = Record<string, number | null>;

/** result.json. */
export interface RunResult {
  format: typeof RUN_RESULT_FORMAT;
  status: RunStatus;
  /** Epochs planned, and finished (each finished epoch has a metrics.csv row). */
  epochs: number;
  epochsCompleted: number;
  steps: number;
  /** The epoch with the highest `<split>_<bestMetric>`. */
  best: { metric: string; value: number; epoch: number } | null;
  /** The run's final figure: the task's final test when it has one, else the last epoch's `best.metric`. */
  final: { metric: string; value: number } | null;
  /** The last metrics.csv row. */
  last: MetricsRow | null;
  /** The task's final test (e.g. `{ bleu, tokenizedBleu }`), null when it has none or the run did not complete. */
  test: Record<string, number> | null;
  wallSeconds: number;
  meanStepSeconds: number | null;
  trainableParams: number;
  backend: string | null;
  /** Where this process resumed the run (epoch 0-based, step within it), null for a fresh start. */
  resumedFrom: { epoch: number; step: number } | null;
  divergedAt: { epoch: number; step: number; loss: number } | null;
  out: string;
  /** Task facts (model, method, data sizes, …). */
  task: Record<string, unknown>;
}

/** The fields of two JSON values that differ, as `path: a vs b`, skipping the top-level keys in `ignore`. */
export function configDiff(a: unknown, b: unknown, ignore: readonly string[] = []): string[] {
  const walk = (x: unknown, y: unknown, at: string): string[] => {
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      return [...keys]
        .filter((k) => !(at === '' && ignore.includes(k)))
        .flatMap((k) => walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
    }
    return JSON.stringify(x) === JSON.stringify(y) ? [] : [`${at}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`];
  };
  return walk(a, b, '');
}

/** Columns of `rows` in first-seen order, leaving out those that are null in every row. */
export function metricsColumns(rows: readonly MetricsRow[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols.filter((c) => rows.some((r) => r[c] !== null && r[c] !== undefined));
}

/** metrics.csv text of `rows` (numbers in full precision; an empty cell for a missing value). */
export function metricsCsv(rows: readonly MetricsRow[]): string {
  const cols = metricsColumns(rows);
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => { const v = r[c]; return v === null || v === undefined ? '' : String(v); }).join(','));
  return lines.join('\n') + '\n';
}

/** Parses metrics.csv into numeric columns (an empty or non-numeric cell is NaN). Missing file: `{}`. */
export function readMetricsColumns(dir: string): Record<string, number[]> {
  const f = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(f)) return {};
  const [head, ...lines] = fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (head === undefined) return {};
  const cols = head.split(',');
  const out: Record<string, number[]> = {};
  cols.forEach((c, i) => {
    out[c] = lines.map((l) => { const v = l.split(',')[i]; return v === undefined || v === '' ? NaN : Number(v); });
  });
  return out;
}

/** Reads `dir/result.json`; null when there is none. Throws, naming the file and the fix, when it is not in the runtime's layout. */
export function readRunResult(dir: string): RunResult | null {
  const f = path.join(dir, 'result.json');
  if (!fs.existsSync(f)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    throw new Error(`${f}: not valid JSON (${(e as Error).message}); the run folder is damaged: run the cell again in a new folder`);
  }
  if (raw === null || typeof raw !== 'object') throw new Error(`${f}: expected a JSON object`);
  const r = raw as Record<string, unknown>;
  if (r.format !== RUN_RESULT_FORMAT) {
    throw new Error(`${f}: not this runtime's result.json (no "format": "${RUN_RESULT_FORMAT}"; an older trainer's, whose layout is no longer read, or another program's); fix: run the cell again in a new folder`);
  }
  return r as unknown as RunResult;
}
