import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { epochTimes, estimateSweep, epochSeconds, kernelTierLabel, wallTime } from '../src/estimate.ts';
import { expandGrid } from '../src/experiment.ts';
import { createExperimentRegistry } from '../src/experiments/index.ts';
import { cellDir } from '../src/runner.ts';

const tmp: string[] = [];
afterEach(() => { for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

function writeMetrics(dir: string, seconds: number[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const rows = seconds.map((s, i) => `${i + 1},${(i + 1) * 32},0.1,1.0,0.5,1.2,0.4,${s},100`);
  fs.writeFileSync(path.join(dir, 'metrics.csv'), ['epoch,step,lr,train_loss,train_acc,test_loss,test_acc,seconds,img_per_sec', ...rows].join('\n') + '\n');
}

describe('the sweep estimate', () => {
  it('takes a cell\'s seconds per epoch as the median over all its epochs, not the last few', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(dir);
    // 7 undisturbed epochs at 50 s, then 4 epochs while the machine was busy: the median stays at 50.
    writeMetrics(dir, [50, 51, 49, 50, 52, 48, 50, 110, 120, 130, 100]);
    expect(epochSeconds(dir)).toEqual({ done: 11, perEpoch: 51 });
    writeMetrics(dir, [40, 60]);
    expect(epochSeconds(dir)).toEqual({ done: 2, perEpoch: 50 });
    expect(epochSeconds(path.join(dir, 'absent'))).toEqual({ done: 0, perEpoch: null });
  });

  it('adds up the epochs left of every unfinished cell at the measured rate of its kind', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const cells = expandGrid(createExperimentRegistry().get('cifar10_resnet20'), 'cpu');
    const sgd = cells.filter((c) => c.optimizer === 'sgd' && c.seed < 3);
    expect(sgd.map((c) => c.seed)).toEqual([0, 1, 2]);
    // seed 0 finished (120 epochs at 40 s), seed 1 stopped after 20 epochs at 60 s; seed 2 not started.
    writeMetrics(cellDir(runs, sgd[0]!), Array(120).fill(40));
    fs.writeFileSync(path.join(cellDir(runs, sgd[0]!), 'result.json'), JSON.stringify({ status: 'completed' }));
    writeMetrics(cellDir(runs, sgd[1]!), Array(20).fill(60));
    const est = estimateSweep(sgd, runs, 2);
    // The kind's rate is the mean of the cells' medians, (40 + 60) / 2 = 50 s; 100 + 120 epochs are left.
    expect(est.pending).toBe(2);
    expect(est.unknown).toBe(0);
    expect(est.cellSeconds).toBe(220 * 50);
    expect(est.wallSeconds).toBe(120 * 50); // side by side on 2 cores: the longer cell sets the wall time
    expect(est.lines).toEqual(['cifar10_resnet20 sgd: 2 cell(s), 220 epochs left at 50 s/epoch (measured) = 3.1 h']);
  });

  it('prefers rates measured on this machine to rates from other machines', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const sgd = expandGrid(createExperimentRegistry().get('cifar10_resnet20'), 'cpu').filter((c) => c.optimizer === 'sgd' && c.seed < 3);
    const ranOn = (i: number, cpuModel: string, cpuCount: number, seconds: number) => {
      writeMetrics(cellDir(runs, sgd[i]!), Array(10).fill(seconds));
      fs.writeFileSync(path.join(cellDir(runs, sgd[i]!), 'env.json'), JSON.stringify({ machine: { cpuModel, cpuCount } }));
    };
    ranOn(0, 'Small', 2, 100);
    ranOn(1, 'Big', 16, 40);
    // 110 + 110 + 120 epochs left
    expect(estimateSweep(sgd, runs, 1, 'Small (2 cores)').cellSeconds).toBe(340 * 100);
    expect(estimateSweep(sgd, runs, 1, 'Big (16 cores)').cellSeconds).toBe(340 * 40);
    // on a third machine both count
    expect(estimateSweep(sgd, runs, 1, 'Other (8 cores)').cellSeconds).toBe(340 * 70);
  });

  it('pools epoch times by kernel tier: native-kernel epochs set the rate of a native sweep, SIMD ones of a SIMD sweep', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const sgd = expandGrid(createExperimentRegistry().get('cifar10_resnet20'), 'cpu').filter((c) => c.optimizer === 'sgd').slice(0, 2);
    const ranOn = (i: number, native: boolean | undefined, seconds: number) => {
      writeMetrics(cellDir(runs, sgd[i]!), Array(10).fill(seconds));
      fs.writeFileSync(path.join(cellDir(runs, sgd[i]!), 'env.json'), JSON.stringify({
        machine: { cpuModel: 'Small', cpuCount: 2 }, backend: { backend: 'wasm', ...(native === undefined ? {} : { native: { loaded: native } }) } }));
    };
    ranOn(0, undefined, 48); // a record from before the native tier: SIMD
    ranOn(1, true, 20);
    expect(kernelTierLabel('Small (2 cores)', true)).toBe('Small (2 cores) + native kernels');
    expect(epochTimes(cellDir(runs, sgd[1]!))[0]!.machine).toBe('Small (2 cores) + native kernels');
    // 110 + 110 epochs left
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Small (2 cores)', true)).cellSeconds).toBe(220 * 20);
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Small (2 cores)', false)).cellSeconds).toBe(220 * 48);
    // a machine that has run nothing yet takes the rates of its own kernel tier from the others, not the mean of all tiers
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Fresh (2 cores)', true)).cellSeconds).toBe(220 * 20);
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Fresh (2 cores)', false)).cellSeconds).toBe(220 * 48);
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Fresh (2 cores)', true, true)).cellSeconds).toBe(220 * 34); // no fused-BatchNorm epochs: all
  });

  it('pools epoch times of engines with the fused BatchNorm training kernels apart from those without', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const sgd = expandGrid(createExperimentRegistry().get('cifar10_resnet20'), 'cpu').filter((c) => c.optimizer === 'sgd').slice(0, 2);
    const ranOn = (i: number, kernels: string[], seconds: number) => {
      writeMetrics(cellDir(runs, sgd[i]!), Array(10).fill(seconds));
      fs.writeFileSync(path.join(cellDir(runs, sgd[i]!), 'env.json'), JSON.stringify({
        machine: { cpuModel: 'Small', cpuCount: 2 }, backend: { backend: 'wasm', native: { loaded: true }, kernels } }));
    };
    ranOn(0, ['wasm:Conv2D', 'wasm:FusedBatchNorm'], 33);
    ranOn(1, ['wasm:Conv2D', 'wasm:BatchNormTraining', 'wasm:BatchNormTrainingGrad'], 15);
    expect(kernelTierLabel('Small (2 cores)', true, true)).toBe('Small (2 cores) + native kernels + fused BatchNorm');
    expect(epochTimes(cellDir(runs, sgd[1]!))[0]!.machine).toBe('Small (2 cores) + native kernels + fused BatchNorm');
    expect(epochTimes(cellDir(runs, sgd[0]!))[0]!.machine).toBe('Small (2 cores) + native kernels');
    // 110 + 110 epochs left
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Small (2 cores)', true, true)).cellSeconds).toBe(220 * 15);
    expect(estimateSweep(sgd, runs, 1, kernelTierLabel('Small (2 cores)', true)).cellSeconds).toBe(220 * 33);
  });

  it('counts, for a cell resumed here after starting elsewhere, only the epochs that ran here', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const asam = expandGrid(createExperimentRegistry().get('cifar10_rho_resnet20'), 'cpu').filter((c) => c.optimizer === 'asam').slice(0, 2);
    const dir = cellDir(runs, asam[0]!);
    // epochs 1–4 on Big at 130 s (a busy machine), 5–7 on Big again after a stop, 8–12 here on Small at 80 s
    writeMetrics(dir, [...Array(7).fill(130), ...Array(5).fill(80)]);
    fs.writeFileSync(path.join(dir, 'env.json'), JSON.stringify({
      machine: { cpuModel: 'Small', cpuCount: 2 }, resumedAt: { status: 'stopped', epochsCompleted: 7 },
      previous: [{ machine: { cpuModel: 'Big', cpuCount: 16 } }, { machine: { cpuModel: 'Big', cpuCount: 16 }, resumedAt: { status: 'stopped', epochsCompleted: 4 } }],
    }));
    expect(epochTimes(dir).map((e) => `${e.epoch}:${e.machine}`)).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7].map((e) => `${e}:Big (16 cores)`), ...[8, 9, 10, 11, 12].map((e) => `${e}:Small (2 cores)`)]);
    // 108 epochs left of the first cell, 120 of the second (not started)
    expect(estimateSweep(asam, runs, 1, 'Small (2 cores)').cellSeconds).toBe(228 * 80);
    expect(estimateSweep(asam, runs, 1, 'Big (16 cores)').cellSeconds).toBe(228 * 130);
    expect(estimateSweep(asam, runs, 1, 'Other (8 cores)').cellSeconds).toBe(228 * 130); // the median of all 12 epochs
  });
});

