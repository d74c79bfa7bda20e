/**
 * Configuration of a translation training run, validated at the boundary. Defaults follow fairseq's IWSLT'14
 * de-en recipe (examples/translation/README.md): Adam (0.9, 0.98), lr 5e-4, inverse-sqrt schedule with 4000 warmup
 * updates from 1e-7, weight decay 1e-4, label smoothing 0.1, 4096 max tokens, dropout 0.3 (in the preset).
 */
import { resolveSharpnessConfig, type SharpnessConfig } from '@asam/core';
import { getPreset, listPresets, validateArch, type TransformerArch } from './presets.ts';

/** Corpora the training loop can load. */
export type CorpusName = 'multi30k' | 'iwslt14';
export const CORPORA: readonly CorpusName[] = ['multi30k', 'iwslt14'];

/** How validation and test translations are generated. */
export interface SearchConfig {
  /** 'greedy' or 'beam'. */
  kind: 'greedy' | 'beam';
  /** Beam width (fairseq `--beam`, 5 in the recipe). Used when kind = 'beam'. */
  beam: number;
  /** Length penalty α (fairseq `--lenpen`). */
  lenPenalty: number;
  /** Output length limit: maxLenA * (source length) + maxLenB tokens (fairseq `--max-len-a/-b`). */
  maxLenA: number;
  maxLenB: number;
  /** Sentences decoded together. */
  batchSentences: number;
}

/** A complete, resolved training configuration (what `config.json` holds). */
export interface TranslationConfig {
  /** Architecture preset name (see `listPresets()`). */
  preset: string;
  /** Field overrides on top of the preset (e.g. `{ dropout: 0.1 }`). */
  archOverrides: Partial<TransformerArch>;
  corpus: CorpusName;
  /** Directory containing `multi30k/` or `iwslt14-de-en/` (the caller resolves ASAM_DATA_DIR). */
  dataDir: string;
  /** Run directory: config.json, metrics.csv, result.json, samples, checkpoints. */
  outDir: string;
  /** SentencePiece model cache directory (trained once per corpus + vocab size). */
  cacheDir: string;
  /** Joint source/target subword vocabulary size. */
  vocabSize: number;
  /** Sharpness-aware wrapper config: method 'none' (plain Adam), 'sam' (paper rho 0.1) or 'asam' (paper rho 0.2). */
  optimizer: SharpnessConfig;
  /** Peak learning rate after warmup. */
  lr: number;
  beta1: number;
  beta2: number;
  adamEpsilon: number;
  /** Inverse-sqrt schedule: linear warmup from warmupInitLr to lr over warmupUpdates, then lr * sqrt(warmup / update). */
  warmupUpdates: number;
  warmupInitLr: number;
  /** Label smoothing ε. */
  labelSmoothing: number;
  /** Max padded tokens per batch (fairseq `--max-tokens`). */
  maxTokens: number;
  /** Training pairs with more than maxLen subword tokens (EOS included) on either side are dropped. */
  maxLen: number;
  /** Stop after this many epochs. */
  maxEpochs: number;
  /** Stop after this many updates (null = no limit). */
  maxUpdates: number | null;
  /** Use only the first N training / validation / test pairs (null = all). */
  trainLimit: number | null;
  /** Validation pairs for BLEU each epoch (validation loss uses the same subset). */
  validLimit: number | null;
  testLimit: number | null;
  /** Test split: for multi30k 'test2016' etc., for iwslt14 'test'. */
  testSplit: string;
  search: SearchConfig;
  /** Write a resumable checkpoint every this many updates (and at each epoch end). */
  checkpointEveryUpdates: number;
  /** Progress callback frequency in updates. */
  logEveryUpdates: number;
  /** Number of test sample translations written to samples.txt. */
  samples: number;
  seed: number;
  /** Continue from outDir/checkpoint.bin when present. */
  resume: boolean;
  /** Sentences per micro-batch (gradient accumulation within an update); null = the whole batch in one pass. */
  microBatch: number | null;
  /** Data-parallel worker threads (wasm/cpu backends), each taking a shard of every batch's sentences. */
  workers: number;
}

