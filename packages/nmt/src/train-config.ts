/**
 * Configuration of a translation training run, validated at the boundary. Defaults follow fairseq's IWSLT'14
 * de-en recipe (examples/translation/README.md): Adam (0.9, 0.98), lr 5e-4, inverse-sqrt schedule with 4000 warmup
 * updates from 1e-7, weight decay 1e-4, label smoothing 0.1, 4096 max tokens, dropout 0.3 (in the preset).
 */
import { ConfigError as CoreConfigError, resolveSharpnessConfig, type SharpnessConfig } from '@asam/core';
import {
  addConfigIssue, booleanField, ConfigError, configJsonSchema, DEFAULT_PERTURBED_DROPOUT, nonEmptyString, nullableNumberField, numberField, oneOf,
  parseConfig, PERTURBED_DROPOUT, PERTURBED_DROPOUT_DESCRIPTION, showValue, type PerturbedDropout,
} from '@asam/train';
import { z } from 'zod';
import { getPreset, listPresets, transformerArchFields, validateArch, type TransformerArch } from './presets.ts';

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

/**
 * The optimizer field: @asam/core's SharpnessConfig (stored as given) and the task's dropout-mask policy of the
 * perturbed pass (@asam/train `PerturbedDropout`, default 'reuse', always written).
 */
export type TranslationOptimizerConfig = SharpnessConfig & { perturbedDropout: PerturbedDropout };

