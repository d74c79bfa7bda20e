/**
 * Translation on the training runtime of @asam/train: one code path for Adam, Adam+SAM and Adam+ASAM (Kwon et al.
 * 2021, "ASAM: Adaptive Sharpness-Aware Minimization", §5 IWSLT'14 de-en), every update through
 * `sharpnessAware(tf.train.adam(...), config.optimizer)` of @asam/core (method 'none' = Adam). This file is the task's
 * own part: corpus, tokenizer, batches by token count, the model and loss (task-model.ts), validation (label-smoothed
 * loss, NLL and BLEU) and the final test with the best weights; the run folder, checkpoints, resume, the inverse-sqrt
 * schedule, micro-batches, workers and progress are the runtime's.
 *
 * The run folder holds the runtime's files (config.json, metrics.csv with `valid_*` columns, result.json with the test
 * BLEU, checkpoint.bin) and the task's: `best.bin` (weights with the best validation BLEU, used for the final test),
 * `samples.txt` (the first test sentences with their references and translations), `test-hypotheses.txt` (every test
 * translation, one per line) and `test-bleu-segments.json` (each test sentence's BLEU statistics, for a paired
 * bootstrap over test sentences between two runs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware } from '@asam/core';
import {
  hostTensors, inverseSqrtSchedule, readCheckpoint, readRunConfig, refuseRuntimeFields, ResumeError, runTask, siblingModule, toTensor, writeCheckpoint,
  writeFileAtomicSync, type MetricsRow, type RunResult, type RuntimeConfig, type RuntimeNames, type TaskRun, type TaskSpec, type TrainingTask,
  type TrainProgress,
} from '@asam/train';
import { NMT_METRICS, TEST_BLEU_SEGMENTS_FILE } from './metrics.ts';
import { collate, planBatches, type TokenizedPair, type TranslationBatch } from './batching.ts';
import { beamSearch } from './beam-search.ts';
import { bleuSignature, corpusBleu, segmentBleuStats, tokenize13a, tokenizedBleu, type BleuSegmentStats } from './bleu.ts';
import { greedyDecode } from './decode-greedy.ts';
import { labelSmoothedLoss, meanLabelSmoothedLoss } from './loss.ts';
import { createTaskModel, type TranslationModelOptions } from './task-model.ts';
import {
  defaultTranslationConfig,
  resolveArch,
  resolveTranslationConfig,
  sharpnessConfigOf,
  TranslationConfigError,
  type SearchConfig,
  type TranslationConfig,
} from './train-config.ts';
import { TransformerIncrementalDecoder } from './transformer-decoder.ts';
import { Transformer } from './transformer.ts';

/** The tokenizer interface training needs (a joint source/target subword vocabulary). */
export interface TranslationTokenizer {
  encode(text: string): ArrayLike<number>;
  decode(ids: ArrayLike<number>): string;
  readonly vocabSize: number;
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
}

/** Raw parallel text of one split. */
export interface ParallelText {
  src: string[];
  tgt: string[];
}

/** BLEU of a corpus: sacreBLEU-style (detokenized, 13a) and tokenized. Scores in [0, 100]. */
export interface BleuScores {
  bleu: number;
  tokenizedBleu: number;
}

/** Where data, tokenizer and BLEU come from; the defaults (see `defaultTranslationDeps`) use the real corpora. */
export interface TranslationDeps {
  loadData(c: TranslationDataConfig): Promise<{ train: ParallelText; valid: ParallelText; test: ParallelText }>;
  buildTokenizer(c: TranslationDataConfig, train: ParallelText): Promise<TranslationTokenizer>;
  bleu(hyps: string[], refs: string[]): BleuScores;
}

/**
 * Each test sentence's sacreBLEU statistics (13a, one reference) of the final test's translations: summed over any
 * multiset of sentences and scored with `computeBleu`, they give its corpus BLEU, so two runs on the same test set
 * can be compared by a paired bootstrap over sentences. Row i: matched n-grams of orders 1..4, hypothesis n-grams of
 * orders 1..4, hypothesis length, reference length.
 */
export interface TestBleuSegments {
  format: 'asam-bleu-segments/1';
  signature: string;
  columns: string[];
  segments: number[][];
}

