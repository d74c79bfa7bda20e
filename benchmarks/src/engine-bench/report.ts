/**
 * Table and summary of `bench:engine` results (pure functions of the measured timings).
 * Throughput = units of one step / median step time: images/s for ResNet-20, non-padding target
 * tokens/s for the Transformer.
 */
import type { EngineInfo } from '@asam/engine';
import { KINDS, tokensFor, type DataParallelTiming, type Kind, type Timing, type WorkloadResult } from './common.ts';

/** Results of one backend (a backend that failed to load has `error` and no workloads). */
export interface BackendResult { backend: string; engine: EngineInfo; resnet20?: WorkloadResult; transformer?: WorkloadResult; error?: string }

/** What scripts/torch_bench.py prints (one JSON object). */
export interface TorchResult {
  torch: string;
  threads: number;
  steps: number;
  resnetBatch: number;
  tfmBatch: number;
  seqLen: number;
  blas?: string;
  /** ResNet-20 ran with channels-last (NHWC) memory format (the faster of the two formats is kept). */
  channelsLast?: boolean;
  resnet20?: Record<Kind, Timing>;
  transformer?: Record<Kind, Timing>;
}

export type WorkloadName = 'resnet20' | 'transformer';
const WORKLOADS: WorkloadName[] = ['resnet20', 'transformer'];

/** Units per second of the median step of `kind`, or null without a result. */
export function perSec(w: WorkloadResult | undefined, kind: Kind): number | null {
  return w === undefined ? null : w.unitsPerStep / (w.steps[kind].medianMs / 1000);
}

/** Units (images or target tokens) per step of a PyTorch workload. */
export function torchUnits(t: TorchResult, wl: WorkloadName): number {
  return wl === 'resnet20' ? t.resnetBatch : tokensFor(t.tfmBatch, t.seqLen);
}

/** PyTorch units per second of the median step of `kind`, or null without a result. */
export function torchPerSec(t: TorchResult | null, wl: WorkloadName, kind: Kind): number | null {
  const w = t?.[wl];
  return t === null || w === undefined ? null : torchUnits(t, wl) / (w[kind].medianMs / 1000);
}

const fmt = (v: number | null, d = 1): string => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));

/**
 * Markdown table: per backend and workload the throughput of every step kind, the time ratios
 * SGD÷forward, SAM÷SGD, ASAM÷SGD, SGD throughput relative to PyTorch (2 threads and 1 thread) and
 * the tensor / RSS growth after the warm-up; then the PyTorch rows and the data-parallel line.
 */
export function formatTable(results: BackendResult[], torch: TorchResult | null, torch1: TorchResult | null,
  dataParallel: Record<string, DataParallelTiming> | null, dpBatch: number): string {
  const lines: string[] = [];
  lines.push('| backend | workload | batch | forward /s | SGD /s | SAM /s | ASAM /s | SGD÷fwd time | SAM÷SGD | ASAM÷SGD | SGD vs torch 2thr | SGD vs torch 1thr | Δtensors after warm-up fwd/sgd/sam/asam | ΔRSS MiB after warm-up |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.error !== undefined) {
      lines.push(`| ${r.backend} | – | – | not available: ${r.error.split('\n')[0]} | | | | | | | | | | |`);
      continue;
    }
    for (const wl of WORKLOADS) {
      const w = r[wl];
      if (w === undefined) continue;
      const s = w.steps;
      const ours = perSec(w, 'sgd')!;
      const t2 = torchPerSec(torch, wl, 'sgd');
      const t1 = torchPerSec(torch1, wl, 'sgd');
      lines.push(`| ${r.backend} | ${wl} | ${w.batch} | ${fmt(perSec(w, 'forward'))} ${w.unit} | ${fmt(ours)} | ${fmt(perSec(w, 'sam'))} | ${fmt(perSec(w, 'asam'))} | ` +
        `${fmt(s.sgd.medianMs / s.forward.medianMs, 2)} | ${fmt(s.sam.medianMs / s.sgd.medianMs, 2)} | ${fmt(s.asam.medianMs / s.sgd.medianMs, 2)} | ` +
        `${fmt(t2 === null ? null : ours / t2, 3)} | ${fmt(t1 === null ? null : ours / t1, 3)} | ` +
        `${KINDS.map((k) => w.growthAfterWarmup[k].tensors).join('/')} | ${KINDS.map((k) => w.growthAfterWarmup[k].rssMiB).join('/')} |`);
    }
  }
  for (const [label, t] of [['torch 2 threads', torch], ['torch 1 thread', torch1]] as const) {
    if (t === null) continue;
    for (const wl of WORKLOADS) {
      const w = t[wl];
      if (w === undefined) continue;
      const ps = (k: Kind): number | null => torchPerSec(t, wl, k);
      const fmtNote = wl === 'resnet20' && t.channelsLast !== undefined ? (t.channelsLast ? ', channels-last' : ', NCHW') : '';
      lines.push(`| ${label}${fmtNote} | ${wl} | ${wl === 'resnet20' ? t.resnetBatch : t.tfmBatch} | ${fmt(ps('forward'))} | ${fmt(ps('sgd'))} | ${fmt(ps('sam'))} | ${fmt(ps('asam'))} | ` +
        `${fmt(w.sgd.medianMs / w.forward.medianMs, 2)} | ${fmt(w.sam.medianMs / w.sgd.medianMs, 2)} | ${fmt(w.asam.medianMs / w.sgd.medianMs, 2)} | 1 | – | – | – |`);
    }
  }
  const w1 = dataParallel?.['workers1'];
  const w2 = dataParallel?.['workers2'];
  if (w1 !== undefined && w2 !== undefined) {
    lines.push('', `data-parallel ResNet-20 SGD (wasm${w2.native === true ? ' + native, 1 oneDNN thread per worker' : w2.native === false ? ', SIMD kernels' : ''}, worker_threads, global batch ${dpBatch}): ` +
      `1 worker ${w1.imgPerSec.toFixed(1)} img/s, 2 workers ${w2.imgPerSec.toFixed(1)} img/s (x${(w2.imgPerSec / w1.imgPerSec).toFixed(2)})` +
      (torch !== null ? `; 2 workers vs torch 2 threads ${(w2.imgPerSec / torchPerSec(torch, 'resnet20', 'sgd')!).toFixed(3)}` : ''));
  }
  const a2 = dataParallel?.['asamWorkers2'];
  if (a2 !== undefined) {
    lines.push(`data-parallel ResNet-20 ASAM (two rounds, ε from the averaged gradient), 2 workers: ${a2.imgPerSec.toFixed(1)} img/s` +
      (w2 !== undefined ? ` (ASAM ÷ SGD time ${(w2.imgPerSec / a2.imgPerSec).toFixed(2)})` : ''));
  }
  return lines.join('\n');
}