/** The @asam/core SharpnessConfig of an optimizer field (without the task's `perturbedDropout`). */
export function sharpnessConfigOf(o: TranslationOptimizerConfig | SharpnessConfig): SharpnessConfig {
  const { perturbedDropout: _, ...core } = o as TranslationOptimizerConfig;
  return core;
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
  /**
   * Sharpness-aware wrapper config: method 'none' (plain Adam), 'sam' (paper rho 0.1) or 'asam' (paper rho 0.2); and
   * `perturbedDropout`, the dropout masks of the perturbed pass ('reuse', the default, or 'resample').
   */
  optimizer: TranslationOptimizerConfig;
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
    optimizer: { method: 'none', rho: 0, weightDecay: 1e-4, perturbedDropout: DEFAULT_PERTURBED_DROPOUT },
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

/** Thrown for an invalid training option; names the field, the value, the valid range and the fix. */
export class TranslationConfigError extends ConfigError {
  constructor(field: string, value: unknown, expected: string) {
    super(field, value, expected);
    this.message = `Invalid translation config '${field}': got ${showValue(value)}; expected ${expected}${/[.?]$/.test(expected) ? '' : '.'}`;
    this.name = 'TranslationConfigError';
  }
}

const MULTI30K_TESTS = ['test2016', 'test2017', 'mscoco2017', 'test2018'];
const IWSLT14_TESTS = ['test', 'valid'];

const int = (min: number) => numberField({ int: true, min, expected: `an integer >= ${min}` });
const intOrNull = (min: number) => nullableNumberField({ int: true, min, expected: `an integer >= ${min}, or null for no limit` });
const rate = (expected = 'a number in [0, 1)') => numberField({ min: 0, lt: 1, expected });

/** `search` fields with their descriptions. */
const searchFields = {
  kind: oneOf(['greedy', 'beam'], "'greedy' or 'beam'").describe("'greedy' or 'beam' (default)."),
  beam: int(1).describe('Beam width (fairseq --beam). Default 5.'),
  lenPenalty: numberField({ expected: 'a finite number (1 in fairseq)' }).describe('Length penalty α (fairseq --lenpen). Default 1.'),
  maxLenA: numberField({ min: 0, expected: 'a number >= 0' }).describe('Output length limit a·(source length) + b: a (fairseq --max-len-a). Default 1.2.'),
  maxLenB: int(1).describe('Output length limit: b (fairseq --max-len-b). Default 10.'),
  batchSentences: int(1).describe('Sentences decoded together. Default 64.'),
} satisfies Record<keyof SearchConfig, z.ZodType>;

/**
 * The optimizer field: @asam/core's SharpnessConfig, checked by core's own resolveSharpnessConfig (one source of truth),
 * and `perturbedDropout`.
 */
const optimizerSchema = z.record(z.string(), z.unknown(), { error: 'a SharpnessConfig object of @asam/core ({ method, rho, ... })' })
  .superRefine((o, ctx) => {
    const pd = o['perturbedDropout'];
    if (pd !== undefined && !(PERTURBED_DROPOUT as readonly unknown[]).includes(pd)) {
      addConfigIssue(ctx, ['perturbedDropout'], pd, `one of ${PERTURBED_DROPOUT.map(showValue).join(', ')} (default ${showValue(DEFAULT_PERTURBED_DROPOUT)})`);
    }
    try {
      resolveSharpnessConfig(sharpnessConfigOf(o as unknown as TranslationOptimizerConfig));
    } catch (e) {
      if (!(e instanceof CoreConfigError)) throw e;
      addConfigIssue(ctx, [], o, e.message);
    }
  });

/** Every field (in the order of `defaultTranslationConfig`) with its schema and its description. */
const fields = {
  preset: z.string({ error: () => `one of ${listPresets().join(', ')}` }).refine((p) => listPresets().includes(p), { error: () => `one of ${listPresets().join(', ')}` })
    .describe(`Architecture preset: ${listPresets().join(', ')} built in (registerPreset adds more). Default "transformer_iwslt_de_en".`),
  archOverrides: z.strictObject(Object.fromEntries(Object.entries(transformerArchFields).map(([k, f]) => [k, f.optional()])), { error: 'an object of architecture fields' })
    .describe('Architecture fields replacing the preset\'s (e.g. { "dropout": 0.1 }). Default {}.'),
  corpus: oneOf(['multi30k', 'iwslt14'], `one of ${CORPORA.join(', ')}`).describe('Default "multi30k".'),
  dataDir: nonEmptyString('the data directory containing multi30k/ or iwslt14-de-en/ (set ASAM_DATA_DIR)').describe('Directory containing multi30k/ or iwslt14-de-en/.'),
  outDir: nonEmptyString('a run directory path').describe('Run directory: config.json, metrics.csv, result.json, samples, checkpoints.'),
  cacheDir: nonEmptyString('a directory for the cached SentencePiece model').describe('SentencePiece model cache directory.'),
  vocabSize: int(16).describe('Joint source/target subword vocabulary size. Default 8000.'),
  optimizer: optimizerSchema.describe('@asam/core SharpnessConfig: { method: "none" | "sam" | "asam", rho, eta?, p?, normalization?, weightDecay?, weightDecayInAscent?, clipNorm?, mSharpness?, every?, normalizeParams?, bnStatistics? }, stored as given (micro-batching is the runtime option `microBatch`, not an optimizer field), and perturbedDropout: ' + PERTURBED_DROPOUT_DESCRIPTION + ' Default { "method": "none", "rho": 0, "weightDecay": 1e-4, "perturbedDropout": "reuse" } (plain Adam).'),
  lr: numberField({ gt: 0, expected: 'a number > 0 (5e-4 in the recipe)' }).describe('Peak learning rate after warmup. Default 5e-4.'),
  beta1: rate().describe('Adam β1. Default 0.9.'),
  beta2: rate().describe('Adam β2. Default 0.98.'),
  adamEpsilon: numberField({ gt: 0, expected: 'a number > 0' }).describe('Adam ε. Default 1e-8.'),
  warmupUpdates: int(1).describe('Inverse-sqrt schedule: linear warmup from warmupInitLr to lr over this many updates. Default 4000.'),
  warmupInitLr: numberField({ min: 0, expected: 'a number in [0, lr]' }).describe('Learning rate of the first update; at most lr. Default 1e-7.'),
  labelSmoothing: rate('a number in [0, 1) (0.1 in the recipe)').describe('Label smoothing ε. Default 0.1.'),
  maxTokens: numberField({ int: true, expected: 'an integer >= maxLen (a batch must fit one sentence)' }).describe('Max padded tokens per batch (fairseq --max-tokens); at least maxLen. Default 4096.'),
  maxLen: int(2).describe('Training pairs with more subword tokens (EOS included) on either side are dropped. Default 128.'),
  maxEpochs: int(1).describe('Stop after this many epochs. Default 50.'),
  maxUpdates: intOrNull(1).describe('Stop after this many updates; null = no limit (default).'),
  trainLimit: intOrNull(1).describe('Use only the first N training pairs; null = all (default).'),
  validLimit: intOrNull(1).describe('Validation pairs for BLEU and loss each epoch; null = all (default).'),
  testLimit: intOrNull(1).describe('Use only the first N test pairs; null = all (default).'),
  testSplit: z.string({ error: `one of ${MULTI30K_TESTS.join(', ')} (multi30k) or ${IWSLT14_TESTS.join(', ')} (iwslt14)` })
    .describe(`Test split: ${MULTI30K_TESTS.join(', ')} for multi30k (default test2016); ${IWSLT14_TESTS.join(', ')} for iwslt14 (default test).`),
  search: null,
  checkpointEveryUpdates: int(1).describe('Write a resumable checkpoint every this many updates (and at each epoch end). Default 200.'),
  logEveryUpdates: int(1).describe('Progress callback frequency in updates. Default 10.'),
  samples: int(0).describe('Test sample translations written to samples.txt. Default 20.'),
  seed: int(0).describe('Default 1.'),
  resume: booleanField().describe('Continue from outDir/checkpoint.bin when present. Default true.'),
  microBatch: intOrNull(1).describe('Sentences per micro-batch (gradient accumulation within an update); null = the whole batch in one pass (default).'),
  workers: int(1).describe('Data-parallel worker threads (wasm/cpu backends), each taking a shard of every batch. Default 1.'),
} satisfies Record<keyof TranslationConfig, z.ZodType | null>;

function shape(partial: boolean): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => {
    if (k === 'search') {
      const s = z.strictObject(Object.fromEntries(Object.entries(searchFields).map(([sk, sf]) => [sk, partial ? sf.optional() : sf])), { error: 'an object' })
        .describe('How validation and test translations are generated (any field may be left out).');
      return [k, partial ? s.optional() : s];
    }
    return [k, partial ? f!.optional() : f!];
  }));
}