export function testBleuSegments(hyps: readonly string[], refs: readonly string[]): TestBleuSegments {
  const segs = segmentBleuStats(hyps, [refs]);
  return {
    format: 'asam-bleu-segments/1', signature: bleuSignature({}, 1),
    columns: ['correct1', 'correct2', 'correct3', 'correct4', 'total1', 'total2', 'total3', 'total4', 'sysLen', 'refLen'],
    segments: segs.map((g) => [...g.correct, ...g.total, g.sysLen, g.refLen]),
  };
}

/** The statistics of {@link TestBleuSegments} back as `BleuSegmentStats` (null for another format). */
export function readTestBleuSegments(x: unknown): BleuSegmentStats[] | null {
  const t = x as Partial<TestBleuSegments> | null;
  if (!t || t.format !== 'asam-bleu-segments/1' || !Array.isArray(t.segments)) return null;
  return t.segments.map((r) => ({ correct: r.slice(0, 4), total: r.slice(4, 8), sysLen: r[8]!, refLen: r[9]! }));
}

/**
 * Default BLEU: sacreBLEU-style corpus BLEU (13a, exp smoothing, mixed case) on detokenized text, and tokenized BLEU
 * (multi-bleu.perl style: no smoothing) on 13a-tokenized, lowercased text.
 */
export function defaultBleu(hyps: string[], refs: string[]): BleuScores {
  const tl = (s: string): string => tokenize13a(s).toLowerCase();
  return { bleu: corpusBleu(hyps, [refs]).score, tokenizedBleu: tokenizedBleu(hyps.map(tl), [refs.map(tl)]).score };
}

/** Splits a subword encoding into content ids (special ids removed) and appends EOS. */
export function encodeSentence(tok: TranslationTokenizer, text: string): Int32Array {
  const ids = Array.from(tok.encode(text)).filter((i) => i !== tok.pad && i !== tok.bos && i !== tok.eos);
  ids.push(tok.eos);
  return Int32Array.from(ids);
}

/**
 * One training update: sets the dropout stream for `seed` (so both passes of a SAM/ASAM step see the same masks),
 * and lets the optimizer minimise the mean label-smoothed loss of `batch`. Returns the loss at w (before the step).
 */
export function trainStep(
  model: Transformer,
  opt: tf.Optimizer,
  batch: TranslationBatch,
  o: { labelSmoothing: number; dropoutSeed: number },
): number {
  const f = (): tf.Scalar => {
    model.setDropoutState({ seed: o.dropoutSeed });
    const enc = model.encode(batch.src, true);
    const logits = model.decode(batch.prevTokens, enc, true);
    return meanLabelSmoothedLoss(logits, batch.target, { epsilon: o.labelSmoothing, padId: model.padId });
  };
  const loss = opt.minimize(f, true, model.variables);
  if (!loss) throw new Error('optimizer.minimize returned no loss');
  const v = loss.dataSync()[0]!;
  loss.dispose();
  return v;
}

/** Label-smoothed loss and NLL (nats/token, dropout off) of `pairs`, batched by `maxTokens`. */
export function evaluateLoss(
  model: Transformer,
  pairs: readonly TokenizedPair[],
  o: { maxTokens: number; labelSmoothing: number; bos: number },
): { loss: number; nll: number; tokens: number } {
  let loss = 0;
  let nll = 0;
  let tokens = 0;
  for (const idx of planBatches(pairs, { maxTokens: o.maxTokens, shuffle: false, seed: 0, epoch: 0 })) {
    const b = collate(pairs, idx, { pad: model.padId, bos: o.bos });
    try {
      const [l, n, t] = tf.tidy(() => {
        const logits = model.forward(b.src, b.prevTokens, false);
        const r = labelSmoothedLoss(logits, b.target, { epsilon: o.labelSmoothing, padId: model.padId });
        return [r.loss, r.nll, r.ntokens].map((x) => x.dataSync()[0]!);
      });
      loss += l!;
      nll += n!;
      tokens += t!;
    } finally {
      tf.dispose([b.src, b.prevTokens, b.target]);
    }
  }
  return { loss: loss / Math.max(tokens, 1), nll: nll / Math.max(tokens, 1), tokens };
}

