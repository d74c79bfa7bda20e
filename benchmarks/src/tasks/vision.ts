/**
 * Vision task adapter: runs @asam/vision's task spec through @asam/train's `runTask` for one cell. The cell folder is the
 * run directory (config.json, metrics.csv, result.json, checkpoint.bin); vision resumes from the
 * checkpoint it finds there. A diverged run ends the cell with status diverged, its result (see `endCell`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskConfig } from '../experiment.ts';
import { cellHooks, endCell } from './training.ts';
import type { TaskContext } from './types.ts';

/** Image files under an ImageNet-layout folder (`<split>/<wnid>/*`), sorted; stops counting past `max`. */
function imageFolderFiles(root: string, max: number): string[] {
  const out: string[] = [];
  for (const split of ['train', 'val']) {
    const dir = path.join(root, split);
    if (!fs.existsSync(dir)) continue;
    for (const wnid of fs.readdirSync(dir).sort()) {
      const cls = path.join(dir, wnid);
      if (!fs.statSync(cls).isDirectory()) continue;
      for (const f of fs.readdirSync(cls).sort()) {
        out.push(path.join(cls, f));
        if (out.length > max) return out;
      }
    }
  }
  return out;
}

/** Most images of an ImageNet folder that are hashed for env.json; larger folders hash the class list only. */
const MAX_HASHED_IMAGES = 5000;

/**
 * The dataset files a vision cell reads (those that exist), for env.json's data hash. For ImageNet folders
 * with more than MAX_HASHED_IMAGES images only LOC_synset_mapping.txt is hashed (hashing ~150 GB per run is
 * not practical); env.json then identifies the class list, not the images.
 */
export function dataFiles(config: TaskConfig, dataDir: string): string[] {
  const ds = (config.dataset as string | undefined) ?? 'cifar10';
  if (ds === 'imagenet') {
    const root = path.join(dataDir, (config.imagenetFolder as string | undefined) ?? 'imagenet');
    const mapping = path.join(root, 'LOC_synset_mapping.txt');
    const images = imageFolderFiles(root, MAX_HASHED_IMAGES);
    return [...(fs.existsSync(mapping) ? [mapping] : []), ...(images.length > MAX_HASHED_IMAGES ? [] : images)];
  }
  const cand = ds === 'cifar100'
    ? ['cifar-100-binary/train.bin', 'cifar-100-binary/test.bin', 'cifar-100-binary.tar.gz']
    : ds === 'cifar10'
      ? ['cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/data_batch_2.bin', 'cifar-10-batches-bin/data_batch_3.bin',
        'cifar-10-batches-bin/data_batch_4.bin', 'cifar-10-batches-bin/data_batch_5.bin', 'cifar-10-batches-bin/test_batch.bin', 'cifar-10-binary.tar.gz']
      : [];
  return cand.map((f) => path.join(dataDir, f)).filter((f) => fs.existsSync(f));
}

/** Throws unless every file of the full dataset is present (paper-profile cells must not train on a subset). */
function checkFullDataset(config: TaskConfig, dataDir: string): void {
  const ds = (config.dataset as string | undefined) ?? 'cifar10';
  if (ds === 'imagenet') {
    const root = path.join(dataDir, (config.imagenetFolder as string | undefined) ?? 'imagenet');
    const classes = (split: string) => {
      const dir = path.join(root, split);
      return fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory()).length : 0;
    };
    const [train, val] = [classes('train'), classes('val')];
    if (train !== 1000 || val !== 1000) {
      throw new Error(`this experiment needs the full ILSVRC-2012 folders ${root}/train/<wnid>/ and ${root}/val/<wnid>/ with 1000 classes each ` +
        `(found ${train} and ${val}); prepare them (val sorted into class folders) and point ASAM_DATA_DIR / --data-dir at their parent`);
    }
    return;
  }
  const need = ds === 'cifar100'
    ? [['cifar-100-binary/train.bin', 'cifar-100-binary/test.bin'], ['cifar-100-binary.tar.gz']]
    : [['cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/data_batch_2.bin', 'cifar-10-batches-bin/data_batch_3.bin',
      'cifar-10-batches-bin/data_batch_4.bin', 'cifar-10-batches-bin/data_batch_5.bin', 'cifar-10-batches-bin/test_batch.bin'], ['cifar-10-binary.tar.gz']];
  const ok = need.some((set) => set.every((f) => fs.existsSync(path.join(dataDir, f))));
  const partial = ds === 'cifar10' && fs.existsSync(path.join(dataDir, 'cifar-10-batches-bin/data_batch_1.bin'))
    && fs.statSync(path.join(dataDir, 'cifar-10-batches-bin/data_batch_1.bin')).size !== 10000 * 3073;
  if (!ok || partial) {
    throw new Error(`this experiment needs the full ${ds} dataset (${need.map((s) => s.join(' + ')).join(' or ')}) in ${dataDir}` +
      `${partial ? '; data_batch_1.bin there is a partial file' : ''}; download it (see @asam/data) and point ASAM_DATA_DIR / --data-dir at it`);
  }
}

/**
 * Trains one cell through @asam/train's `runTask` with the vision task spec (resuming from the cell's checkpoint). The
 * cell's config (cell.json, hashed by the sweep) keeps the flat names of @asam/vision's TrainConfig; it is mapped to
 * the runtime and task sections here, at the boundary, so stored cells keep their meaning.
 */
export async function run(ctx: TaskContext): Promise<void> {
  const { resolveConfig, splitVisionConfig, visionTask } = await import('@asam/vision');
  const { runTask } = await import('@asam/train');
  const { bench, ...rest } = ctx.config as TaskConfig & { bench?: { requireFullDataset?: boolean } };
  if (bench?.requireFullDataset) checkFullDataset(rest, ctx.dataDir);
  const flat = resolveConfig({ ...rest, out: ctx.outDir } as never);
  endCell(await runTask(visionTask, splitVisionConfig(flat), { ...cellHooks(ctx), dataDir: ctx.dataDir }));
}