/** Markers of the generated bench:engine block in a markdown file. */
export const README_MARKERS = { start: '<!-- bench:engine:start -->', end: '<!-- bench:engine:end -->' } as const;

/**
 * `markdown` with the text between the bench:engine markers replaced by `block`; throws (naming the file) when the
 * markers are missing or out of order, so a table never lands in the wrong place.
 */
export function replaceReadmeBlock(markdown: string, block: string, file: string): string {
  const i = markdown.indexOf(README_MARKERS.start);
  const j = markdown.indexOf(README_MARKERS.end);
  if (i < 0 || j < i) {
    throw new Error(`${file}: no ${README_MARKERS.start} … ${README_MARKERS.end} block to replace; add the two markers where the table belongs`);
  }
  return `${markdown.slice(0, i + README_MARKERS.start.length)}\n${block.trim()}\n${markdown.slice(j)}`;
}

/** The one-line JSON summary (last stdout line) of a run. */
export interface EngineBenchSummary {
  backend: string | null;
  batch: number | null;
  forwardImgPerSec: number | null;
  sgdImgPerSec: number | null;
  samImgPerSec: number | null;
  asamImgPerSec: number | null;
  /** PyTorch (2 threads) ResNet-20 SGD images/s; null when torch did not run. */
  torchImgPerSec: number | null;
  torch1ThreadImgPerSec: number | null;
  torchAsamImgPerSec: number | null;
  sgdOverForwardTime: number | null;
  asamOverSgdTime: number | null;
  sgdVsTorch: number | null;
  tensorGrowthAfterWarmup: number[] | null;
  dataParallel2WorkersImgPerSec: number | null;
  dataParallel1WorkerImgPerSec: number | null;
  dataParallelAsam2WorkersImgPerSec: number | null;
  /** 2-worker SGD images/s ÷ PyTorch (2 threads) SGD images/s: both cores against both cores. */
  dataParallel2WorkersVsTorch: number | null;
  transformerSgdTokPerSec: number | null;
  transformerAsamTokPerSec: number | null;
  torchTransformerSgdTokPerSec: number | null;
  quick: boolean;
}

/**
 * Summary of the ResNet-20 figures of the main backend (the one `auto` picks, else the first
 * measured one), PyTorch and the data-parallel trainer.
 */
export function summarize(results: BackendResult[], autoBackend: string, torch: TorchResult | null, torch1: TorchResult | null,
  dataParallel: Record<string, DataParallelTiming> | null, quick: boolean): EngineBenchSummary {
  const main = results.find((r) => r.backend === autoBackend && r.resnet20 !== undefined) ?? results.find((r) => r.resnet20 !== undefined);
  const rn = main?.resnet20;
  const torchImg = torchPerSec(torch, 'resnet20', 'sgd');
  const sgd = perSec(rn, 'sgd');
  return {
    backend: main?.backend ?? null,
    batch: rn?.batch ?? null,
    forwardImgPerSec: perSec(rn, 'forward'),
    sgdImgPerSec: sgd,
    samImgPerSec: perSec(rn, 'sam'),
    asamImgPerSec: perSec(rn, 'asam'),
    torchImgPerSec: torchImg,
    torch1ThreadImgPerSec: torchPerSec(torch1, 'resnet20', 'sgd'),
    torchAsamImgPerSec: torchPerSec(torch, 'resnet20', 'asam'),
    sgdOverForwardTime: rn ? rn.steps.sgd.medianMs / rn.steps.forward.medianMs : null,
    asamOverSgdTime: rn ? rn.steps.asam.medianMs / rn.steps.sgd.medianMs : null,
    sgdVsTorch: sgd !== null && torchImg !== null ? sgd / torchImg : null,
    tensorGrowthAfterWarmup: rn ? KINDS.map((k) => rn.growthAfterWarmup[k].tensors) : null,
    dataParallel2WorkersImgPerSec: dataParallel?.['workers2']?.imgPerSec ?? null,
    dataParallel1WorkerImgPerSec: dataParallel?.['workers1']?.imgPerSec ?? null,
    dataParallelAsam2WorkersImgPerSec: dataParallel?.['asamWorkers2']?.imgPerSec ?? null,
    dataParallel2WorkersVsTorch: dataParallel?.['workers2'] !== undefined && torchImg !== null ? dataParallel['workers2'].imgPerSec / torchImg : null,
    transformerSgdTokPerSec: perSec(main?.transformer, 'sgd'),
    transformerAsamTokPerSec: perSec(main?.transformer, 'asam'),
    torchTransformerSgdTokPerSec: torchPerSec(torch, 'transformer', 'sgd'),
    quick,
  };
}
