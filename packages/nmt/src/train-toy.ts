/**
 * A toy translation task for tests and smoke runs: source sentences of words `s0..s{V-1}`, target = the same
 * sentence with each word mapped to `t<i>` (a word-for-word "translation" a small Transformer learns in seconds),
 * and a whitespace word tokenizer. Nothing here is used for real results.
 */
import { Rng } from '@asam/data';
import type { ParallelText, TranslationDeps, TranslationTokenizer } from './train.ts';

/** Word-level tokenizer: ids 0 pad, 1 bos, 2 eos, 3 unk, then the words in first-seen order. */
export class WordTokenizer implements TranslationTokenizer {
  readonly pad = 0;
  readonly bos = 1;
  readonly eos = 2;
  readonly unk = 3;
  private readonly words: string[] = ['<pad>', '<s>', '</s>', '<unk>'];
  private readonly index = new Map<string, number>();

  constructor(texts: Iterable<string>) {
    for (const t of texts) for (const w of t.split(/\s+/).filter(Boolean)) if (!this.index.has(w)) this.index.set(w, this.words.push(w) - 1);
  }

  get vocabSize(): number {
    return this.words.length;
  }

  encode(text: string): number[] {
    return text.split(/\s+/).filter(Boolean).map((w) => this.index.get(w) ?? this.unk);
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids)
      .filter((i) => i > 3)
      .map((i) => this.words[i] ?? '<unk>')
      .join(' ');
  }
}

/** `n` toy pairs from `seed`: lengths 2..maxWords, vocabulary of `vocab` words per side. */
export function toyPairs(n: number, seed: number, vocab = 12, maxWords = 6): ParallelText {
  const rng = new Rng(seed);
  const src: string[] = [];
  const tgt: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 2 + rng.int(maxWords - 1);
    const w = Array.from({ length: len }, () => rng.int(vocab));
    src.push(w.map((x) => `s${x}`).join(' '));
    tgt.push(w.map((x) => `t${x}`).join(' '));
  }
  return { src, tgt };
}

/** Dependencies for `trainTranslation` on the toy task (train/valid/test from different seeds). */
export function toyDeps(sizes: { train: number; valid: number; test: number }, vocab = 12): Pick<TranslationDeps, 'loadData' | 'buildTokenizer'> {
  return {
    loadData: async () => ({ train: toyPairs(sizes.train, 1, vocab), valid: toyPairs(sizes.valid, 2, vocab), test: toyPairs(sizes.test, 3, vocab) }),
    buildTokenizer: async (_c, train) => new WordTokenizer([...train.src, ...train.tgt]),
  };
}
