/**
 * SubwordTokenizer / trainSentencePiece against the reference SentencePiece library:
 * test/fixtures/spm-reference.json is written by scripts/spm_reference.py (Python
 * SentencePiece on models trained by spm_train on Multi30k val). The models are
 * retrained here through trainSentencePiece() and must be byte-identical; then
 * sentencepiece-js must give the reference's ids, pieces and decoded text.
 * Needs `spm_train` (apt-get install sentencepiece) and real data in ASAM_DATA_DIR.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubwordTokenizer, trainSentencePiece, type TrainedSentencePiece } from './tokenizer.ts';
import { readSentencePieceModel } from './tokenizer-proto.ts';

const DATA_DIR: string | undefined = process.env.ASAM_DATA_DIR || undefined;
if (!DATA_DIR) console.warn('[@asam/nmt tokenizer tests] ASAM_DATA_DIR is unset: tests on Multi30k are skipped.');

interface RefModel {
  name: string;
  vocabSize: number;
  modelType: 'bpe' | 'unigram';
  modelSha256: string;
  pieceSize: number;
  special: { pad: number; unk: number; bos: number; eos: number };
  firstPieces: string[];
  sentences: { text: string; ids: number[]; pieces: string[]; decoded: string }[];
  corpus: Record<'de' | 'en', { lines: number; numIds: number; numUnk: number; idsSha256: string; piecesSha256: string; decodedSha256: string; roundTripExact: number }>;
}
const REF = JSON.parse(readFileSync(new URL('../test/fixtures/spm-reference.json', import.meta.url), 'utf8')) as { models: RefModel[] };

function dataFile(rel: string): string {
  const p = join(DATA_DIR!, rel);
  if (!existsSync(p)) throw new Error(`ASAM_DATA_DIR is set to ${DATA_DIR!}, but ${p} is missing (see the shared data README).`);
  return p;
}
const gunzipLines = (p: string): string[] => {
  const lines = gunzipSync(readFileSync(p)).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};
const digest = (lines: string[]) => createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');

let work: string;
let inputs: string[];
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nmt-spm-test-'));
  if (!DATA_DIR) return;
  inputs = (['de', 'en'] as const).map((lang) => {
    const p = join(work, `val.${lang}`);
    writeFileSync(p, gunzipSync(readFileSync(dataFile(`multi30k/raw/val.${lang}.gz`))));
    return p;
  });
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!DATA_DIR)('SentencePiece on Multi30k (reference: Python SentencePiece)', () => {
  const corpus: Record<string, string[]> = {};
  beforeAll(() => {
    for (const lang of ['de', 'en']) corpus[lang] = gunzipLines(dataFile(`multi30k/raw/test_2016_flickr.${lang}.gz`));
  });

  for (const ref of REF.models) {
    describe(ref.name, () => {
      let trained: TrainedSentencePiece;
      let tok: SubwordTokenizer;
      beforeAll(async () => {
        trained = await trainSentencePiece({ inputs, vocabSize: ref.vocabSize, modelType: ref.modelType, cacheDir: join(work, 'cache') });
        tok = await SubwordTokenizer.load(trained.modelPath);
      });

      it('trains a byte-identical model (deterministic spm_train) with pad/unk/bos/eos = 0/1/2/3', () => {
        const sha = createHash('sha256').update(readFileSync(trained.modelPath)).digest('hex');
        expect(sha).toBe(ref.modelSha256);
        expect(tok.vocabSize).toBe(ref.pieceSize);
        expect({ pad: tok.pad, unk: tok.unk, bos: tok.bos, eos: tok.eos }).toEqual(ref.special);
        expect(Array.from({ length: 12 }, (_, i) => tok.idToPiece(i))).toEqual(ref.firstPieces);
        const meta = JSON.parse(readFileSync(join(trained.dir, 'meta.json'), 'utf8')) as { modelSha256: string };
        expect(meta.modelSha256).toBe(ref.modelSha256);
      });

      it('reads the same pieces from the .model file as spm_train wrote to .vocab', () => {
        const vocab = readFileSync(trained.vocabPath, 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[0]);
        expect(readSentencePieceModel(readFileSync(trained.modelPath)).pieces.map((p) => p.piece)).toEqual(vocab);
      });

      it('encodes/decodes hand-written sentences exactly as the reference', () => {
        for (const s of ref.sentences) {
          expect(tok.encode(s.text), s.text).toEqual(s.ids);
          expect(tok.pieces(s.text), s.text).toEqual(s.pieces);
          expect(tok.decode(s.ids), s.text).toBe(s.decoded);
        }
      });

      it('gives the reference ids, pieces and decodings on Multi30k test2016 (de+en)', () => {
        for (const lang of ['de', 'en'] as const) {
          const lines = corpus[lang]!;
          const r = ref.corpus[lang];
          expect(lines).toHaveLength(r.lines);
          const ids = lines.map((l) => tok.encode(l));
          expect(ids.reduce((a, x) => a + x.length, 0)).toBe(r.numIds);
          expect(ids.reduce((a, x) => a + x.filter((i) => i === tok.unk).length, 0)).toBe(r.numUnk);
          expect(digest(ids.map((x) => x.join(' ')))).toBe(r.idsSha256);
          expect(digest(lines.map((l) => tok.pieces(l).join(' ')))).toBe(r.piecesSha256);
          const decoded = ids.map((x) => tok.decode(x));
          expect(digest(decoded)).toBe(r.decodedSha256);
          // round trip of raw text: exact unless a character is outside the vocabulary (⁇) or whitespace was normalised
          const exact = decoded.filter((d, i) => d === lines[i]).length;
          expect(exact).toBe(r.roundTripExact);
          expect(exact / lines.length).toBeGreaterThan(0.98);
          decoded.forEach((d, i) => {
            if (d !== lines[i]) expect(d.includes('⁇') || d === lines[i]!.trim().replace(/\s+/g, ' '), `line ${i}: ${lines[i]!}`).toBe(true);
          });
        }
      });

      it('reuses the cached model', async () => {
        const again = await trainSentencePiece({ inputs, vocabSize: ref.vocabSize, modelType: ref.modelType, cacheDir: join(work, 'cache') });
        expect(again.cached).toBe(true);
        expect(again.key).toBe(trained.key);
      });
    });
  }

  it('keys the cache on the options and the input contents', async () => {
    const cacheDir = join(work, 'cache');
    const a = await trainSentencePiece({ inputs, vocabSize: 1000, modelType: 'bpe', cacheDir });
    const b = await trainSentencePiece({ inputs, vocabSize: 900, modelType: 'bpe', cacheDir });
    expect(b.key).not.toBe(a.key);
    const copy = join(work, 'val-copy.de');
    writeFileSync(copy, readFileSync(inputs[0]!, 'utf8') + 'Noch ein Satz.\n');
    const c = await trainSentencePiece({ inputs: [copy, inputs[1]!], vocabSize: 1000, modelType: 'bpe', cacheDir });
    expect(c.cached).toBe(false);
    expect(c.key).not.toBe(a.key);
  });
});

describe('trainSentencePiece / SubwordTokenizer errors', () => {
  it('names the apt package when spm_train is missing', async () => {
    const f = join(work, 'tiny.txt');
    writeFileSync(f, 'ein kleiner Satz\n');
    const missing = await trainSentencePiece({ inputs: [f], vocabSize: 50, modelType: 'bpe', cacheDir: join(work, 'c2'), spmTrain: 'spm_train_not_installed_here' }).then(() => null, (e: Error) => e);
    expect(missing?.message).toMatch(/apt-get install sentencepiece/);
    expect(missing?.name).toBe('MissingToolError'); // a user error: one line and exit 2 in the CLIs
  });

  it('reports a vocabulary too large for the text as a config error naming vocabSize and the trainer\'s line', async () => {
    const f = join(work, 'tiny2.txt');
    writeFileSync(f, 'ein kleiner Satz\na small sentence\n');
    const e = await trainSentencePiece({ inputs: [f], vocabSize: 5000, modelType: 'bpe', cacheDir: join(work, 'c3') }).then(() => null, (x: Error) => x);
    expect(e?.name).toBe('TranslationConfigError');
    expect(e?.message).toMatch(/'vocabSize': got 5000; expected at most what the training text supports \(spm_train: Vocabulary size too high \(5000\)\. Please set it to a value <= \d+\.\); lower vocabSize/);
    expect(e?.message).not.toContain('\n');
  });

  it('validates options', async () => {
    await expect(trainSentencePiece({ inputs: [], vocabSize: 100, modelType: 'bpe', cacheDir: work })).rejects.toThrow(/options\.inputs is empty/);
    await expect(trainSentencePiece({ inputs: ['/nonexistent/x.txt'], vocabSize: 100, modelType: 'bpe', cacheDir: work })).rejects.toThrow(/input file '\/nonexistent\/x\.txt' does not exist/);
    const f = join(work, 'tiny3.txt');
    writeFileSync(f, 'x\n');
    await expect(trainSentencePiece({ inputs: [f], vocabSize: 100, modelType: 'word' as 'bpe', cacheDir: work })).rejects.toThrow(/options\.modelType = 'word'/);
    await expect(trainSentencePiece({ inputs: [f], vocabSize: 100, modelType: 'bpe', characterCoverage: 1.5, cacheDir: work })).rejects.toThrow(/characterCoverage = 1\.5/);
    await expect(SubwordTokenizer.load(join(work, 'missing.model'))).rejects.toThrow(/does not exist/);
  });
});
