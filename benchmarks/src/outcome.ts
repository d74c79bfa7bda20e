/**
 * Reads a cell folder into one normalised record for reports: status, the compared numbers
 * (best/final test accuracy, or BLEU), wall time, mean step time and the learning curve.
 * Only the run folder is read (result.json, metrics.csv, env.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskName } from './experiment.ts';
import { parseCsv, readJsonIfExists } from './fs-util.ts';

export interface CellOutcome {
  status: 'completed' | 'failed' | 'running' | 'missing';
  /** Compared numbers (vision: accuracy in [0,1]; nmt: BLEU in [0,100]). */
  best: number | null;
  final: number | null;
  /** Extra numbers (nmt: tokenized test BLEU). */
  extra: Record<string, number | null>;
  wallS: number | null;
  meanStepS: number | null;
  /** Curve per epoch for plots. */
  curve: { x: number[]; y: number[]; xLabel: string; yLabel: string } | null;
  backend: string | null;
  error: string | null;
  /** The raw result.json (analysis tasks are reported from it directly). */
  raw: Record<string, unknown> | null;
  /** Every numeric column of metrics.csv (one value per epoch), e.g. epoch, lr, train_loss, train_acc, test_acc. */
  columns: Record<string, number[]>;
  /** Epochs the task was configured for (vision: epochs; nmt: maxEpochs), to tell a finished curve from a cut one. */
  plannedEpochs: number | null;
}

function readColumns(dir: string): Record<string, number[]> {
  const f = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(f)) return {};
  const rows = parseCsv(fs.readFileSync(f, 'utf8'));
  const out: Record<string, number[]> = {};
  for (const k of Object.keys(rows[0] ?? {})) {
    const v = rows.map((r) => (r[k] === '' || r[k] === undefined ? NaN : Number(r[k])));
    if (v.some(Number.isFinite)) out[k] = v;
  }
  return out;
}

function n(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function readCurve(dir: string, xCol: string, yCol: string, xLabel: string, yLabel: string): CellOutcome['curve'] {
  const f = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(f)) return null;
  const rows = parseCsv(fs.readFileSync(f, 'utf8'));
  const pts = rows.map((r) => [Number(r[xCol]), Number(r[yCol])] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) return null;
  return { x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), xLabel, yLabel };
}

/** Normalised outcome of one cell folder. */
export function readOutcome(task: TaskName, dir: string): CellOutcome {
  const raw = readJsonIfExists<Record<string, unknown>>(path.join(dir, 'result.json')) ?? null;
  const env = readJsonIfExists<{ backend?: { backend?: string } }>(path.join(dir, 'env.json'));
  const base: CellOutcome = {
    status: 'missing', best: null, final: null, extra: {}, wallS: null, meanStepS: null, curve: null,
    backend: env?.backend?.backend ?? null, error: null, raw, columns: readColumns(dir), plannedEpochs: null,
  };
  const cfg = readJsonIfExists<{ config?: Record<string, unknown> }>(path.join(dir, 'cell.json'))?.config;
  if (cfg) base.plannedEpochs = n(task === 'nmt' ? cfg.maxEpochs : cfg.epochs);
  if (!raw) {
    return fs.existsSync(dir) ? { ...base, status: 'running' } : base;
  }
  const status = raw.status === 'completed' ? 'completed' : raw.status === 'failed' ? 'failed' : 'running';
  const out: CellOutcome = { ...base, status, error: typeof raw.error === 'string' ? raw.error : null };
  if (task === 'vision') {
    out.best = n(raw.bestTestAcc);
    out.final = n(raw.finalTestAcc);
    out.wallS = n(raw.wallSeconds);
    out.meanStepS = n(raw.meanStepSeconds);
    out.curve = readCurve(dir, 'epoch', 'test_acc', 'epoch', 'test accuracy');
    if (out.curve) out.curve.y = out.curve.y.map((v) => v * 100);
  } else if (task === 'nmt') {
    out.best = n(raw.bestValidBleu);
    out.final = n(raw.testBleu);
    out.extra = { testBleuTokenized: n(raw.testBleuTokenized) };
    out.wallS = n(raw.wallSeconds);
    out.meanStepS = n(raw.meanStepSeconds);
    out.curve = readCurve(dir, 'epoch', 'valid_bleu', 'epoch', 'valid BLEU');
  } else {
    out.wallS = n(raw.wallTimeS) ?? n(raw.wallSeconds);
  }
  return out;
}
