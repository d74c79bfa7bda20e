/**
 * The data a sweep needs, checked before any cell starts: which dataset files each cell reads, which are missing
 * under the data folder, and one message that says what is missing, where it looked and how to fix it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
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

const CIFAR10: DataNeed = {
  dataset: 'CIFAR-10', download: 'cifar10',
  anyOf: [['cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/test_batch.bin'], ['cifar-10-binary.tar.gz']],
};
const CIFAR100: DataNeed = {
  dataset: 'CIFAR-100', download: 'cifar100',
  anyOf: [['cifar-100-binary/train.bin', 'cifar-100-binary/test.bin'], ['cifar-100-binary.tar.gz']],
};
const MULTI30K: DataNeed = {
  dataset: 'Multi30k', download: 'multi30k',
  anyOf: [['multi30k/raw/train.de.gz', 'multi30k/raw/train.en.gz', 'multi30k/raw/val.de.gz', 'multi30k/raw/val.en.gz']],
};
const IWSLT14: DataNeed = {
  dataset: "IWSLT'14 de-en", download: 'iwslt14',
  anyOf: [['iwslt14-de-en/de-en.tgz'], ['iwslt14-de-en/orig/de-en/'], ['iwslt14-de-en/tokenized/train.de', 'iwslt14-de-en/tokenized/train.en']],
};

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

/**
 * Null when every cell's data is present; otherwise one message naming the missing datasets (with the files
 * looked for), the folder searched and how it was chosen (--data-dir, then ASAM_DATA_DIR, then the cache), and
 * the two fixes: point at existing data, or download it.
 */
export function missingDataMessage(cells: Array<Pick<Cell, 'task' | 'config'>>, dataDir: string, source: DataDirSource): string | null {
  const missing = new Map<string, { need: DataNeed; cells: number }>();
  for (const c of cells) {
    for (const need of dataNeeds(c)) {
      if (present(dataDir, need)) continue;
      const m = missing.get(need.dataset) ?? { need, cells: 0 };
      m.cells++;
      missing.set(need.dataset, m);
    }
  }
  if (missing.size === 0) return null;
  const what = [...missing.values()].map(({ need, cells: n }) => `${need.dataset} for ${n} cell(s) (${need.anyOf.map((s) => s.join(' + ')).join(', or ')})`).join('; ');
  const where = source === '--data-dir' ? `${dataDir} (from --data-dir)`
    : source === 'ASAM_DATA_DIR' ? `${dataDir} (from ASAM_DATA_DIR; no --data-dir given)`
      : `${dataDir} (the default cache: no --data-dir given and ASAM_DATA_DIR is unset)`;
  const names = [...missing.values()].map(({ need }) => need.download).filter((x): x is string => !!x);
  const manual = [...missing.values()].filter(({ need }) => !need.download).map(({ need }) => need.manual!);
  const download = names.length ? `download it: pnpm --filter @asam/data exec tsx src/download-cli.ts ${names.join(' ')} --dir ${dataDir}` : '';
  return `data missing: ${what}; looked in ${where}. Fix: point at existing data with --data-dir DIR or ASAM_DATA_DIR=DIR, or ${[download, ...manual].filter(Boolean).join('; ')}. No cell was started.`;
}
