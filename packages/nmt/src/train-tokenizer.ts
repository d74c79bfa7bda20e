/**
 * The joint source/target SentencePiece tokenizer for a training run: the training text of both sides is written
 * to `cacheDir/text-<corpus>/`, `trainSentencePiece` trains a unigram model on it (cached by a hash of the text and
 * options, so each corpus + vocabulary size is trained once) and the model is loaded with `SubwordTokenizer`.
 * The run folder keeps its own copy of the model (`tokenizer.model`): a run that resumes from its checkpoint reads
 * that copy, so it continues with the vocabulary it started with, also on another machine whose cache is empty or
 * whose spm_train is another version (or missing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResumeError } from '@asam/train';
import { SubwordTokenizer, trainSentencePiece } from './tokenizer.ts';

const oneLineOf = (e: unknown): string => ((e as Error).message ?? String(e)).split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
import type { TranslationConfig } from './train-config.ts';
import type { ParallelText, TranslationDataConfig, TranslationTokenizer } from './train.ts';

/** The run folder's copy of the SentencePiece model the run trains with. */
export const RUN_TOKENIZER_FILE = 'tokenizer.model';

/**
 * Trains (or loads from the cache) a joint unigram SentencePiece model of `c.vocabSize` pieces on `train` and copies
 * it into the run folder; a run that resumes (its folder holds a checkpoint and that copy) loads the copy instead.
 */
export async function buildSubwordTokenizer(c: TranslationDataConfig, train: ParallelText): Promise<TranslationTokenizer> {
  const pinned = path.join(c.outDir, RUN_TOKENIZER_FILE);
  if (fs.existsSync(path.join(c.outDir, 'checkpoint.bin')) && fs.existsSync(pinned)) {
    try {
      return await SubwordTokenizer.load(pinned);
    } catch (e) {
      // the checkpoint's embeddings were trained with this vocabulary: without it the run cannot go on
      throw new ResumeError(`${pinned} is not a SentencePiece model this run can read (${oneLineOf(e)}): the file is damaged or not this run's; ` +
        'fix: pass --overwrite to delete the run and start again (the checkpoint needs the vocabulary it was trained with)');
    }
  }
  const dir = path.join(c.cacheDir, `text-${c.corpus}`);
  fs.mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, `train-${train.src.length}.src.txt`), path.join(dir, `train-${train.src.length}.tgt.txt`)];
  [train.src, train.tgt].forEach((lines, i) => {
    const text = lines.join('\n') + '\n';
    const f = files[i]!;
    if (!fs.existsSync(f) || fs.readFileSync(f, 'utf8') !== text) {
      fs.writeFileSync(`${f}.tmp-${process.pid}`, text);
      fs.renameSync(`${f}.tmp-${process.pid}`, f);
    }
  });
  const trained = await trainSentencePiece({ inputs: files, vocabSize: c.vocabSize, modelType: 'unigram', cacheDir: c.cacheDir });
  fs.mkdirSync(c.outDir, { recursive: true });
  fs.copyFileSync(trained.modelPath, `${pinned}.tmp-${process.pid}`);
  fs.renameSync(`${pinned}.tmp-${process.pid}`, pinned);
  return SubwordTokenizer.load(pinned);
}
