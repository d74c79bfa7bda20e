/**
 * Default data dependencies of `trainTranslation`: the real corpora from @asam/data and the subword tokenizer
 * (SentencePiece, trained once per corpus and vocabulary size, cached in `config.cacheDir`).
 */
import { loadIwslt14, loadMulti30k, type Multi30kSplit } from '@asam/data';
import type { TranslationConfig } from './train-config.ts';
import type { TaskSpec } from '@asam/train';
import { createNmtTaskSpec, type NmtTaskConfig, type ParallelText, type TranslationDataConfig, type TranslationDeps } from './train.ts';
import { buildSubwordTokenizer } from './train-tokenizer.ts';

/** Loads train / valid / test of `c.corpus` from `c.dataDir` (raw cased text; German → English). */
export async function loadTranslationData(c: TranslationDataConfig): Promise<{ train: ParallelText; valid: ParallelText; test: ParallelText }> {
  if (c.corpus === 'multi30k') {
    const [train, valid, test] = await Promise.all([
      loadMulti30k(c.dataDir, 'train'),
      loadMulti30k(c.dataDir, 'val'),
      loadMulti30k(c.dataDir, c.testSplit as Multi30kSplit),
    ]);
    return { train, valid, test };
  }
  const [train, valid, test] = await Promise.all([
    loadIwslt14(c.dataDir, 'train'),
    loadIwslt14(c.dataDir, 'valid'),
    loadIwslt14(c.dataDir, c.testSplit as 'test' | 'valid'),
  ]);
  return { train, valid, test };
}

/** The dependencies `trainTranslation` uses for real runs. */
export function defaultTranslationDeps(): Pick<TranslationDeps, 'loadData' | 'buildTokenizer'> {
  return { loadData: loadTranslationData, buildTokenizer: buildSubwordTokenizer };
}

/** The translation task spec on the real corpora (what the `asam` CLI and benchmark cells register). */
export const nmtTask: TaskSpec<NmtTaskConfig> = createNmtTaskSpec(defaultTranslationDeps);
