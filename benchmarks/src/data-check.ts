/**
 * The data a sweep needs, checked before any cell starts: which dataset files each cell reads, which are missing
 * under the data folder, downloading what can be downloaded (data on demand), and one message that says what is
 * still missing, where it looked and how to fix it. The cells whose data cannot be had are skipped; the others run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATASETS, downloadCommand, fetchMissing, formatBytes, type ProgressSink } from '@asam/data';
import type { Cell } from './experiment.ts';

/** One dataset a cell reads: present when every file of one of the alternatives exists under the data folder. */
export interface DataNeed {
  dataset: string;
  /** Alternatives, each a list of paths relative to the data folder (a trailing `/` means a folder). */
  anyOf: string[][];
  /** The @asam/data downloader's name for it, where it can be downloaded. */
  download?: string;
  /** How to get it where there is no downloader. */
  manual?: string;
}

/** A dataset of @asam/data's download registry: what counts as present is the registry's. */
const downloadable = (dataset: string, name: string): DataNeed => ({ dataset, download: name, anyOf: DATASETS[name]!.presentWhen! });
const CIFAR10 = downloadable('CIFAR-10', 'cifar10');
const CIFAR100 = downloadable('CIFAR-100', 'cifar100');
const MULTI30K = downloadable('Multi30k', 'multi30k');
const IWSLT14 = downloadable("IWSLT'14 de-en", 'iwslt14');

/** The datasets one cell reads (by task and config). */
export function dataNeeds(cell: Pick<Cell, 'task' | 'config'>): DataNeed[] {
  const c = cell.config;
  switch (cell.task) {
    case 'vision': {
      const ds = (c.dataset as string | undefined) ?? 'cifar10';
      if (ds === 'cifar100') return [CIFAR100];
      if (ds === 'imagenet') {
        const folder = (c.imagenetFolder as string | undefined) ?? 'imagenet';
        return [{ dataset: `ImageNet folder ${folder}`, anyOf: [[`${folder}/train/`]], manual: `prepare ${folder}/train/<wnid>/*.JPEG (and val/) under the data folder` }];
      }
      return [CIFAR10];
    }
    case 'step_time':
      // a translation step time reads its corpus
      return c.kind === 'nmt' ? dataNeeds({ task: 'nmt', config: c }) : [CIFAR10];
    case 'nmt':
      return [(c.corpus as string | undefined) === 'iwslt14' ? IWSLT14 : MULTI30K];
    case 'sharpness_gap':
      return [CIFAR10];
    default:
      return [];
  }
}

function present(dataDir: string, need: DataNeed): boolean {
  return need.anyOf.some((set) => set.every((rel) => {
    const p = path.join(dataDir, rel);
    return rel.endsWith('/') ? fs.existsSync(p) && fs.statSync(p).isDirectory() : fs.existsSync(p) && fs.statSync(p).size > 0;
  }));
}

/** Where the data folder came from, for the message. */
export type DataDirSource = '--data-dir' | 'ASAM_DATA_DIR' | 'cache';

/** A cell left out of the sweep because its data is not there. */
export interface SkippedCell {
  cell: Cell;
  /** The datasets it lacks (e.g. "CIFAR-10"). */
  datasets: string[];
}

/** What {@link prepareData} decided. */
export interface DataPlan {
  /** Cells whose data is present (or was just downloaded), in the given order. */
  runnable: Cell[];
  skipped: SkippedCell[];
  /** One line (starting "data missing: ") saying what is missing, why, where it looked and the fix; null when nothing is. */
  message: string | null;
}

/** Options of {@link prepareData}. */
export interface PrepareDataOptions {
  /** false with --no-download. */
  allowDownload: boolean;
  mirror: string | null;
  sink: ProgressSink;
  /** Per-attempt timeout of a download (default @asam/data's). */
  timeoutMs?: number;
}

/** The first clause of a download error (its reason without the advice the summary gives once). */
const reasonOf = (e: string) => e.split(/; (?=download the files|the file was not kept|gave up)/)[0]!;

/**
 * Data on demand for a sweep: every dataset the cells need that is not in `dataDir` is downloaded (when allowed and
 * when @asam/data can fetch it); cells whose data is still missing afterwards are skipped, and `message` says which
 * data, why (not downloadable, --no-download, or the download's error), where it looked, and the fix in one line.
 */
export async function prepareData(cells: Cell[], dataDir: string, source: DataDirSource, o: PrepareDataOptions): Promise<DataPlan> {
  const needs = new Map<string, DataNeed>();
  for (const c of cells) for (const n of dataNeeds(c)) if (!present(dataDir, n)) needs.set(n.dataset, n);
  const why = new Map<string, string>();
  const names = [...needs.values()].map((n) => n.download).filter((x): x is string => !!x);
  if (names.length) {
    const outcomes = await fetchMissing(names, dataDir, { allowDownload: o.allowDownload, mirror: o.mirror, sink: o.sink, tag: '[bench]',
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
    for (const r of outcomes) if (r.error) why.set(r.name, r.status === 'forbidden' ? 'not downloaded: --no-download' : `download failed: ${reasonOf(r.error)}`);
  }
  for (const n of needs.values()) if (!n.download) why.set(n.dataset, 'no download exists for it');
  const runnable: Cell[] = [];
  const skipped: SkippedCell[] = [];
  const count = new Map<string, number>();
  for (const c of cells) {
    const lacking = dataNeeds(c).filter((n) => !present(dataDir, n)).map((n) => n.dataset);
    if (lacking.length === 0) { runnable.push(c); continue; }
    skipped.push({ cell: c, datasets: lacking });
    for (const d of lacking) count.set(d, (count.get(d) ?? 0) + 1);
  }
  if (skipped.length === 0) return { runnable, skipped, message: null };
  const lacking = [...needs.values()].filter((n) => count.has(n.dataset));
  const what = lacking.map((n) => `${n.dataset} for ${count.get(n.dataset)} cell(s) (${why.get(n.download ?? n.dataset) ?? 'not found'})`).join('; ');
  const where = source === '--data-dir' ? `${dataDir} (from --data-dir)`
    : source === 'ASAM_DATA_DIR' ? `${dataDir} (from ASAM_DATA_DIR)` : `${dataDir} (the default cache)`;
  const dl = lacking.filter((n) => n.download);
  const size = dl.map((n) => `${n.dataset} ${formatBytes(DATASETS[n.download!]!.bytes)}`).join(', ');
  const fixes = [
    ...(dl.length ? [`run the same command with network access (it downloads ${size})${o.allowDownload ? '' : ' and without --no-download'}`,
      'fetch from a mirror with --mirror URL or ASAM_DATA_MIRROR=URL', `download elsewhere with ${downloadCommand(dl.map((n) => n.download).join(','), dataDir)}`] : []),
    'point at existing data with --data-dir DIR or ASAM_DATA_DIR=DIR',
    ...lacking.filter((n) => !n.download).map((n) => n.manual!),
  ];
  return { runnable, skipped, message: `data missing: ${what}; looked in ${where}. Fix: ${fixes.join(', or ')}. ${skipped.length} cell(s) skipped.` };
}