/** Translates source id sequences (each ending in EOS) with greedy or beam search; returns token ids per sentence. */
export async function translateIds(model: Transformer, srcIds: Int32Array[], ids: { bos: number; eos: number; pad: number }, s: SearchConfig): Promise<number[][]> {
  const decoder = new TransformerIncrementalDecoder(model, ids);
  const order = srcIds.map((_, i) => i).sort((a, b) => srcIds[a]!.length - srcIds[b]!.length);
  const out: number[][] = new Array(srcIds.length);
  for (let i = 0; i < order.length; i += s.batchSentences) {
    const chunk = order.slice(i, i + s.batchSentences);
    const src = { ids: chunk.map((j) => srcIds[j]!) };
    const maxLen = Math.max(1, Math.ceil(s.maxLenA * Math.max(...src.ids.map((x) => x.length)) + s.maxLenB));
    if (s.kind === 'greedy') {
      const hyps = await greedyDecode(decoder, src, { maxLen, lenPenalty: s.lenPenalty });
      chunk.forEach((j, k) => (out[j] = hyps[k]!.tokens));
    } else {
      const hyps = await beamSearch(decoder, src, { maxLen, lenPenalty: s.lenPenalty, beam: s.beam });
      chunk.forEach((j, k) => (out[j] = hyps[k]![0]?.tokens ?? []));
    }
  }
  return out;
}


/** The tokenizer and the splits of a run, as text and tokenized (see {@link prepareTranslationData}). */
export interface TranslationData {
  tok: TranslationTokenizer;
  /** Validation and test text after validLimit / testLimit (the references for BLEU). */
  valid: ParallelText;
  test: ParallelText;
  /** Training pairs after trainLimit, and those of them no longer than maxLen (what is trained on). */
  trainAll: TokenizedPair[];
  trainPairs: TokenizedPair[];
  validPairs: TokenizedPair[];
  /** Validation pairs that fit a batch of maxTokens (the validation loss). */
  validLossPairs: TokenizedPair[];
  testPairs: TokenizedPair[];
}

/**
 * Loads the corpus of `c`, builds its tokenizer (from the full training text, so the vocabulary does not depend on
 * trainLimit) and tokenizes the splits as a run uses them. Throws TranslationConfigError when maxLen drops every pair.
 */
export async function prepareTranslationData(c: TranslationDataConfig, deps: Pick<TranslationDeps, 'loadData' | 'buildTokenizer'>): Promise<TranslationData> {
  const data = await deps.loadData(c);
  const limit = (t: ParallelText, n: number | null): ParallelText => (n === null ? t : { src: t.src.slice(0, n), tgt: t.tgt.slice(0, n) });
  const trainText = limit(data.train, c.trainLimit);
  const valid = limit(data.valid, c.validLimit);
  const test = limit(data.test, c.testLimit);
  const tok = await deps.buildTokenizer(c, data.train);
  const enc = (t: ParallelText): TokenizedPair[] => t.src.map((s, i) => ({ src: encodeSentence(tok, s), tgt: encodeSentence(tok, t.tgt[i]!) }));
  const trainAll = enc(trainText);
  const trainPairs = trainAll.filter((p) => p.src.length <= c.maxLen && p.tgt.length <= c.maxLen);
  if (trainPairs.length === 0) throw new TranslationConfigError('maxLen', c.maxLen, 'a length that keeps some training pairs (every pair is longer); raise maxLen');
  const validPairs = enc(valid);
  const validLossPairs = validPairs.filter((p) => Math.max(p.src.length, p.tgt.length) <= c.maxTokens);
  return { tok, valid, test, trainAll, trainPairs, validPairs, validLossPairs, testPairs: enc(test) };
}

/** Callbacks during training. */
export interface TrainHooks {
  onProgress?(p: TrainProgress): void;
  onEpoch?(row: MetricsRow): void;
  /** Events worth a line (resume, stop, divergence). */
  onLog?(message: string): void;
  /**
   * Asked after every update (e.g. set by a SIGTERM handler): when it returns true the run writes a checkpoint at
   * that update and returns with status 'stopped'; the same config resumes it from there.
   */
  shouldStop?(): boolean;
  /** Backend name to record in result.json (the caller chose it). */
  backend?: string;
}

