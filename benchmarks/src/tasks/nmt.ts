/**
 * Translation task adapter: runs @asam/nmt's task spec through @asam/train's `runTask` for one cell. The cell folder is the
 * run directory; the SentencePiece model is cached next to the cells (`<runs>/.cache/nmt`) unless
 * the config names a cacheDir. A diverged run ends the cell with status diverged, its result (see `endCell`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskConfig } from '../experiment.ts';
import { cellHooks, endCell } from './training.ts';
import type { TaskContext } from './types.ts';

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The corpus files a translation cell may read, for env.json's data hash. */
export function dataFiles(config: TaskConfig, dataDir: string): string[] {
  const corpus = (config.corpus as string | undefined) ?? 'multi30k';
  const sub = corpus === 'iwslt14' ? 'iwslt14-de-en' : 'multi30k';
  return listFiles(path.join(dataDir, sub)).filter((f) => !/README|LICENSE/i.test(path.basename(f)));
}

/**
 * Trains one cell through @asam/train's `runTask` with the nmt task spec (resuming from the cell's checkpoint). The
 * cell's config keeps @asam/nmt's flat names (`maxEpochs`, `maxUpdates`, …); they are mapped to the runtime section
 * here, at the boundary, so stored cells keep their meaning.
 */
export async function run(ctx: TaskContext): Promise<void> {
  const { nmtTask, resolveTranslationConfig, splitTranslationConfig } = await import('@asam/nmt');
  const { runTask } = await import('@asam/train');
  const cacheDir = (ctx.config.cacheDir as string | undefined) ?? path.join(ctx.outDir, '..', '..', '.cache', 'nmt');
  const { bench: _bench, ...rest } = ctx.config;
  const c = resolveTranslationConfig({ ...rest, dataDir: ctx.dataDir, outDir: ctx.outDir, cacheDir } as never);
  endCell(await runTask(nmtTask, splitTranslationConfig(c), { ...cellHooks(ctx), dataDir: c.dataDir }));
}
