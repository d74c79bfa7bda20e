/**
 * The time a sweep still needs, from measurements. Seconds per epoch come from, in this order: the metrics.csv of
 * the same kind of cell (same experiment and method, any seed) in the runs folder; the same work in another
 * experiment (same task, model, data, batch and method: the label-noise cells train what the clean cells train);
 * the profile's measured step times (`step_time`; `multi30k_step_time` for translation cells, whose epoch estimate
 * counts the updates of an epoch and a validation pass); else the cell counts as not measured. Printed before a sweep
 * starts; the runner's ETA refines it as cells finish.
 * Rates come from the epochs that ran on this machine when any did (another machine's cores may be faster or
 * slower; a cell resumed here after starting elsewhere counts only its epochs here), else from the epochs of other
 * machines on the same kernel tier, else from all epochs.
 * A cell's seconds per epoch is the median over all its epochs: the last few alone follow whatever else the
 * machine was doing at the time (a test run beside the sweep doubled them), and the first epoch after a resume
 * also pays for loading the data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engineTier, envRecords, machineLabel, thisMachine } from './env-info.ts';
import type { Cell } from './experiment.ts';
import { parseCsv, readJsonIfExists } from './fs-util.ts';
import { mean, median } from './stats.ts';
import { cellDir, isFinishedStatus } from './runner.ts';

export interface SweepEstimate {
  lines: string[];
  pending: number;
  unknown: number;
  cellSeconds: number;
  wallSeconds: number;
}

/** "3.2 h", "14 min", "40 s". */
export function formatHours(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s >= 5400) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 90) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}

export function epochSeconds(dir: string): { done: number; perEpoch: number | null } {
  const t = epochTimes(dir);
  return { done: t.length, perEpoch: perEpochOf(t) };
}

function perEpochOf(t: ReadonlyArray<{ seconds: number }>): number | null {
  const secs = t.map((e) => e.seconds).filter((x) => Number.isFinite(x) && x > 0);
  return secs.length ? median(secs) : null;
}

/**
 * The label under which epoch times are pooled: the machine, the native kernel tier where a start ran on it (the
 * native tier trains several times faster than the SIMD kernels on the same cores) and the fused BatchNorm training
 * kernels where its engine had them (`wasm:BatchNormTraining` in env.json's kernel list; about 1.5× faster again).
 */
export function kernelTierLabel(machine: string | null, native: boolean, fusedBatchNorm = false): string | null {
  if (machine === null) return null;
  return `${machine}${native ? ' + native kernels' : ''}${fusedBatchNorm ? ' + fused BatchNorm' : ''}`;
}

/** The kernel-tier part of a {@link kernelTierLabel} (`' + native kernels + fused BatchNorm'`; '' for the SIMD kernels). */
function tierOf(label: string): string {
  const i = label.indexOf(' + ');
  return i < 0 ? '' : label.slice(i);
}

/**
 * Each finished epoch's seconds and the machine (with its kernel tier, {@link kernelTierLabel}) it ran on: env.json lists the cell's starts in order, each with the
 * epochs completed when it began (`resumedAt`), so epoch e ran on the last start that began before it.
 */
export function epochTimes(dir: string): Array<{ epoch: number; seconds: number; machine: string | null }> {
  const f = path.join(dir, 'metrics.csv');
  if (!fs.existsSync(f)) return [];
  const starts = envRecords(dir).map((r) => ({
    from: (r as { resumedAt?: { epochsCompleted?: unknown } }).resumedAt?.epochsCompleted,
    machine: kernelTierLabel(machineLabel(r.machine), engineTier(r).native, engineTier(r).fusedBatchNorm),
  })).map((r) => ({ from: typeof r.from === 'number' ? r.from : 0, machine: r.machine }));
  return parseCsv(fs.readFileSync(f, 'utf8')).map((row, i) => {
    const epoch = Number.isFinite(Number(row.epoch)) ? Number(row.epoch) : i + 1;
    return { epoch, seconds: Number(row.seconds), machine: starts.findLast((s) => s.from < epoch)?.machine ?? null };
  });
}

function plannedEpochs(c: Cell): number | null {
  const v = c.task === 'nmt' ? c.config.maxEpochs : c.task === 'vision' ? c.config.epochs : null;
  return typeof v === 'number' ? v : null;
}

/**
 * Estimate for the unfinished cells of a sweep run `jobs` at a time on `machine` (default: this one, SIMD kernels; the CLI
 * adds the kernel tier its cells will use, {@link kernelTierLabel}). Rates measured
 * on that machine (env.json's last start) are preferred; then rates of its kernel tier on other machines; then all.
 * Rates are looked up among `measuredFrom` (default: `cells`): the whole profile's cells when `--only` or
 * `--experiment` narrows the sweep, so a translation cell run alone still finds the profile's update-time cell.
 */