describe('the cpu profile\'s ρ sweep', () => {
  it('runs five values per method at two seeds, four of them its own cells (the published ρ comes from cifar10_resnet20), the still-fitting ones on 240 epochs (120 at seed 0 only), the published ones also on 240 as controls', () => {
    const reg = createExperimentRegistry();
    const rho = expandGrid(reg.get('cifar10_rho_resnet20'), 'cpu');
    expect(rho.map((c) => `${c.optimizer}:${c.rho}:${c.seed}${c.schedule ? `:${c.schedule}` : ''}`)).toEqual([
      ...['0.01', '0.02', '0.1'].flatMap((r) => [0, 1].map((s) => `sam:${r}:${s}`)), 'sam:0.2:0',
      ...['0.1', '0.2'].flatMap((r) => [0, 1].map((s) => `asam:${r}:${s}`)), 'asam:1:0', 'asam:2:0',
      'sam:0.2:0:e240', 'sam:0.2:1:e240', 'asam:1:0:e240', 'asam:1:1:e240', 'asam:2:0:e240', 'asam:2:1:e240',
      'sam:0.05:0:e240', 'sam:0.05:1:e240', 'asam:0.5:0:e240', 'asam:0.5:1:e240',
    ]);
    const clean = expandGrid(reg.get('cifar10_resnet20'), 'cpu').filter((c) => c.seed === 0 && c.optimizer !== 'sgd');
    expect(clean.map((c) => `${c.optimizer}:${c.rho}`)).toEqual(['sam:0.05', 'asam:0.5']);
    for (const c of rho) expect(c.config.epochs).toBe(c.schedule ? 240 : 120);
  });
  it('estimates a longer-schedule cell from the per-epoch rate of its kind, times its own epochs', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const rho = expandGrid(createExperimentRegistry().get('cifar10_rho_resnet20'), 'cpu');
    const done = rho.find((c) => c.id === 'asam-rho2-seed0')!;
    const d = cellDir(runs, done);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'metrics.csv'), `epoch,seconds\n${Array.from({ length: 120 }, (_, e) => `${e + 1},40`).join('\n')}\n`);
    fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ status: 'completed' }));
    const longer = rho.filter((c) => c.id === 'asam-rho2-seed1-e240');
    expect(estimateSweep(longer, runs, 1, null, rho).cellSeconds).toBe(240 * 40);
  });
});

