/**
 * Training loop for translation: one code path for Adam, Adam+SAM and Adam+ASAM (Kwon et al. 2021, "ASAM:
 * Adaptive Sharpness-Aware Minimization", §5 IWSLT'14 de-en), because every update goes through
 * `sharpnessAware(tf.train.adam(...), config.optimizer).minimize(loss)` from @asam/core (method 'none' = Adam).
 *
 * A run directory gets `config.json` (resolved config + derived facts), `metrics.csv` (one row per epoch),
 * `result.json`, `samples.txt` (test translations), `checkpoint.bin` (resumable: weights, optimizer state, epoch,
 * batch position, update count, dropout stream, metric history) and `best.bin` (weights with the best validation
 * BLEU, used for the final test score).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware, type SharpnessAwareOptimizer } from '@asam/core';
import { collate, planBatches, type TokenizedPair, type TranslationBatch } from './batching.ts';
import { beamSearch } from './beam-search.ts';
import { corpusBleu, tokenize13a, tokenizedBleu } from './bleu.ts';
import { greedyDecode } from './decode-greedy.ts';
import { labelSmoothedLoss, meanLabelSmoothedLoss } from './loss.ts';
import { writeFileAtomicSync } from '@asam/train';
import { readCheckpoint, toTensor, writeCheckpoint } from './train-checkpoint.ts';
import {
  inverseSqrtLr,
  resolveArch,
  resolveTranslationConfig,
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
  loadData(c: TranslationConfig): Promise<{ train: ParallelText; valid: ParallelText; test: ParallelText }>;
  buildTokenizer(c: TranslationConfig, train: ParallelText): Promise<TranslationTokenizer>;
  bleu(hyps: string[], refs: string[]): BleuScores;
}

/**
 * Default BLEU: sacreBLEU-style corpus BLEU (13a, exp smoothing, mixed case) on detokenized text, and tokenized BLEU
 * (multi-bleu.perl style: no smoothing) on 13a-tokenized, lowercased text.
 */
export function defaultBleu(hyps: string[], refs: string[]): BleuScores {
  const tl = (s: string): string => tokenize13a(s).toLowerCase();
  return { bleu: corpusBleu(hyps, [refs]).score, tokenizedBleu: tokenizedBleu(hyps.map(tl), [refs.map(tl)]).score };
}

/** Progress report after an update. */
export interface TrainProgress {
  epoch: number;
  update: number;
  /** Updates the run will take in total (maxUpdates, or an estimate from epochs x batches). */
  totalUpdates: number;
  /** Mean label-smoothed loss (nats/token) of this update's batch. */
  loss: number;
  lr: number;
  /** Target tokens per second over recent updates. */
  tokensPerSec: number;
  /** Seconds of training left at the recent pace (validation not included). */
  etaSeconds: number;
}

/** One row of metrics.csv. */
export interface EpochMetrics {
  epoch: number;
  updates: number;
  lr: number;
  /** Mean label-smoothed training loss (nats per target token) over the epoch. */
  train_loss: number;
  /** Label-smoothed validation loss (nats per target token). */
  valid_loss: number;
  /** sacreBLEU-style validation BLEU on the validLimit subset. */
  valid_bleu: number;
  /** Wall seconds of this epoch (training + validation). */
  seconds: number;
  /** Training target tokens per second in this epoch. */
  tokens_per_sec: number;
  /** Validation NLL (ε = 0), nats per target token. */
  valid_nll: number;
}

/** Callbacks during training. */
export interface TrainHooks {
  onProgress?(p: TrainProgress): void;
  onEpoch?(m: EpochMetrics): void;
  /** Human-readable events (resume, checkpoint, divergence). */
  onLog?(msg: string): void;
  /**
   * Asked after every update (e.g. set by a SIGTERM handler): when it returns true the run writes a checkpoint at
   * that update and returns with status 'stopped'; the same config resumes it from there.
   */
  shouldStop?(): boolean;
}