/** Defaults (fairseq IWSLT'14 recipe; CPU-friendly limits left open). */
export function defaultTranslationConfig(): TranslationConfig {
  return {
    preset: 'transformer_iwslt_de_en',
    archOverrides: {},
    corpus: 'multi30k',
    dataDir: '',
    outDir: '',
    cacheDir: '',
    vocabSize: 8000,
    optimizer: { method: 'none', rho: 0, weightDecay: 1e-4 },
    lr: 5e-4,
    beta1: 0.9,
    beta2: 0.98,
    adamEpsilon: 1e-8,
    warmupUpdates: 4000,
    warmupInitLr: 1e-7,
    labelSmoothing: 0.1,
    maxTokens: 4096,
    maxLen: 128,
    maxEpochs: 50,
    maxUpdates: null,
    trainLimit: null,
    validLimit: null,
    testLimit: null,
    testSplit: 'test2016',
    search: { kind: 'beam', beam: 5, lenPenalty: 1, maxLenA: 1.2, maxLenB: 10, batchSentences: 64 },
    checkpointEveryUpdates: 200,
    logEveryUpdates: 10,
    samples: 20,
    seed: 1,
    resume: true,
    microBatch: null,
    workers: 1,
  };
}

/** Thrown for an invalid training option; names the field, the value and the valid range. */
export class TranslationConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`Invalid translation config '${field}': got ${JSON.stringify(value)}; expected ${expected}.`);
    this.name = 'TranslationConfigError';
  }
}

const MULTI30K_TESTS = ['test2016', 'test2017', 'mscoco2017', 'test2018'];

/**
 * Fills defaults into a partial config and validates every field. Unknown fields are refused (they are usually
 * typos). `search` and `optimizer` may be given partially.
 */
export function resolveTranslationConfig(
  partial: Partial<Omit<TranslationConfig, 'search'>> & { search?: Partial<SearchConfig> },
): TranslationConfig {
  const d = defaultTranslationConfig();
  if (partial == null || typeof partial !== 'object') throw new TranslationConfigError('config', partial, 'an object');
  for (const k of Object.keys(partial)) {
    if (!(k in d)) throw new TranslationConfigError(k, (partial as Record<string, unknown>)[k], `no such field; valid fields are ${Object.keys(d).join(', ')}`);
  }
  const searchIn = partial.search ?? {};
  for (const k of Object.keys(searchIn)) {
    if (!(k in d.search)) throw new TranslationConfigError(`search.${k}`, (searchIn as Record<string, unknown>)[k], `no such field; valid fields are ${Object.keys(d.search).join(', ')}`);
  }
  const c: TranslationConfig = {
    ...d,
    ...(Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<TranslationConfig>),
    search: { ...d.search, ...(Object.fromEntries(Object.entries(searchIn).filter(([, v]) => v !== undefined)) as Partial<SearchConfig>) },
    optimizer: { ...(partial.optimizer ?? d.optimizer) },
  };
  if (partial.corpus === 'iwslt14' && partial.testSplit === undefined) c.testSplit = 'test';
  validateTranslationConfig(c);
  return c;
}

function num(field: string, v: unknown, ok: (x: number) => boolean, expected: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new TranslationConfigError(field, v, expected);
}
const int = (field: string, v: unknown, min: number): void =>
  num(field, v, (x) => Number.isInteger(x) && x >= min, `an integer >= ${min}`);
const intOrNull = (field: string, v: unknown, min: number): void => {
  if (v !== null) num(field, v, (x) => Number.isInteger(x) && x >= min, `an integer >= ${min}, or null for no limit`);
};
const str = (field: string, v: unknown, what: string): void => {
  if (typeof v !== 'string' || v.length === 0) throw new TranslationConfigError(field, v, what);
};