describe('the sweep estimate across experiments', () => {
  it('gives a kind that has not run yet the rate of the same work in another experiment', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
    tmp.push(runs);
    const reg = createExperimentRegistry();
    const clean = expandGrid(reg.get('cifar10_resnet20'), 'cpu').filter((c) => c.optimizer === 'sam' && c.seed < 3);
    const noisy = expandGrid(reg.get('cifar10_noise40_resnet20'), 'cpu').filter((c) => c.optimizer === 'sam' && c.seed < 3);
    writeMetrics(cellDir(runs, clean[0]!), Array(10).fill(100));
    const est = estimateSweep([...clean, ...noisy], runs, 1);
    expect(est.lines).toEqual([
      'cifar10_resnet20 sam: 3 cell(s), 350 epochs left at 100 s/epoch (measured) = 9.7 h',
      'cifar10_noise40_resnet20 sam: 3 cell(s), 360 epochs left at 100 s/epoch (measured on cifar10_resnet20) = 10.0 h',
    ]);
    expect(est.cellSeconds).toBe(710 * 100);
  });
});

describe('the wall time of a sweep', () => {
  it('runs cells in order, each in the first slot that frees, never one cell over several slots', () => {
    expect(wallTime([], 2)).toBe(0);
    expect(wallTime([100], 2)).toBe(100);
    expect(wallTime([100, 100], 2)).toBe(100);
    expect(wallTime([100, 30, 30, 30], 2)).toBe(100);
    expect(wallTime([30, 30, 100], 2)).toBe(130);
    expect(wallTime([10, 20, 30], 1)).toBe(60);
    expect(wallTime([10, 20], 0)).toBe(30);
  });
});

