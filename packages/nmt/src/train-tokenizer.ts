/**
 * The joint source/target SentencePiece tokenizer for a training run: the training text of both sides is written
 * to `cacheDir/text-<corpus>/`, `trainSentencePiece` trains a unigram model on it (cached by a hash of the text and
 * options, so each corpus + vocabulary size is trained once) and the model is loaded with `SubwordTokenizer`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SubwordTokenizer, trainSentencePiece } from './tokenizer.ts';
import type { TranslationConfig } from './train-config.ts';
import type { ParallelText, TranslationTokenizer } from './train.ts';

/** Trains (or loads from the cache) a joint unigram SentencePiece model of `c.vocabSize` pieces on `train`. */
export async function buildSubwordTokenizer(c: TranslationConfig, train: ParallelText): Promise<TranslationTokenizer> {
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
  return SubwordTokenizer.load(trained.modelPath);
}
