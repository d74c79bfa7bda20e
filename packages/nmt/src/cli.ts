/**
 * Command line for translation training, e.g.
 *
 *   pnpm --filter @asam/nmt train --preset transformer_small --corpus multi30k --optimizer asam --rho 0.2 \
 *     --max-updates 200 --out runs/x
 *
 * Reads ASAM_DATA_DIR (corpora) and ASAM_CACHE_DIR (SentencePiece models; default ~/.cache/asam) and picks the
 * tfjs backend with @asam/engine (`--backend auto|cpu|wasm`). Resumes from `<out>/checkpoint.bin` unless
 * `--no-resume`. Prints progress and where the results went.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Method } from '@asam/core';
import { resolveDataDir } from '@asam/data';
import { initEngine } from '@asam/engine';
import { listPresets } from './presets.ts';
import { resolveTranslationConfig, type TranslationConfig } from './train-config.ts';
import { defaultTranslationDeps } from './train-data.ts';
import { trainTranslation } from './train.ts';

const USAGE = `Usage: tsx src/cli.ts --out <dir> [options]
  --preset <name>          ${listPresets().join(' | ')} (default transformer_small)
  --corpus <name>          multi30k | iwslt14 (default multi30k)
  --optimizer <m>          adam | sam | asam (default adam)
  --rho <x>                neighbourhood radius (default: sam 0.1, asam 0.2 as in the paper)
  --eta <x>                ASAM eta (default 0.01)
  --weight-decay <x>       (default 1e-4)
  --lr <x> --warmup <n> --warmup-init-lr <x>   (defaults 5e-4, 4000, 1e-7)
  --max-updates <n> --max-epochs <n> --max-tokens <n> --max-len <n>
  --train-limit <n> --valid-limit <n> --test-limit <n> --test-split <name>
  --vocab-size <n>         joint SentencePiece vocabulary (default 8000)
  --dropout <x>            override the preset's dropout
  --label-smoothing <x>    (default 0.1)
  --search greedy|beam --beam <k> --lenpen <x>
  --checkpoint-every <n> --seed <n> --no-resume
  --backend auto|cpu|wasm  (default auto)`;

function main(): Promise<void> {
  const { values: v } = parseArgs({
    strict: true,
    options: {
      out: { type: 'string' }, preset: { type: 'string' }, corpus: { type: 'string' }, optimizer: { type: 'string' },
      rho: { type: 'string' }, eta: { type: 'string' }, 'weight-decay': { type: 'string' }, lr: { type: 'string' },
      warmup: { type: 'string' }, 'warmup-init-lr': { type: 'string' }, 'max-updates': { type: 'string' },
      'max-epochs': { type: 'string' }, 'max-tokens': { type: 'string' }, 'max-len': { type: 'string' },
      'train-limit': { type: 'string' }, 'valid-limit': { type: 'string' }, 'test-limit': { type: 'string' },
      'test-split': { type: 'string' }, 'vocab-size': { type: 'string' }, dropout: { type: 'string' },
      'label-smoothing': { type: 'string' }, search: { type: 'string' }, beam: { type: 'string' }, lenpen: { type: 'string' },
      'checkpoint-every': { type: 'string' }, seed: { type: 'string' }, 'no-resume': { type: 'boolean' },
      backend: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return Promise.resolve();
  }
  const number = (flag: string): number | undefined => {
    const s = (v as Record<string, string | boolean | undefined>)[flag];
    if (s === undefined) return undefined;
    const x = Number(s);
    if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(x)) throw new Error(`--${flag} ${String(s)}: expected a number.\n${USAGE}`);
    return x;
  };
  if (!v.out) throw new Error(`--out is required (the run directory).\n${USAGE}`);
  const method = v.optimizer ?? 'adam';
  const methods: Record<string, Method> = { adam: 'none', none: 'none', sam: 'sam', asam: 'asam' };
  const m = methods[method];
  if (!m) throw new Error(`--optimizer ${method}: expected adam, sam or asam.`);
  const rho = number('rho') ?? (m === 'sam' ? 0.1 : m === 'asam' ? 0.2 : 0);
  const eta = number('eta');
  const optimizer = { method: m, rho, weightDecay: number('weight-decay') ?? 1e-4, ...(m === 'asam' && eta !== undefined ? { eta } : {}) };
  const backend = v.backend ?? 'auto';
  if (!['auto', 'cpu', 'wasm'].includes(backend)) throw new Error(`--backend ${backend}: expected auto, cpu or wasm.`);
  const dropout = number('dropout');
  const search: Partial<TranslationConfig['search']> = {};
  if (v.search) search.kind = v.search as 'greedy' | 'beam';
  if (number('beam') !== undefined) search.beam = number('beam')!;
  if (number('lenpen') !== undefined) search.lenPenalty = number('lenpen')!;
  const partial = {
    outDir: path.resolve(v.out),
    dataDir: resolveDataDir({ env: process.env }),
    cacheDir: process.env.ASAM_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'asam'),
    preset: v.preset ?? 'transformer_small',
    corpus: (v.corpus ?? 'multi30k') as TranslationConfig['corpus'],
    optimizer,
    archOverrides: dropout === undefined ? {} : { dropout },
    lr: number('lr'),
    warmupUpdates: number('warmup'),
    warmupInitLr: number('warmup-init-lr'),
    maxUpdates: number('max-updates'),
    maxEpochs: number('max-epochs'),
    maxTokens: number('max-tokens'),
    maxLen: number('max-len'),
    trainLimit: number('train-limit'),
    validLimit: number('valid-limit'),
    testLimit: number('test-limit'),
    testSplit: v['test-split'],
    vocabSize: number('vocab-size'),
    labelSmoothing: number('label-smoothing'),
    checkpointEveryUpdates: number('checkpoint-every'),
    seed: number('seed'),
    resume: !v['no-resume'],
    search,
  };
  const config = resolveTranslationConfig(partial);
  return run(config, backend as 'auto' | 'cpu' | 'wasm');
}

async function run(config: TranslationConfig, backend: 'auto' | 'cpu' | 'wasm'): Promise<void> {
  const engine = await initEngine({ backend });
  console.log(`backend: ${engine.backend} (${engine.reason}); run dir: ${config.outDir}`);
  const fmtTime = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${(s / 60).toFixed(1)}m` : `${s.toFixed(0)}s`);
  const r = await trainTranslation(
    config,
    {
      onLog: (msg) => console.log(msg),
      onProgress: (p) =>
        console.log(
          `epoch ${p.epoch} update ${p.update}/${p.totalUpdates} loss ${p.loss.toFixed(3)} lr ${p.lr.toExponential(2)} ` +
            `${p.tokensPerSec.toFixed(0)} tok/s ETA ${fmtTime(p.etaSeconds)}`,
        ),
      onEpoch: (e) =>
        console.log(
          `== epoch ${e.epoch}: train ${e.train_loss.toFixed(3)} valid ${e.valid_loss.toFixed(3)} BLEU ${e.valid_bleu.toFixed(2)} ` +
            `(${e.seconds.toFixed(0)} s, ${e.tokens_per_sec.toFixed(0)} tok/s)`,
        ),
    },
    defaultTranslationDeps(),
  );
  console.log(
    `status ${r.status}; best valid BLEU ${r.bestValidBleu?.toFixed(2) ?? '-'} (epoch ${r.bestEpoch ?? '-'}); test BLEU ${r.testBleu?.toFixed(2) ?? '-'} ` +
      `(tokenized ${r.testBleuTokenized?.toFixed(2) ?? '-'}); ${fmtTime(r.wallSeconds)} wall, ${r.meanStepSeconds.toFixed(2)} s/update`,
  );
  console.log(`results: ${path.join(config.outDir, 'result.json')}, ${path.join(config.outDir, 'metrics.csv')}, ${path.join(config.outDir, 'samples.txt')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