/** Cross-field rules of a complete config (each names the fix). */
function crossChecks(c: TranslationConfig, ctx: z.RefinementCtx): void {
  if (listPresets().includes(c.preset)) { // an unknown preset is its own field's issue
    try {
      validateArch(resolveArch(c), 'archOverrides');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      addConfigIssue(ctx, ['archOverrides', ...e.field.split('.')], e.value, `${e.expected} (the preset ${c.preset} with archOverrides)`);
    }
  }
  if (c.warmupInitLr > c.lr) addConfigIssue(ctx, ['warmupInitLr'], c.warmupInitLr, `a number in [0, lr = ${c.lr}]`);
  if (c.maxTokens < c.maxLen) addConfigIssue(ctx, ['maxTokens'], c.maxTokens, `an integer >= maxLen = ${c.maxLen} (a batch must fit one sentence)`);
  const tests = c.corpus === 'multi30k' ? MULTI30K_TESTS : IWSLT14_TESTS;
  if (!tests.includes(c.testSplit)) addConfigIssue(ctx, ['testSplit'], c.testSplit, `one of ${tests.join(', ')} for corpus ${c.corpus}`);
  if (c.workers > 1 && c.microBatch !== null) addConfigIssue(ctx, ['microBatch'], c.microBatch, 'null when workers > 1 (each worker takes one shard of the batch)');
}

/** A complete config (what config.json holds): every field, valid on its own and together. */
export const translationConfigSchema: z.ZodType<TranslationConfig, TranslationConfig> = (z.strictObject(shape(false), { error: 'an object' }) as unknown as z.ZodType<TranslationConfig, TranslationConfig>)
  .superRefine(crossChecks);

/** What `resolveTranslationConfig` and a config file accept: any field left out takes its default. */
export const partialTranslationConfigSchema = z.strictObject(shape(true), { error: 'an object' });

/** What `resolveTranslationConfig` accepts: any field may be left out; `search` and the optimizer's `perturbedDropout` too. */
export type PartialTranslationConfig = Partial<Omit<TranslationConfig, 'search' | 'optimizer'>> & {
  search?: Partial<SearchConfig>;
  optimizer?: SharpnessConfig & { perturbedDropout?: PerturbedDropout };
};

const definedEntries = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Defaults filled into a checked partial config: `search` field by field, `optimizer` as a whole (as given, copied)
 * except `perturbedDropout`, which is filled in when left out (a config.json written before the field resolves to the
 * default, so its run resumes).
 */
function withDefaults(partial: PartialTranslationConfig): TranslationConfig {
  const d = defaultTranslationConfig();
  const c: TranslationConfig = {
    ...d,
    ...(definedEntries(partial) as Partial<TranslationConfig>),
    search: { ...d.search, ...definedEntries(partial.search ?? {}) },
    optimizer: { ...(partial.optimizer ?? d.optimizer), perturbedDropout: partial.optimizer?.perturbedDropout ?? DEFAULT_PERTURBED_DROPOUT },
  };
  if (partial.corpus === 'iwslt14' && partial.testSplit === undefined) c.testSplit = 'test';
  return c;
}

const resolveSchema = partialTranslationConfigSchema.transform((p) => withDefaults(p as Parameters<typeof withDefaults>[0])).pipe(translationConfigSchema);

const translationError = (field: string, value: unknown, expected: string): TranslationConfigError => new TranslationConfigError(field === '' ? 'config' : field, value, expected);

/**
 * Fills defaults into a partial config and validates every field (`partialTranslationConfigSchema`, then
 * `translationConfigSchema`). Unknown fields are refused (they are usually typos). `search` and `optimizer` may be
 * given partially; a null `search` or `optimizer` means the default.
 */
export function resolveTranslationConfig(partial: PartialTranslationConfig): TranslationConfig {
  let input: unknown = partial;
  if (partial !== null && typeof partial === 'object' && !Array.isArray(partial)) {
    input = Object.fromEntries(Object.entries(partial).filter(([k, v]) => !((k === 'search' || k === 'optimizer') && v === null)));
  }
  return parseConfig(resolveSchema, input, translationError);
}

/** Validates a full config (throws {@link TranslationConfigError}). */
export function validateTranslationConfig(c: TranslationConfig): void {
  parseConfig(translationConfigSchema, c, translationError);
}

/** JSON Schema of a config file (`partialTranslationConfigSchema`), for the docs: `pnpm --filter @asam/nmt schema`. */
export function translationConfigJsonSchema(): Record<string, unknown> {
  return configJsonSchema(partialTranslationConfigSchema, {
    title: '@asam/nmt translation training config',
    description: 'config.json of a translation run (resolveTranslationConfig). Fields left out take fairseq\'s IWSLT\'14 de-en recipe; search may be partial. Generated from packages/nmt/src/train-config.ts.',
  });
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