/** A runs folder and the cpu profile's translation cells; `measureSteps()` writes the update-time cell's result. */
function translationSweep() {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-estimate-'));
  tmp.push(runs);
  const reg = createExperimentRegistry();
  const step = expandGrid(reg.get('multi30k_step_time'), 'cpu');
  const nmt = expandGrid(reg.get('multi30k_transformer'), 'cpu');
  const measureSteps = () => {
    fs.mkdirSync(cellDir(runs, step[0]!), { recursive: true });
    fs.writeFileSync(path.join(cellDir(runs, step[0]!), 'result.json'), JSON.stringify({ status: 'completed', kind: 'nmt', epochS: { sgd: 300, sam: 600, asam: 630 } }));
  };
  return { runs, step, nmt, measureSteps };
}

describe('the sweep estimate for translation cells', () => {
  it('takes an epoch from the update-time cell of the same settings until a translation cell has run', () => {
    const { runs, step, nmt, measureSteps } = translationSweep();
    expect(step).toHaveLength(1);
    expect(nmt.map((c) => c.optimizer)).toEqual(['sgd', 'sam', 'asam']);
    expect(estimateSweep([...step, ...nmt], runs, 1).unknown).toBe(4); // nothing measured yet
    measureSteps();
    const est = estimateSweep([...step, ...nmt], runs, 1);
    expect(est.unknown).toBe(0);
    expect(est.lines).toEqual([
      'multi30k_transformer adam: 1 cell(s), 20 epochs left at 300 s/epoch (from multi30k_step_time) = 1.7 h',
      'multi30k_transformer sam: 1 cell(s), 20 epochs left at 600 s/epoch (from multi30k_step_time) = 3.3 h',
      'multi30k_transformer asam: 1 cell(s), 20 epochs left at 630 s/epoch (from multi30k_step_time) = 3.5 h',
    ]);
    // once a cell of the kind has run, its own epochs win
    writeMetrics(cellDir(runs, nmt[1]!), [500, 520]);
    expect(estimateSweep([...step, ...nmt], runs, 1).lines[1]).toBe('multi30k_transformer sam: 1 cell(s), 18 epochs left at 510 s/epoch (measured) = 2.5 h');
  });

  it('finds the profile\'s measurements when the sweep is narrowed to one cell (--only)', () => {
    const { runs, step, nmt, measureSteps } = translationSweep();
    measureSteps();
    writeMetrics(cellDir(runs, nmt[1]!), [500, 520]);
    const asamOnly = [nmt[2]!];
    expect(estimateSweep(asamOnly, runs, 1).unknown).toBe(1); // alone, nothing of its kind is visible
    const est = estimateSweep(asamOnly, runs, 1, null, [...step, ...nmt]);
    expect(est.pending).toBe(1);
    expect(est.lines).toEqual(['multi30k_transformer asam: 1 cell(s), 20 epochs left at 630 s/epoch (from multi30k_step_time) = 3.5 h']);
    // the SAM cell's own epochs still count for a SAM cell picked alone
    expect(estimateSweep([nmt[1]!], runs, 1, null, [...step, ...nmt]).lines).toEqual(['multi30k_transformer sam: 1 cell(s), 18 epochs left at 510 s/epoch (measured) = 2.5 h']);
  });
});