/** What result.json holds. */
export interface TranslationResult {
  /** 'stopped': `hooks.shouldStop` asked to stop; the checkpoint holds the last update and the run resumes from it. */
  status: 'completed' | 'diverged' | 'stopped';
  outDir: string;
  epochs: number;
  updates: number;
  bestEpoch: number | null;
  bestValidBleu: number | null;
  testBleu: number | null;
  testBleuTokenized: number | null;
  testSentences: number;
  wallSeconds: number;
  meanStepSeconds: number;
  numParams: number;
  resumed: boolean;
  divergedAt?: { epoch: number; update: number; loss: number };
}

interface CheckpointMeta {
  version: 1;
  configKey: string;
  epoch: number;
  batchIndex: number;
  updates: number;
  epochLossSum: number;
  epochTokens: number;
  epochTrainSeconds: number;
  epochStartWall: number;
  trainSeconds: number;
  wallSeconds: number;
  bestValidBleu: number | null;
  bestEpoch: number | null;
  rows: EpochMetrics[];
  dropout: { seed: number; calls: number };
  modelNames: string[];
  optimizerNames: string[];
}

const METRIC_COLUMNS: Array<keyof EpochMetrics> = ['epoch', 'updates', 'lr', 'train_loss', 'valid_loss', 'valid_bleu', 'seconds', 'tokens_per_sec', 'valid_nll'];

/** Splits a subword encoding into content ids (special ids removed) and appends EOS. */
export function encodeSentence(tok: TranslationTokenizer, text: string): Int32Array {
  const ids = Array.from(tok.encode(text)).filter((i) => i !== tok.pad && i !== tok.bos && i !== tok.eos);
  ids.push(tok.eos);
  return Int32Array.from(ids);
}

/** Dropout seed of an update: a fixed function of (run seed, update), so resumed runs see the same masks. */
function updateSeed(seed: number, update: number): number {
  return ((seed + 1) * 1000003 + update * 7919) % 2147483647;
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

function csv(rows: EpochMetrics[]): string {
  const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toPrecision(6) : String(v));
  return [METRIC_COLUMNS.join(','), ...rows.map((r) => METRIC_COLUMNS.map((k) => fmt(r[k])).join(','))].join('\n') + '\n';
}

/** The config fields that must match for a checkpoint to be resumed (everything but limits on how long to run). */
function configKey(c: TranslationConfig): string {
  const { maxEpochs: _e, maxUpdates: _u, resume: _r, outDir: _o, logEveryUpdates: _l, checkpointEveryUpdates: _k, samples: _s, testLimit: _t, testSplit: _ts, dataDir: _d, cacheDir: _cd, ...rest } = c;
  return JSON.stringify(rest);
}

/**
 * Trains a Transformer on a parallel corpus and evaluates it (see the module comment for the run directory).
 * `config` is resolved with {@link resolveTranslationConfig}. If `outDir/checkpoint.bin` exists and
 * `config.resume`, training continues from it and reproduces the uninterrupted run (same batches, dropout masks
 * and optimizer state). A non-finite loss stops the run with `status: 'diverged'`.
 */