export function estimateSweep(cells: Cell[], runsDir: string, jobs: number, machine: string | null = thisMachine(),
  measuredFrom: Cell[] = cells): SweepEstimate {
  // The base optimizer under its own name (a cell id begins with it: `adam-seed1` where the base optimizer is Adam).
  const kind = (c: Cell) => `${c.experiment} ${c.optimizer === 'sgd' ? c.id.split('-')[0] : c.optimizer ?? ''}`;
  // The same work in another experiment: same task, model, data size, batch and method (e.g. the label-noise
  // cells train exactly what the clean cells train, on other labels).
  const work = (c: Cell) => JSON.stringify([c.task, c.optimizer ?? '', ...['model', 'preset', 'corpus', 'dataset', 'trainLimit', 'batchSize', 'maxTokens'].map((k) => c.config[k] ?? null)]);
  // Measured seconds per epoch by kind (any seed, any ρ of that method) and by work.
  const measured = new Map<string, number[]>();
  const measuredWork = new Map<string, { experiment: string; perEpoch: number[] }>();
  const known = new Set(measuredFrom.map((c) => cellDir(runsDir, c)));
  const lookup = [...measuredFrom, ...cells.filter((c) => !known.has(cellDir(runsDir, c)))];
  // A cell resumed on another machine has epochs from both: its rate here counts only the epochs that ran here. Without
  // epochs from this machine, epochs of the same kernel tier on other machines come next (the tiers differ several-fold
  // on the same cores), then all epochs.
  const tier = machine === null ? null : tierOf(machine);
  const rates = lookup.map((c) => {
    const t = epochTimes(cellDir(runsDir, c));
    const here = machine === null ? null : perEpochOf(t.filter((e) => e.machine === machine));
    const sameTier = tier === null ? null : perEpochOf(t.filter((e) => e.machine !== null && tierOf(e.machine) === tier));
    return { c, here, sameTier, any: perEpochOf(t) };
  });
  const level = rates.some((r) => r.here !== null) ? 'here' : rates.some((r) => r.sameTier !== null) ? 'sameTier' : 'any';
  for (const r of rates) {
    const { c } = r;
    const perEpoch = r[level];
    if (perEpoch === null) continue;
    measured.set(kind(c), [...(measured.get(kind(c)) ?? []), perEpoch]);
    const w = measuredWork.get(work(c)) ?? { experiment: c.experiment, perEpoch: [] };
    w.perEpoch.push(perEpoch);
    measuredWork.set(work(c), w);
  }
  // Step times measured by the profile's step_time cells: vision (same model and batch) and translation (same
  // preset, corpus, batch size in tokens and vocabulary; its epoch estimate counts the updates and validation).
  type StepResult = { status?: string; kind?: string; medianS?: Record<string, number>; epochS?: Record<string, number>; config?: Record<string, unknown> };
  const stepResults = lookup.filter((c) => c.task === 'step_time')
    .map((c) => ({ cell: c, r: readJsonIfExists<StepResult>(path.join(cellDir(runsDir, c), 'result.json')) }))
    .filter((x): x is { cell: Cell; r: StepResult } => x.r?.status === 'completed');
  const stepRes = stepResults.find((x) => x.r.kind !== 'nmt')?.r;
  const nmtStep = (c: Cell) => stepResults.find(({ cell, r }) => r.kind === 'nmt'
    && ['preset', 'corpus', 'maxTokens', 'vocabSize', 'trainLimit', 'validLimit'].every((k) => (cell.config[k] ?? null) === (c.config[k] ?? null)));
  const groups = new Map<string, { n: number; epochs: number; perEpoch: number | null; how: string }>();
  let unknown = 0;
  let pending = 0;
  let total = 0;
  const perCell: number[] = [];
  for (const c of cells) {
    const dir = cellDir(runsDir, c);
    if (isFinishedStatus(readJsonIfExists<{ status?: string }>(path.join(dir, 'result.json'))?.status)) continue;
    pending++;
    const planned = plannedEpochs(c);
    if (planned === null) { unknown++; continue; }
    const left = Math.max(0, planned - epochSeconds(dir).done);
    let perEpoch: number | null = null;
    let how = '';
    const m = measured.get(kind(c));
    const w = measuredWork.get(work(c));
    const ns = c.task === 'nmt' && c.optimizer ? nmtStep(c) : undefined;
    if (m?.length) { perEpoch = mean(m); how = 'measured'; }
    else if (w) { perEpoch = mean(w.perEpoch); how = `measured on ${w.experiment}`; }
    else if (ns?.r.epochS?.[c.optimizer!] !== undefined) { perEpoch = ns.r.epochS[c.optimizer!]!; how = `from ${ns.cell.experiment}`; }
    else if (c.task === 'vision' && stepRes?.medianS && c.optimizer && stepRes.config?.model === c.config.model) {
      const s = stepRes.medianS[c.optimizer];
      const images = typeof c.config.trainLimit === 'number' ? c.config.trainLimit : 50000;
      const batch = typeof c.config.batchSize === 'number' ? c.config.batchSize : 128;
      if (s !== undefined) { perEpoch = s * batch / ((stepRes.config?.batchSize as number | undefined) ?? batch) * Math.ceil(images / batch); how = 'from step_time'; }
    }
    if (perEpoch === null) { unknown++; continue; }
    total += left * perEpoch;
    perCell.push(left * perEpoch);
    const g = groups.get(kind(c)) ?? { n: 0, epochs: 0, perEpoch, how };
    g.n++;
    g.epochs += left;
    groups.set(kind(c), g);
  }
  const lines = [...groups].map(([k, g]) => `${k}: ${g.n} cell(s), ${g.epochs} epochs left at ${g.perEpoch!.toFixed(0)} s/epoch (${g.how}) = ${formatHours(g.epochs * g.perEpoch!)}`);
  return { lines, pending, unknown, cellSeconds: total, wallSeconds: wallTime(perCell, jobs) };
}

/**
 * Wall time of cells run in order, `jobs` at a time, each starting when a slot frees (as the runner does): one cell
 * never spreads over several cores, so a single 3-hour cell takes 3 hours on any number of them.
 */
export function wallTime(cellSeconds: number[], jobs: number): number {
  const slots = Array<number>(Math.max(1, jobs)).fill(0);
  for (const s of cellSeconds) {
    const i = slots.indexOf(Math.min(...slots));
    slots[i]! += s;
  }
  return Math.max(...slots);
}
