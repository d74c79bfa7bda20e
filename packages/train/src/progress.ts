/** Progress reports of the runtime, and the one line every CLI and the benchmark print for them. */

/** A progress report: every `progressEvery` steps, at the last step of an epoch, and after its evaluation. */
export interface TrainProgress {
  phase: 'train' | 'epoch_end';
  /** Epoch, 0-based, of `epochs`. */
  epoch: number;
  epochs: number;
  /** Steps taken in this epoch, of `stepsPerEpoch`. */
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  /** Running mean training loss of the epoch (at 'epoch_end': the epoch's mean). */
  loss: number;
  /** Running training metrics of the epoch, e.g. `{ acc }`. */
  train: Record<string, number>;
  lr: number;
  /** Throughput in `unit` per second of training time in this epoch. */
  perSecond: number;
  unit: string;
  /** Seconds left at the mean step time so far (plus evaluations at 'epoch_end'). */
  etaSeconds: number;
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

const UNIT_ABBREVIATION: Record<string, string> = { images: 'img', tokens: 'tok' };

/** One progress line, e.g. `epoch 3/120 step 10/32 (global 74/3840) loss 1.2345 acc 61.2% lr 9.98e-2 85.1 img/s ETA 2h10m`. */
export function formatProgress(p: TrainProgress): string {
  const metrics = Object.entries(p.train).map(([k, v]) => (k === 'acc' ? ` acc ${(100 * v).toFixed(1)}%` : ` ${k} ${v.toFixed(4)}`)).join('');
  const where = p.phase === 'epoch_end' ? 'done' : `step ${p.step}/${p.stepsPerEpoch}`;
  return `epoch ${p.epoch + 1}/${p.epochs} ${where} (global ${p.globalStep}/${p.totalSteps}) loss ${p.loss.toFixed(4)}${metrics} ` +
    `lr ${p.lr.toExponential(2)} ${p.perSecond.toFixed(1)} ${UNIT_ABBREVIATION[p.unit] ?? p.unit}/s ETA ${formatDuration(p.etaSeconds)}`;
}

const isFraction = (column: string): boolean => /_(acc|top5)$/.test(column);
const fmtValue = (column: string, v: number): string => (isFraction(column) ? `${(100 * v).toFixed(2)}%` : v.toFixed(4));

/** One line for a metrics.csv row: `epoch 3: train loss 1.2345 acc 61.20% | test loss 1.1111 acc 60.10% | 48.2 s`. */
export function formatEpochRow(row: Record<string, number | null>): string {
  const groups = new Map<string, string[]>();
  for (const [k, v] of Object.entries(row)) {
    const m = /^([a-z]+)_(.+)$/.exec(k);
    if (!m || v === null || m[2] === 'sec' || k.endsWith('_per_sec')) continue;
    const list = groups.get(m[1]!) ?? [];
    list.push(`${m[2]} ${fmtValue(k, v)}`);
    groups.set(m[1]!, list);
  }
  const parts = [...groups].map(([split, list]) => `${split} ${list.join(' ')}`);
  return `epoch ${row.epoch}: ${parts.join(' | ')} | ${(row.seconds ?? NaN).toFixed(1)} s`;
}

/** One line for a finished run: status, best and final figures, wall time. */
export function formatRunResult(r: { status: string; best: { metric: string; value: number; epoch: number } | null; final: { metric: string; value: number } | null; wallSeconds: number }): string {
  const best = r.best ? `best ${r.best.metric} ${fmtValue(r.best.metric, r.best.value)} (epoch ${r.best.epoch})` : 'no evaluated epoch';
  const final = r.final ? `, final ${r.final.metric} ${fmtValue(r.final.metric, r.final.value)}` : '';
  return `${r.status}: ${best}${final}, ${formatDuration(r.wallSeconds)} wall`;
}
