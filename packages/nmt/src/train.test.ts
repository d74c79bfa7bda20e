import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sharpnessAware, type Method } from '@asam/core';
import { initEngine } from '@asam/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { collate, type TokenizedPair } from './batching.ts';
import { getPreset } from './presets.ts';
import { inverseSqrtLr, resolveTranslationConfig } from './train-config.ts';
import { toyDeps, toyPairs, WordTokenizer } from './train-toy.ts';
import { encodeSentence, readTestBleuSegments, trainStep, trainTranslation } from './train.ts';
import { computeBleu, sumBleuStats } from './bleu.ts';
import { Transformer } from './transformer.ts';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

const base = { dataDir: '/nonexistent-data', cacheDir: '/nonexistent-cache', outDir: '/tmp/x' };

describe('resolveTranslationConfig', () => {
  it('fills fairseq recipe defaults', () => {
    const c = resolveTranslationConfig({ ...base });
    expect([c.lr, c.beta1, c.beta2, c.warmupUpdates, c.warmupInitLr, c.labelSmoothing, c.maxTokens]).toEqual([5e-4, 0.9, 0.98, 4000, 1e-7, 0.1, 4096]);
    expect(c.optimizer).toEqual({ method: 'none', rho: 0, weightDecay: 1e-4, perturbedDropout: 'reuse' });
    expect(c.preset).toBe('transformer_iwslt_de_en');
    expect(resolveTranslationConfig({ ...base, corpus: 'iwslt14' }).testSplit).toBe('test');
  });
  it('names the field, value and valid range', () => {
    expect(() => resolveTranslationConfig({ ...base, lr: -1 })).toThrow(/'lr': got -1; expected a number > 0/);
    expect(() => resolveTranslationConfig({ ...base, preset: 'big' })).toThrow(/'preset': got "big"; expected one of .*transformer_small/);
    expect(() => resolveTranslationConfig({ ...base, maxUpdates: 1.5 })).toThrow(/'maxUpdates': got 1.5/);
    expect(() => resolveTranslationConfig({ ...base, labelSmoothing: 1 })).toThrow(/labelSmoothing.*\[0, 1\)/);
    expect(() => resolveTranslationConfig({ ...base, maxTokens: 10, maxLen: 20 })).toThrow(/maxTokens.*>= maxLen = 20/);
    expect(() => resolveTranslationConfig({ ...base, optimizer: { method: 'adam' as Method, rho: 0 } })).toThrow(/'optimizer'.*method/);
    expect(() => resolveTranslationConfig({ ...base, search: { kind: 'sample' as 'beam' } })).toThrow(/search.kind/);
    expect(() => resolveTranslationConfig({ ...base, lrr: 1 } as never)).toThrow(/'lrr'.*no such field/);
    expect(() => resolveTranslationConfig({ ...base, archOverrides: { heads: 5 } })).toThrow(/archOverrides.*divisible/);
    expect(() => resolveTranslationConfig({ ...base, dataDir: '' })).toThrow(/dataDir.*ASAM_DATA_DIR/);
    expect(() => resolveTranslationConfig({ ...base, corpus: 'wmt' as 'multi30k' })).toThrow(/corpus.*multi30k, iwslt14/);
  });
  it('inverse-sqrt schedule follows fairseq', () => {
    const c = { lr: 5e-4, warmupUpdates: 4000, warmupInitLr: 1e-7 };
    expect(inverseSqrtLr(0, c)).toBe(1e-7);
    expect(inverseSqrtLr(2000, c)).toBeCloseTo(1e-7 + 2000 * (5e-4 - 1e-7) / 4000, 12);
    expect(inverseSqrtLr(4000, c)).toBeCloseTo(5e-4, 12);
    expect(inverseSqrtLr(16000, c)).toBeCloseTo(2.5e-4, 12);
  });
});

describe('training steps', () => {
  const text = toyPairs(8, 11, 10, 5);
  const tok = new WordTokenizer([...text.src, ...text.tgt]);
  const pairs: TokenizedPair[] = text.src.map((s, i) => ({ src: encodeSentence(tok, s), tgt: encodeSentence(tok, text.tgt[i]!) }));

  for (const [method, rho] of [['none', 0], ['sam', 0.05], ['asam', 0.2]] as Array<[Method, number]>) {
    it(`a tiny model overfits 8 pairs with Adam${method === 'none' ? '' : '+' + method.toUpperCase()}, without leaking tensors`, () => {
      const model = new Transformer({ arch: getPreset('transformer_tiny').arch, srcVocabSize: tok.vocabSize, tgtVocabSize: tok.vocabSize, padId: tok.pad, seed: 5 });
      const opt = sharpnessAware(tf.train.adam(3e-3, 0.9, 0.98, 1e-8), { method, rho });
      const b = collate(pairs, pairs.map((_, i) => i), tok);
      const losses: number[] = [];
      const counts: number[] = [];
      for (let s = 0; s < 100; s++) {
        losses.push(trainStep(model, opt, b, { labelSmoothing: 0.1, dropoutSeed: s }));
        counts.push(tf.memory().numTensors);
      }
      // Uniform guess is ln(V); label smoothing 0.1 puts a floor near 0.5 nats.
      expect(losses[0]!).toBeGreaterThan(2.5);
      expect(losses[99]!).toBeLessThan(0.9);
      expect(counts[99]).toBe(counts[10]);
      tf.dispose([b.src, b.prevTokens, b.target]);
      opt.dispose();
      model.dispose();
    });
  }
});

