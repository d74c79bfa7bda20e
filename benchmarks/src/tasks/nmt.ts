/**
 * Translation task adapter: runs @asam/nmt's `trainTranslation` for one cell. The cell folder is the
 * run directory; the SentencePiece model is cached next to the cells (`<runs>/.cache/nmt`) unless
 * the config names a cacheDir. A diverged run is reported as a failure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskConfig } from '../experiment.ts';
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

/** Trains one cell with `trainTranslation` (resuming from the cell's checkpoint); throws if it diverged. */
export async function run(ctx: TaskContext): Promise<void> {
  const { trainTranslation, defaultTranslationDeps } = await import('@asam/nmt');
  const cacheDir = (ctx.config.cacheDir as string | undefined) ?? path.join(ctx.outDir, '..', '..', '.cache', 'nmt');
  const { bench: _bench, ...rest } = ctx.config;
  const config = { ...rest, dataDir: ctx.dataDir, outDir: ctx.outDir, cacheDir };
  let lastLog = 0;
  const res = await trainTranslation(config as never, {
    onProgress: (p: { epoch: number; update: number; totalUpdates: number; loss: number; lr: number; tokensPerSec: number; etaSeconds: number }) => {
      const now = Date.now();
      if (now - lastLog < 5000) return;
      lastLog = now;
      ctx.log(`epoch ${p.epoch} update ${p.update}/${p.totalUpdates} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${p.tokensPerSec.toFixed(0)} tok/s ETA ${Math.round(p.etaSeconds)}s`);
    },
    onEpoch: (m: { epoch: number; valid_loss: number; valid_bleu: number; seconds: number }) =>
      ctx.log(`epoch ${m.epoch} done: valid loss ${m.valid_loss.toFixed(4)} valid BLEU ${m.valid_bleu.toFixed(2)} (${m.seconds.toFixed(0)}s)`),
    onLog: (msg: string) => ctx.log(msg),
    shouldStop: ctx.shouldStop,
  }, defaultTranslationDeps());
  if (res.status === 'stopped') return; // checkpointed on request; cell-main exits non-zero and the cell resumes later
  if (res.status !== 'completed') throw new Error(`training ${res.status} (${JSON.stringify(res.divergedAt ?? null)}); lower the learning rate or ρ`);
}
