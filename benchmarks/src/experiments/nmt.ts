/**
 * Translation experiments (task `nmt`, @asam/nmt). IWSLT'14 De→En with fairseq's
 * transformer_iwslt_de_en and the published ρ (SAM 0.1, ASAM 0.2; Kwon et al. 2021 §5.2), and a
 * CPU-sized Transformer on Multi30k.
 */
import { defineExperiment } from '../experiment.ts';

const NMT_RHO = { sam: [0.1], asam: [0.2] };
/** What a Multi30k cell trains and how it is batched and validated, per profile (shared with its update-time cell). */
const MULTI30K_SMOKE = { preset: 'transformer_tiny', maxTokens: 1024, vocabSize: 500, trainLimit: 500, validLimit: 30, search: { kind: 'greedy' } };
const MULTI30K_CPU = { lr: 1e-3, maxTokens: 1024, vocabSize: 2000, validLimit: 300, search: { kind: 'greedy' } };

export const iwslt14Transformer = defineExperiment({
  id: 'iwslt14_transformer',
  title: "IWSLT'14 De→En, transformer_iwslt_de_en",
  task: 'nmt',
  description: 'Adam vs Adam+SAM vs Adam+ASAM on IWSLT\'14 German→English with the fairseq transformer_iwslt_de_en preset; BLEU on the test set.',
  base: { preset: 'transformer_iwslt_de_en', corpus: 'iwslt14', testSplit: 'test' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: NMT_RHO, seed: [1, 2, 3] },
  baseOptimizer: 'adam',
  profiles: { paper: { note: 'full IWSLT\'14 (needs the 160k-pair train split), 3 seeds.' } },
  paper: { setting: "IWSLT'14 De→En, transformer_iwslt_de_en, test BLEU (Adam base optimizer)", values: { sgd: 34.86, sam: 34.78, asam: 35.02 }, source: 'Kwon et al., ASAM, ICML 2021, Table 5' },
});

export const multi30kTransformer = defineExperiment({
  id: 'multi30k_transformer',
  title: 'Multi30k De→En, small Transformer',
  task: 'nmt',
  description: 'Adam vs Adam+SAM vs Adam+ASAM on Multi30k German→English (test2016), CPU-sized Transformer; Adam with inverse-sqrt warm-up is the base optimizer, and SAM and ASAM take its step with the gradient at the perturbed weights.',
  base: { preset: 'transformer_mini', corpus: 'multi30k', testSplit: 'test2016' },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: NMT_RHO, seed: [1] },
  baseOptimizer: 'adam',
  sweepOrder: 1,
  claims: [
    { better: 'asam', worse: 'sgd', paper: "+0.16 BLEU (IWSLT'14 De→En, 34.86 → 35.02)" },
    { better: 'asam', worse: 'sam', paper: "+0.24 BLEU (IWSLT'14 De→En, 34.78 → 35.02)" },
  ],
  profiles: {
    smoke: {
      base: { ...MULTI30K_SMOKE, maxUpdates: 10, warmupUpdates: 5, lr: 1e-3, testLimit: 30 },
      note: 'test-sized Transformer (d 32) on 500 sentence pairs, 10 updates, 30 test sentences: checks the pipeline, not the method.',
    },
    cpu: {
      base: { ...MULTI30K_CPU, maxEpochs: 20, maxUpdates: null, warmupUpdates: 400, testLimit: 1000 },
      note: 'transformer_mini (2+2 layers, d 128), 20 passes over the 29k training pairs in batches of ≤1,024 target tokens (validation BLEU every pass; the test BLEU is the best-validation checkpoint\'s), 2k subword vocabulary, greedy decoding on the 1,000 test2016 sentences; one seed.',
    },
  },
});

/**
 * Update time of Adam, Adam+SAM and Adam+ASAM on the Multi30k cells' Transformer and batches, plus the number of
 * updates in an epoch and one validation pass: the sweep's estimate for the translation cells before any has run.
 */
export const multi30kStepTime = defineExperiment({
  id: 'multi30k_step_time',
  title: 'Update time: Adam vs SAM vs ASAM, Multi30k Transformer',
  task: 'step_time',
  description: 'One update of each optimizer on the same real Multi30k batches (batched by target tokens as the translation cells are), measured in one process; ratios to Adam; updates per epoch and the time of a validation pass.',
  base: { kind: 'nmt', preset: 'transformer_mini', corpus: 'multi30k', testSplit: 'test2016', warmup: 1, repeats: 3, rho: { sam: 0.1, asam: 0.2 } },
  grid: {},
  profiles: {
    smoke: { base: { ...MULTI30K_SMOKE, repeats: 2 }, note: 'test-sized Transformer (d 32) on 500 sentence pairs, 2 timed rounds.' },
    cpu: { base: { ...MULTI30K_CPU, repeats: 5 }, note: 'transformer_mini on Multi30k, batches of ≤1,024 target tokens, 5 timed rounds, validation on 300 sentences (greedy): the multi30k_transformer cells\' settings.' },
  },
});