/** The runtime section's fields under their names in a flat {@link TranslationConfig} (config.json of older runs too). */
export const NMT_RUNTIME_NAMES = {
  outDir: 'out', maxEpochs: 'epochs', maxUpdates: 'maxSteps', resume: 'resume', checkpointEveryUpdates: 'checkpointEverySteps',
  workers: 'workers', microBatch: 'microBatch', logEveryUpdates: 'progressEvery',
} as const satisfies RuntimeNames;

type NmtRuntimeKey = keyof typeof NMT_RUNTIME_NAMES;

/** The translation task's own config section: a {@link TranslationConfig} without the runtime's fields. */
export type NmtTaskConfig = Omit<TranslationConfig, NmtRuntimeKey>;

/** What the corpus and tokenizer dependencies read: the task section and the run folder (the tokenizer is pinned there). */
export type TranslationDataConfig = NmtTaskConfig & Pick<TranslationConfig, 'outDir'>;

/**
 * Fields of the task section that may differ when a run resumes: where its data and caches are, and what is tested
 * and printed at the end — never what it trains. (How long it runs, how often it checkpoints and how a step is cut are
 * the runtime section's, and may differ too: the inverse-sqrt schedule does not span the run.)
 */
export const NMT_EXECUTION_FIELDS = ['dataDir', 'cacheDir', 'samples', 'testLimit', 'testSplit'] as const;

/** Splits a resolved flat config into the runtime section and the task's. */
export function splitTranslationConfig(c: TranslationConfig): { runtime: RuntimeConfig; task: NmtTaskConfig } {
  const { outDir, maxEpochs, maxUpdates, resume, checkpointEveryUpdates, workers, microBatch, logEveryUpdates, ...task } = c;
  return {
    runtime: { out: outDir, epochs: maxEpochs, maxSteps: maxUpdates, resume: resume ? 'auto' : 'never', checkpointEverySteps: checkpointEveryUpdates, workers, microBatch, progressEvery: logEveryUpdates },
    task,
  };
}

/** Where a translation run's corpus and tokenizer come from (default: the real corpora, see `defaultTranslationDeps`). */
export type TranslationDepsSource = () => Partial<TranslationDeps> & Pick<TranslationDeps, 'loadData' | 'buildTokenizer'>;

/**
 * The translation task as a registered task: config section = {@link TranslationConfig} less the runtime fields
 * (fairseq's IWSLT'14 recipe as defaults), metric vocabulary {@link NMT_METRICS}. A config.json of the trainer before
 * the runtime section (flat, or `{ config, derived }`) resumes through {@link NMT_RUNTIME_NAMES}.
 */
export function createNmtTaskSpec(deps: TranslationDepsSource): TaskSpec<NmtTaskConfig> {
  const runtimeKeys = new Set(Object.keys(NMT_RUNTIME_NAMES));
  return {
    id: 'nmt',
    title: 'translation (Multi30k, IWSLT\'14 de-en) with Adam, Adam+SAM or Adam+ASAM',
    metrics: NMT_METRICS,
    artifacts: ['best.bin', 'samples.txt', 'test-hypotheses.txt', TEST_BLEU_SEGMENTS_FILE, 'tokenizer.model'],
    scheduleSpansRun: false, // inverse-sqrt: a function of the step alone
    executionFields: NMT_EXECUTION_FIELDS,
    runtimeNames: NMT_RUNTIME_NAMES,
    legacyConfig: (raw) => ((raw.config !== null && typeof raw.config === 'object' && 'derived' in raw) ? raw.config as Record<string, unknown> : raw),
    parseConfig(raw, source) {
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) refuseRuntimeFields(raw as Record<string, unknown>, source, NMT_RUNTIME_NAMES);
      const full = resolveTranslationConfig({ ...(raw as object), outDir: '-' });
      return Object.fromEntries(Object.entries(full).filter(([k]) => !runtimeKeys.has(k))) as NmtTaskConfig;
    },
    runtimeDefaults: () => {
      const d = defaultTranslationConfig();
      return { epochs: d.maxEpochs, checkpointEverySteps: d.checkpointEveryUpdates, progressEvery: d.logEveryUpdates };
    },
    createTask: (c, runtime) => createTranslationRun(c, runtime, { bleu: defaultBleu, ...deps() }),
  };
}