describe('trainTranslation', () => {
  it('runs end to end on the toy task: files, metrics, learning, BLEU', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-train-'));
    const epochs: number[] = [];
    const progress: number[] = [];
    const r = await trainTranslation(
      {
        ...base,
        outDir: out,
        preset: 'transformer_tiny',
        lr: 3e-3,
        warmupUpdates: 20,
        warmupInitLr: 1e-4,
        maxTokens: 60,
        maxLen: 10,
        maxEpochs: 4,
        checkpointEveryUpdates: 15,
        search: { kind: 'beam', beam: 3, batchSentences: 16 },
        samples: 5,
      },
      { onEpoch: (m) => epochs.push(m.valid_loss as number), onProgress: (p) => progress.push(p.globalStep) },
      toyDeps({ train: 200, valid: 30, test: 30 }, 8),
    );
    expect(r.status).toBe('completed');
    expect(r.epochsCompleted).toBe(4);
    // Validation loss falls clearly and the model translates some n-grams (a small budget: 4 short epochs).
    expect(epochs[3]!).toBeLessThan(0.9 * epochs[0]!);
    expect(r.best!.metric).toBe('valid_bleu');
    expect(r.best!.value).toBeGreaterThan(1);
    expect(r.final!.metric).toBe('test_bleu');
    expect(r.final!.value).toBeGreaterThan(1);
    expect(r.test!.bleu).toBe(r.final!.value);
    expect(Number.isFinite(r.test!.tokenizedBleu)).toBe(true);
    expect(progress.length).toBeGreaterThan(3);
    for (const f of ['config.json', 'metrics.csv', 'result.json', 'samples.txt', 'test-hypotheses.txt', 'test-bleu-segments.json', 'checkpoint.bin', 'best.bin']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    // Every test translation, and each sentence's BLEU statistics: summed, they score as the reported test BLEU.
    expect(fs.readFileSync(path.join(out, 'test-hypotheses.txt'), 'utf8').split('\n')).toHaveLength(31);
    const segs = readTestBleuSegments(JSON.parse(fs.readFileSync(path.join(out, 'test-bleu-segments.json'), 'utf8')))!;
    expect(segs).toHaveLength(30);
    const t = sumBleuStats(segs);
    expect(computeBleu(t.correct, t.total, t.sysLen, t.refLen).score).toBeCloseTo(r.test!.bleu as number, 10);
    const csv = fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('epoch,step,lr,train_loss,valid_loss,valid_bleu,valid_nll,seconds,tokens_per_sec');
    expect(csv.length).toBe(5);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).final.value).toBe(r.final!.value);
    expect(fs.readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('two data-parallel workers take the steps of one process (no dropout: up to float rounding); micro-batches too', async () => {
    const cfg = (outDir: string, extra: object) => ({
      ...base, outDir, preset: 'transformer_tiny', archOverrides: { dropout: 0, attentionDropout: 0, activationDropout: 0 },
      optimizer: { method: 'sam' as const, rho: 0.05 }, lr: 3e-3, warmupUpdates: 5, warmupInitLr: 1e-4, maxTokens: 60, maxLen: 10,
      maxEpochs: 1, search: { kind: 'greedy' as const, batchSentences: 16 }, samples: 0, ...extra,
    });
    const deps = () => toyDeps({ train: 60, valid: 12, test: 12 }, 8);
    const runs: Array<Record<string, number | null>> = [];
    for (const extra of [{}, { workers: 2 }, { microBatch: 3 }]) {
      const r = await trainTranslation(cfg(fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-par-')), extra), {}, deps());
      expect(r.status).toBe('completed');
      runs.push(r.last!);
    }
    const [one, par, micro] = runs as [Record<string, number>, Record<string, number>, Record<string, number>];
    expect(par.step).toBe(one.step);
    for (const other of [par, micro]) {
      expect(Math.abs(other.train_loss! - one.train_loss!) / one.train_loss!).toBeLessThan(1e-4);
      expect(Math.abs(other.valid_loss! - one.valid_loss!) / one.valid_loss!).toBeLessThan(1e-4);
    }
  }, 120_000);

  it("reports 'diverged' on a non-finite loss", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-div-'));
    const r = await trainTranslation(
      { ...base, outDir: out, preset: 'transformer_tiny', lr: 1e30, warmupInitLr: 1e30, warmupUpdates: 1, maxTokens: 200, maxEpochs: 3 },
      {},
      toyDeps({ train: 100, valid: 10, test: 10 }),
    );
    expect(r.status).toBe('diverged');
    expect(r.divergedAt).toBeDefined();
    expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).status).toBe('diverged');
  });
});