/** Validates a full config (throws {@link TranslationConfigError}). */
export function validateTranslationConfig(c: TranslationConfig): void {
  if (!listPresets().includes(c.preset)) throw new TranslationConfigError('preset', c.preset, `one of ${listPresets().join(', ')}`);
  if (c.archOverrides == null || typeof c.archOverrides !== 'object') throw new TranslationConfigError('archOverrides', c.archOverrides, 'an object of architecture fields');
  const arch = resolveArch(c);
  try {
    validateArch(arch, 'archOverrides');
  } catch (e) {
    throw new TranslationConfigError('archOverrides', c.archOverrides, (e as Error).message);
  }
  if (!CORPORA.includes(c.corpus)) throw new TranslationConfigError('corpus', c.corpus, `one of ${CORPORA.join(', ')}`);
  str('dataDir', c.dataDir, 'the data directory containing multi30k/ or iwslt14-de-en/ (set ASAM_DATA_DIR)');
  str('outDir', c.outDir, 'a run directory path');
  str('cacheDir', c.cacheDir, 'a directory for the cached SentencePiece model');
  int('vocabSize', c.vocabSize, 16);
  try {
    resolveSharpnessConfig(c.optimizer);
  } catch (e) {
    throw new TranslationConfigError('optimizer', c.optimizer, (e as Error).message);
  }
  num('lr', c.lr, (x) => x > 0, 'a number > 0 (5e-4 in the recipe)');
  num('beta1', c.beta1, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  num('beta2', c.beta2, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  num('adamEpsilon', c.adamEpsilon, (x) => x > 0, 'a number > 0');
  int('warmupUpdates', c.warmupUpdates, 1);
  num('warmupInitLr', c.warmupInitLr, (x) => x >= 0 && x <= c.lr, `a number in [0, lr = ${c.lr}]`);
  num('labelSmoothing', c.labelSmoothing, (x) => x >= 0 && x < 1, 'a number in [0, 1) (0.1 in the recipe)');
  int('maxLen', c.maxLen, 2);
  num('maxTokens', c.maxTokens, (x) => Number.isInteger(x) && x >= c.maxLen, `an integer >= maxLen = ${c.maxLen} (a batch must fit one sentence)`);
  int('maxEpochs', c.maxEpochs, 1);
  intOrNull('maxUpdates', c.maxUpdates, 1);
  intOrNull('trainLimit', c.trainLimit, 1);
  intOrNull('validLimit', c.validLimit, 1);
  intOrNull('testLimit', c.testLimit, 1);
  const tests = c.corpus === 'multi30k' ? MULTI30K_TESTS : ['test', 'valid'];
  if (!tests.includes(c.testSplit)) throw new TranslationConfigError('testSplit', c.testSplit, `one of ${tests.join(', ')} for corpus ${c.corpus}`);
  const s = c.search;
  if (s.kind !== 'greedy' && s.kind !== 'beam') throw new TranslationConfigError('search.kind', s.kind, "'greedy' or 'beam'");
  int('search.beam', s.beam, 1);
  num('search.lenPenalty', s.lenPenalty, () => true, 'a finite number (1 in fairseq)');
  num('search.maxLenA', s.maxLenA, (x) => x >= 0, 'a number >= 0');
  int('search.maxLenB', s.maxLenB, 1);
  int('search.batchSentences', s.batchSentences, 1);
  int('checkpointEveryUpdates', c.checkpointEveryUpdates, 1);
  int('logEveryUpdates', c.logEveryUpdates, 1);
  int('samples', c.samples, 0);
  int('seed', c.seed, 0);
  if (typeof c.resume !== 'boolean') throw new TranslationConfigError('resume', c.resume, 'true or false');
  intOrNull('microBatch', c.microBatch, 1);
  int('workers', c.workers, 1);
  if (c.workers > 1 && c.microBatch !== null) throw new TranslationConfigError('microBatch', c.microBatch, 'null when workers > 1 (each worker takes one shard of the batch)');
}

/** The preset's architecture with the overrides applied. */
export function resolveArch(c: Pick<TranslationConfig, 'preset' | 'archOverrides'>): TransformerArch {
  const base = getPreset(c.preset).arch;
  for (const k of Object.keys(c.archOverrides)) {
    if (!(k in base)) throw new TranslationConfigError(`archOverrides.${k}`, (c.archOverrides as Record<string, unknown>)[k], `an architecture field: ${Object.keys(base).join(', ')}`);
  }
  return { ...base, ...c.archOverrides };
}

/**
 * fairseq's inverse_sqrt schedule: lr(u) = init + u * (lr - init) / warmup for u < warmup, else lr * sqrt(warmup / u),
 * where u is the number of updates already taken (the first update uses lr(0) = init).
 */
export function inverseSqrtLr(update: number, c: Pick<TranslationConfig, 'lr' | 'warmupUpdates' | 'warmupInitLr'>): number {
  if (update < c.warmupUpdates) return c.warmupInitLr + (update * (c.lr - c.warmupInitLr)) / c.warmupUpdates;
  return c.lr * Math.sqrt(c.warmupUpdates / update);
}