/**
 * The flat {@link TranslationConfig} of a run's config.json (this layout, or an older flat / `{ config, derived }` one):
 * what the nmt CLI resumes. Throws a ConfigError naming the field.
 */
export function translationConfigOfRun(raw: unknown, deps: TranslationDepsSource, source = 'config.json'): TranslationConfig {
  const { runtime: r, task } = readRunConfig(createNmtTaskSpec(deps), raw, source);
  return resolveTranslationConfig({
    ...task, outDir: r.out, maxEpochs: r.epochs, maxUpdates: r.maxSteps, resume: r.resume !== 'never', checkpointEveryUpdates: r.checkpointEverySteps ?? defaultTranslationConfig().checkpointEveryUpdates,
    workers: r.workers, microBatch: r.microBatch, logEveryUpdates: r.progressEvery,
  });
}

/**
 * Trains a Transformer on a parallel corpus with @asam/train's runtime and evaluates it (see the module comment).
 * `config` is resolved with {@link resolveTranslationConfig} and run through `runTask` with the nmt task spec. With
 * `config.resume` (default) a checkpoint in `outDir` is resumed and the run reproduces the uninterrupted one (same
 * batches, dropout masks and optimizer state); without it a folder that holds a checkpoint is refused. After the last
 * epoch the weights with the best validation BLEU are tested (result.json `test`: sacreBLEU-style and tokenized BLEU).
 */
export async function trainTranslation(
  config: Parameters<typeof resolveTranslationConfig>[0],
  hooks: TrainHooks = {},
  depsIn: Partial<TranslationDeps> & Pick<TranslationDeps, 'loadData' | 'buildTokenizer'>,
): Promise<RunResult> {
  const c = resolveTranslationConfig(config);
  return runTask(createNmtTaskSpec(() => depsIn), splitTranslationConfig(c), {
    dataDir: c.dataDir, backend: hooks.backend ?? null,
    onProgress: hooks.onProgress, onEpoch: hooks.onEpoch, onLog: hooks.onLog, shouldStop: hooks.shouldStop,
  });
}