export async function trainTranslation(
  config: Parameters<typeof resolveTranslationConfig>[0],
  hooks: TrainHooks = {},
  depsIn: Partial<TranslationDeps> & Pick<TranslationDeps, 'loadData' | 'buildTokenizer'>,
): Promise<TranslationResult> {
  const c = resolveTranslationConfig(config);
  const deps: TranslationDeps = { bleu: defaultBleu, ...depsIn };
  const t0 = performance.now();
  const log = (m: string): void => hooks.onLog?.(m);
  fs.mkdirSync(c.outDir, { recursive: true });
  const ckptPath = path.join(c.outDir, 'checkpoint.bin');
  const bestPath = path.join(c.outDir, 'best.bin');

  // ---- data and tokenizer
  const data = await deps.loadData(c);
  const limit = (t: ParallelText, n: number | null): ParallelText => (n === null ? t : { src: t.src.slice(0, n), tgt: t.tgt.slice(0, n) });
  const train = limit(data.train, c.trainLimit);
  const valid = limit(data.valid, c.validLimit);
  const test = limit(data.test, c.testLimit);
  const tok = await deps.buildTokenizer(c, data.train); // the full training text, so the vocabulary does not depend on trainLimit
  const ids = { pad: tok.pad, bos: tok.bos, eos: tok.eos };
  const enc = (t: ParallelText): TokenizedPair[] => t.src.map((s, i) => ({ src: encodeSentence(tok, s), tgt: encodeSentence(tok, t.tgt[i]!) }));
  const trainAll = enc(train);
  const trainPairs = trainAll.filter((p) => p.src.length <= c.maxLen && p.tgt.length <= c.maxLen);
  if (trainPairs.length === 0) throw new TranslationConfigError('maxLen', c.maxLen, 'a length that keeps some training pairs (every pair is longer); raise maxLen');
  const validPairs = enc(valid);
  const validLossPairs = validPairs.filter((p) => Math.max(p.src.length, p.tgt.length) <= c.maxTokens);
  const testPairs = enc(test);

  // ---- model and optimizer
  const arch = resolveArch(c);
  const model = new Transformer({ arch, srcVocabSize: tok.vocabSize, tgtVocabSize: tok.vocabSize, padId: tok.pad, seed: c.seed, name: 'transformer' });
  const opt: SharpnessAwareOptimizer = sharpnessAware(tf.train.adam(c.warmupInitLr, c.beta1, c.beta2, c.adamEpsilon), c.optimizer);
  const key = configKey(c);

  let meta: CheckpointMeta = {
    version: 1,
    configKey: key,
    epoch: 0,
    batchIndex: 0,
    updates: 0,
    epochLossSum: 0,
    epochTokens: 0,
    epochTrainSeconds: 0,
    epochStartWall: 0,
    trainSeconds: 0,
    wallSeconds: 0,
    bestValidBleu: null,
    bestEpoch: null,
    rows: [],
    dropout: model.getDropoutState(),
    modelNames: model.localNames(),
    optimizerNames: [],
  };
  let resumed = false;
  try {
    if (c.resume && fs.existsSync(ckptPath)) {
      const ck = readCheckpoint<CheckpointMeta>(ckptPath);
      if (ck.meta.configKey !== key) {
        throw new Error(
          `Checkpoint ${ckptPath} was written with a different config; resume needs the same settings (only maxEpochs, maxUpdates, ` +
            `logging, samples and test options may change). Use another outDir or set resume: false.\n  checkpoint: ${ck.meta.configKey}\n  now:        ${key}`,
        );
      }
      const w = new Map((ck.groups.model ?? []).map((s) => [s.name, toTensor(s)] as const));
      model.setWeights(w);
      tf.dispose([...w.values()]);
      const ow = (ck.groups.optimizer ?? []).map((s) => ({ name: s.name, tensor: toTensor(s) }));
      await opt.setWeights(ow);
      tf.dispose(ow.map((x) => x.tensor));
      model.setDropoutState(ck.meta.dropout);
      meta = ck.meta;
      resumed = true;
      log(`resumed from ${ckptPath}: epoch ${meta.epoch + 1}, batch ${meta.batchIndex}, update ${meta.updates}`);
    }
    const wallBase = meta.wallSeconds;
    const wallNow = (): number => wallBase + (performance.now() - t0) / 1000;

    const numParams = model.numParams();
    writeFileAtomicSync(
      path.join(c.outDir, 'config.json'),
      JSON.stringify(
        {
          config: c,
          derived: {
            arch,
            numParams,
            vocabSize: tok.vocabSize,
            specialIds: ids,
            trainPairs: trainPairs.length,
            trainPairsDroppedByMaxLen: trainAll.length - trainPairs.length,
            validPairs: validPairs.length,
            testPairs: testPairs.length,
            lossUnits: 'nats per target token',
            weightDecay: 'coupled L2 added to the descent gradient (optimizer.weightDecay), not decoupled AdamW as in fairseq',
            dropoutMasks: 'the same masks for both passes of a SAM/ASAM step (seeded by run seed and update)',
          },
        },
        null,
        2,
      ),
    );

    const saveCheckpoint = async (): Promise<void> => {
      const ow = await opt.getWeights();
      const mw = model.getWeights();
      try {
        meta.optimizerNames = ow.map((x) => x.name);
        meta.dropout = model.getDropoutState();
        meta.wallSeconds = wallNow();
        await writeCheckpoint(ckptPath, meta, {
          model: [...mw].map(([name, tensor]) => ({ name, tensor })),
          optimizer: ow,
        });
      } finally {
        tf.dispose([...mw.values()]);
        // Optimizer getWeights returns its live state variables (Adam moments) plus fresh scalars: free only the latter.
        tf.dispose(ow.map((x) => x.tensor).filter((t) => !(t instanceof tf.Variable)));
      }
    };

    const batchesPerEpoch = planBatches(trainPairs, { maxTokens: c.maxTokens, shuffle: true, seed: c.seed, epoch: 0 }).length;
    const totalUpdates = c.maxUpdates ?? c.maxEpochs * batchesPerEpoch;
    const recent: Array<{ s: number; tok: number }> = [];
    let status: TranslationResult['status'] = 'completed';
    let divergedAt: TranslationResult['divergedAt'];
    const done = (): boolean => meta.epoch >= c.maxEpochs || (c.maxUpdates !== null && meta.updates >= c.maxUpdates);

    while (!done()) {
      const epoch = meta.epoch;
      const batches = planBatches(trainPairs, { maxTokens: c.maxTokens, shuffle: true, seed: c.seed, epoch });
      if (meta.batchIndex === 0) {
        meta.epochLossSum = 0;
        meta.epochTokens = 0;
        meta.epochTrainSeconds = 0;
        meta.epochStartWall = wallNow();
      }
      while (meta.batchIndex < batches.length && !(c.maxUpdates !== null && meta.updates >= c.maxUpdates)) {
        const lr = inverseSqrtLr(meta.updates, c);
        opt.setLearningRate(lr);
        const b = collate(trainPairs, batches[meta.batchIndex]!, ids);
        const ts = performance.now();
        let loss: number;
        try {
          loss = trainStep(model, opt, b, { labelSmoothing: c.labelSmoothing, dropoutSeed: updateSeed(c.seed, meta.updates) });
        } finally {
          tf.dispose([b.src, b.prevTokens, b.target]);
        }
        const dt = (performance.now() - ts) / 1000;
        if (!Number.isFinite(loss)) {
          status = 'diverged';
          divergedAt = { epoch: epoch + 1, update: meta.updates + 1, loss };
          log(`loss is ${loss} at update ${meta.updates + 1} (epoch ${epoch + 1}): stopping, status 'diverged'`);
          break;
        }
        meta.updates += 1;
        meta.batchIndex += 1;
        meta.epochLossSum += loss * b.targetTokens;
        meta.epochTokens += b.targetTokens;
        meta.epochTrainSeconds += dt;
        meta.trainSeconds += dt;
        recent.push({ s: dt, tok: b.targetTokens });
        if (recent.length > 20) recent.shift();
        if (meta.updates % c.logEveryUpdates === 0 || meta.updates === 1) {
          const rs = recent.reduce((a, r) => a + r.s, 0);
          const rt = recent.reduce((a, r) => a + r.tok, 0);
          hooks.onProgress?.({
            epoch: epoch + 1,
            update: meta.updates,
            totalUpdates,
            loss,
            lr,
            tokensPerSec: rt / Math.max(rs, 1e-9),
            etaSeconds: (Math.max(totalUpdates - meta.updates, 0) * rs) / recent.length,
          });
        }
        if (meta.updates % c.checkpointEveryUpdates === 0) await saveCheckpoint();
        if (hooks.shouldStop?.()) {
          await saveCheckpoint();
          status = 'stopped';
          log(`stop requested: checkpoint at update ${meta.updates} (epoch ${epoch + 1}, batch ${meta.batchIndex}); the run resumes from it`);
          break;
        }
      }
      if (status === 'diverged' || status === 'stopped') break;

      // ---- end of epoch (or of the update budget): validation, best checkpoint, metrics
      const vl = evaluateLoss(model, validLossPairs, { maxTokens: c.maxTokens, labelSmoothing: c.labelSmoothing, bos: tok.bos });
      const hypIds = await translateIds(model, validPairs.map((p) => p.src), ids, c.search);
      const vb = deps.bleu(hypIds.map((h) => tok.decode(h)), valid.tgt);
      const row: EpochMetrics = {
        epoch: epoch + 1,
        updates: meta.updates,
        lr: inverseSqrtLr(Math.max(meta.updates - 1, 0), c),
        train_loss: meta.epochLossSum / Math.max(meta.epochTokens, 1),
        valid_loss: vl.loss,
        valid_bleu: vb.bleu,
        seconds: wallNow() - meta.epochStartWall,
        tokens_per_sec: meta.epochTokens / Math.max(meta.epochTrainSeconds, 1e-9),
        valid_nll: vl.nll,
      };
      meta.rows.push(row);
      hooks.onEpoch?.(row);
      writeFileAtomicSync(path.join(c.outDir, 'metrics.csv'), csv(meta.rows));
      if (meta.bestValidBleu === null || vb.bleu > meta.bestValidBleu) {
        meta.bestValidBleu = vb.bleu;
        meta.bestEpoch = epoch + 1;
        const mw = model.getWeights();
        try {
          await writeCheckpoint(bestPath, { epoch: epoch + 1, updates: meta.updates, validBleu: vb.bleu }, { model: [...mw].map(([name, tensor]) => ({ name, tensor })) });
        } finally {
          tf.dispose([...mw.values()]);
        }
      }
      meta.epoch += 1;
      meta.batchIndex = 0;
      await saveCheckpoint();
    }

    // ---- final test with the best checkpoint
    let testBleu: number | null = null;
    let testBleuTokenized: number | null = null;
    if (status === 'completed' && fs.existsSync(bestPath)) {
      const best = readCheckpoint<unknown>(bestPath);
      const w = new Map((best.groups.model ?? []).map((s) => [s.name, toTensor(s)] as const));
      model.setWeights(w);
      tf.dispose([...w.values()]);
      const hyp = (await translateIds(model, testPairs.map((p) => p.src), ids, c.search)).map((h) => tok.decode(h));
      const tb = deps.bleu(hyp, test.tgt);
      testBleu = tb.bleu;
      testBleuTokenized = tb.tokenizedBleu;
      const n = Math.min(c.samples, hyp.length);
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(`SRC ${test.src[i]}`, `REF ${test.tgt[i]}`, `HYP ${hyp[i]}`, '');
      writeFileAtomicSync(path.join(c.outDir, 'samples.txt'), lines.join('\n'));
    }
    const result: TranslationResult = {
      status,
      outDir: c.outDir,
      epochs: meta.rows.length,
      updates: meta.updates,
      bestEpoch: meta.bestEpoch,
      bestValidBleu: meta.bestValidBleu,
      testBleu,
      testBleuTokenized,
      testSentences: testPairs.length,
      wallSeconds: wallNow(),
      meanStepSeconds: meta.trainSeconds / Math.max(meta.updates, 1),
      numParams,
      resumed,
      ...(divergedAt ? { divergedAt } : {}),
    };
    writeFileAtomicSync(path.join(c.outDir, 'result.json'), JSON.stringify(result, null, 2));
    return result;
  } finally {
    opt.dispose();
    model.dispose();
  }
}
