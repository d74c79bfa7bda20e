/**
 * Bench: training time of the joint Multi30k subword model (train.de + train.en,
 * 8000 BPE pieces) with spm_train, and in-process encode/decode throughput of
 * sentencepiece-js on test2016. Prints a JSON line of figures.
 *
 * Run: ASAM_DATA_DIR=… npx tsx src/tokenizer.bench.ts [cacheDir] [vocabSize] [bpe|unigram]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SubwordTokenizer, trainSentencePiece } from './tokenizer.ts';

const dataDir = process.env.ASAM_DATA_DIR;
if (!dataDir) throw new Error('set ASAM_DATA_DIR to the data folder (it must contain multi30k/raw/)');
const cacheDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'spm-bench-'));
const vocabSize = Number(process.argv[3] ?? 8000);
const modelType = (process.argv[4] ?? 'bpe') as 'bpe' | 'unigram';

const raw = join(dataDir, 'multi30k', 'raw');
const scratch = mkdtempSync(join(tmpdir(), 'spm-bench-in-'));
const inputs = ['de', 'en'].map((l) => {
  const p = join(scratch, `train.${l}`);
  writeFileSync(p, gunzipSync(readFileSync(join(raw, `train.${l}.gz`))));
  return p;
});
const t0 = performance.now();
const trained = await trainSentencePiece({ inputs, vocabSize, modelType, cacheDir });
const trainS = (performance.now() - t0) / 1000;
const tok = await SubwordTokenizer.load(trained.modelPath);
const lines = ['de', 'en'].flatMap((l) => gunzipSync(readFileSync(join(raw, `test_2016_flickr.${l}.gz`))).toString('utf8').trimEnd().split('\n'));
let t = performance.now();
const ids = lines.map((l) => tok.encode(l));
const encS = (performance.now() - t) / 1000;
t = performance.now();
for (const x of ids) tok.decode(x);
const decS = (performance.now() - t) / 1000;
const nIds = ids.reduce((a, x) => a + x.length, 0);
console.log(
  JSON.stringify({
    model: `${modelType}${vocabSize}`,
    trainSeconds: +trainS.toFixed(2),
    cached: trained.cached,
    lines: lines.length,
    piecesPerLine: +(nIds / lines.length).toFixed(2),
    encodeLinesPerSec: Math.round(lines.length / encS),
    decodeLinesPerSec: Math.round(lines.length / decS),
    modelPath: trained.modelPath,
  }),
);