/** The model, optimizer, data, evaluation and schedule of one translation run (the nmt spec's `createTask`). */
async function createTranslationRun(c: NmtTaskConfig, runtime: RuntimeConfig, deps: TranslationDeps): Promise<TaskRun> {
  const outDir = runtime.out;
  fs.mkdirSync(outDir, { recursive: true });
  const bestPath = path.join(outDir, 'best.bin');
  if (fs.existsSync(path.join(outDir, 'checkpoint.bin')) && fs.existsSync(bestPath)) {
    // read by the final test: checked when the run resumes, not hours later
    try {
      await readCheckpoint(bestPath);
    } catch (e) {
      throw new ResumeError(`${(e as Error).message.replace(/;? ?(delete it or point the run at another folder|it was not written by a completed save)$/, '')}; ` +
        'fix: remove best.bin (the final test then uses the next epoch that beats the best so far, or is skipped), or pass --overwrite to delete the run and start again');
    }
  }
  // ---- data and tokenizer
  const { tok, valid, test, trainAll, trainPairs, validPairs, validLossPairs, testPairs } = await prepareTranslationData({ ...c, outDir }, deps);
  const ids = { pad: tok.pad, bos: tok.bos, eos: tok.eos };

  // ---- model and optimizer
  const arch = resolveArch(c);
  const modelOptions: TranslationModelOptions = {
    arch, vocabSize: tok.vocabSize, padId: tok.pad, seed: c.seed, labelSmoothing: c.labelSmoothing, perturbedDropout: c.optimizer.perturbedDropout,
  };
  const model = createTaskModel(modelOptions);
  const transformer = model.transformer;
  const optimizer = sharpnessAware(tf.train.adam(c.warmupInitLr, c.beta1, c.beta2, c.adamEpsilon), sharpnessConfigOf(c.optimizer));

  const plans = new Map<number, number[][]>();
  const plan = (epoch: number): number[][] => {
    let p = plans.get(epoch);
    if (p === undefined) {
      p = planBatches(trainPairs, { maxTokens: c.maxTokens, shuffle: true, seed: c.seed, epoch });
      plans.clear(); // one epoch's plan at a time
      plans.set(epoch, p);
    }
    return p;
  };
  const weightsOf = (): Array<{ name: string; tensor: tf.Tensor }> => model.variables.map((v) => ({ name: v.name, tensor: v.variable }));

  const task: TrainingTask = {
    model, optimizer, evalSplit: 'valid', unit: 'tokens', bestMetric: 'bleu',
    replica: { module: siblingModule('./task-model', import.meta.url), options: modelOptions },
    stepsPerEpoch: (epoch) => plan(epoch).length,
    async *batches(epoch, startStep) {
      const batches = plan(epoch);
      for (let i = startStep; i < batches.length; i++) {
        const b = collate(trainPairs, batches[i]!, ids);
        const target = tf.reshape(b.target, [b.rows, -1]);
        b.target.dispose();
        yield { tensors: { src: b.src, prevTokens: b.prevTokens, target }, rows: b.rows, weight: b.targetTokens };
      }
    },
    async evaluate() {
      const vl = evaluateLoss(transformer, validLossPairs, { maxTokens: c.maxTokens, labelSmoothing: c.labelSmoothing, bos: tok.bos });
      const hyps = await translateIds(transformer, validPairs.map((p) => p.src), ids, c.search);
      const vb = deps.bleu(hyps.map((h) => tok.decode(h)), valid.tgt);
      return {
        metrics: { loss: vl.loss, bleu: vb.bleu, nll: vl.nll },
        save: async (kind) => {
          if (kind === 'best') await writeCheckpoint(bestPath, { validBleu: vb.bleu }, { model: await hostTensors(weightsOf()) });
        },
      };
    },
    async finalTest() {
      if (!fs.existsSync(bestPath)) return null;
      const best = await readCheckpoint(bestPath);
      const w = new Map((best.groups.model ?? []).map((s) => [s.name, toTensor(s)] as const));
      transformer.setWeights(w);
      tf.dispose([...w.values()]);
      const hyp = (await translateIds(transformer, testPairs.map((p) => p.src), ids, c.search)).map((h) => tok.decode(h));
      const tb = deps.bleu(hyp, test.tgt);
      const lines: string[] = [];
      for (let i = 0; i < Math.min(c.samples, hyp.length); i++) lines.push(`SRC ${test.src[i]}`, `REF ${test.tgt[i]}`, `HYP ${hyp[i]}`, '');
      writeFileAtomicSync(path.join(outDir, 'samples.txt'), lines.join('\n'));
      writeFileAtomicSync(path.join(outDir, 'test-hypotheses.txt'), hyp.map((h) => `${h.replace(/[\r\n]+/g, ' ')}\n`).join(''));
      writeFileAtomicSync(path.join(outDir, TEST_BLEU_SEGMENTS_FILE), JSON.stringify(testBleuSegments(hyp, test.tgt)));
      return { metrics: { bleu: tb.bleu, tokenizedBleu: tb.tokenizedBleu, sentences: testPairs.length }, headline: 'bleu' };
    },
    summary: () => ({
      kind: 'translation', corpus: c.corpus, preset: c.preset, method: c.optimizer.method, rho: c.optimizer.rho, arch,
      vocabSize: tok.vocabSize, specialIds: ids, trainPairs: trainPairs.length, trainPairsDroppedByMaxLen: trainAll.length - trainPairs.length,
      validPairs: validPairs.length, testPairs: testPairs.length, lossUnits: 'nats per target token',
      weightDecay: 'coupled L2 added to the descent gradient (optimizer.weightDecay), not decoupled AdamW as in fairseq',
      dropoutMasks: c.optimizer.perturbedDropout === 'reuse'
        ? 'the same masks for both passes of a SAM/ASAM step (seeded by run seed, update and slice)'
        : 'fresh masks for the perturbed pass of a SAM/ASAM step (seeded by run seed, update, slice and pass)',
    }),
  };
  return {
    task,
    schedule: inverseSqrtSchedule({ lr: c.lr, warmupSteps: c.warmupUpdates, warmupInitLr: c.warmupInitLr }),
    dispose: () => { optimizer.dispose(); model.dispose(); },
  };
}
