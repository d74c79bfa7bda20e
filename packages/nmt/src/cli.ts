/**
 * Command line for translation training (application layer: reads argv/env and picks the backend), on the
 * project's CLI convention (@asam/cli):
 *
 *   pnpm --filter @asam/nmt train -- --preset transformer_small --corpus multi30k --optimizer asam --rho 0.2 \
 *     --max-updates 200 --out runs/x
 *
 * The base optimizer is Adam: `--optimizer adam` trains with Adam alone, `sam` / `asam` wrap it (`sgd` is refused with
 * that hint: there is no SGD here). Corpora come from --data-dir, else
 * $ASAM_DATA_DIR, else the per-user cache; SentencePiece models are cached in --cache-dir (default $ASAM_CACHE_DIR,
 * else ~/.cache/asam). A folder that already holds a run is refused unless --resume (continue from its checkpoint
 * with its config.json; only the limits on how long to run, logging and test options may be given again) or
 * --overwrite (delete it and start again); a finished run is left untouched by --resume. The run folder keeps
 * log.txt (this console output) and env.json (git sha, machine, versions, backend and every backend tried;
 * resumes append to env-resume.jsonl).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  UsageError, addOption, backendFrom, firstMissingFolder, addSharedOptions, createCommand, givenFlags, invocationDir, parseCommand, prepareRunFolder,
  nativeKernelsFrom, requireOption, resolveUserPath, runCli, runInFolder, catchStopSignals, exitCodeOf, markRunStopped, isUserError, oneLine,
  readRunJson, START_AGAIN_FIX, mirrorFrom,
} from '@asam/cli';
import type { Method } from '@asam/core';
import { ensureDataset, resolveDataDir } from '@asam/data';
import { initEngine, type BackendRequest } from '@asam/engine';
import { formatEpochRow, formatProgress, formatRunResult, readRunResult } from '@asam/train';
import { listPresets } from './presets.ts';
import { resolveTranslationConfig, type TranslationConfig } from './train-config.ts';
import { defaultTranslationDeps } from './train-data.ts';
import { trainTranslation, translationConfigOfRun } from './train.ts';

/** Files a translation run writes into its folder (what --overwrite deletes, besides log.txt and the env files). */
export const NMT_RUN_FILES = ['config.json', 'checkpoint.bin', 'best.bin', 'metrics.csv', 'result.json', 'samples.txt', 'test-hypotheses.txt', 'test-bleu-segments.json', 'tokenizer.model'] as const;

/** Flags that may be given again with --resume: where data lives, and what the checkpoint does not fix. */
const RESUME_FLAGS = ['--out', '--resume', '--overwrite', '--backend', '--data-dir', '--no-download', '--mirror', '--cache-dir', '--max-updates', '--max-epochs',
  '--progress-every', '--checkpoint-every', '--test-limit', '--test-split', '--epochs', '--max-steps', '--workers', '--micro-batch'];

const BASE_HINT = 'the base optimizer of translation is Adam: use --optimizer adam for Adam alone (sam and asam wrap Adam)';

function command() {
  const cmd = createCommand({
    name: 'pnpm --filter @asam/nmt train --',
    description: 'Trains a Transformer translator (German to English) with Adam, Adam+SAM or Adam+ASAM and writes a run folder:\n' +
      'config.json, env.json, log.txt, metrics.csv, result.json, samples.txt, test-hypotheses.txt, test-bleu-segments.json,\n' +
      'checkpoint.bin, best.bin, tokenizer.model (the SentencePiece model the run trains with; a resumed run reads it).',
    epilog: 'Examples:\n' +
      '  pnpm --filter @asam/nmt train -- --preset transformer_mini --optimizer asam --max-updates 200 --out runs/x\n' +
      '  pnpm --filter @asam/nmt train -- --resume --out runs/x --max-updates 400      continue it (here: to 400 updates)\n' +
      'Relative paths (--out, --data-dir, --cache-dir, $ASAM_DATA_DIR, $ASAM_CACHE_DIR) are taken from the directory you ran the command in.',
  });
  addSharedOptions(cmd, {
    out: {},
    optimizer: { default: 'adam', choices: ['adam', 'sam', 'asam'], help: 'adam = Adam alone (the base optimizer), sam = Adam+SAM, asam = Adam+ASAM', choiceHints: { sgd: BASE_HINT, none: BASE_HINT } },
    dataDir: true,
    resume: true,
    backend: true,
    download: true,
  });
  const o = (spec: Parameters<typeof addOption>[1]) => addOption(cmd, spec);
  o({ flags: '--cache-dir <dir>', kind: 'path', help: 'SentencePiece model cache', defaultText: '$ASAM_CACHE_DIR, else ~/.cache/asam' });
  o({ flags: '--preset <name>', choices: listPresets(), default: 'transformer_small', help: 'architecture preset' });
  o({ flags: '--corpus <name>', choices: ['multi30k', 'iwslt14'], default: 'multi30k', help: 'parallel corpus under the data dir' });
  o({ flags: '--rho <x>', kind: 'number', min: 0, help: 'neighbourhood radius', defaultText: 'sam 0.1, asam 0.2 as in the paper' });
  o({ flags: '--eta <x>', kind: 'number', min: 0, help: 'ASAM eta', defaultText: '0.01' });
  o({ flags: '--weight-decay <x>', kind: 'number', min: 0, help: 'coupled L2', default: 1e-4 });
  o({ flags: '--lr <x>', kind: 'number', help: 'peak learning rate (inverse-sqrt schedule)', defaultText: '5e-4' });
  o({ flags: '--warmup <n>', kind: 'int', min: 0, help: 'linear warm-up updates', defaultText: '4000' });
  o({ flags: '--warmup-init-lr <x>', kind: 'number', help: 'learning rate at update 0', defaultText: '1e-7' });
  o({ flags: '--epochs <n>', kind: 'int', min: 1, help: 'stop after N passes (the runtime\'s name; fairseq\'s: --max-epochs)', defaultText: '50' });
  o({ flags: '--max-steps <n>', kind: 'int', min: 1, help: 'stop after N updates (the runtime\'s name; fairseq\'s: --max-updates)', defaultText: 'no limit' });
  o({ flags: '--max-updates <n>', kind: 'int', min: 1, help: 'alias of --max-steps', defaultText: 'no limit' });
  o({ flags: '--max-epochs <n>', kind: 'int', min: 1, help: 'alias of --epochs', defaultText: '50' });
  o({ flags: '--workers <n>', kind: 'int', min: 1, help: 'data-parallel worker threads (wasm/cpu)', defaultText: '1' });
  o({ flags: '--micro-batch <n>', kind: 'int', min: 1, help: 'at most N sentences per forward/backward pass (gradient accumulation)', defaultText: 'whole batch' });
  o({ flags: '--max-tokens <n>', kind: 'int', min: 1, help: 'padded target tokens per batch', defaultText: '4096' });
  o({ flags: '--max-len <n>', kind: 'int', min: 1, help: 'drop training pairs longer than N subword tokens', defaultText: '128' });
  o({ flags: '--train-limit <n>', kind: 'int', min: 1, help: 'use the first N training pairs', defaultText: 'all' });
  o({ flags: '--valid-limit <n>', kind: 'int', min: 1, help: 'validation pairs for loss and BLEU each epoch', defaultText: 'all' });
  o({ flags: '--test-limit <n>', kind: 'int', min: 1, help: 'test pairs', defaultText: 'all' });
  o({ flags: '--test-split <name>', help: 'test split (multi30k: test2016 | test2017 | mscoco2017 | test2018; iwslt14: test)', defaultText: 'test2016; iwslt14 test' });
  o({ flags: '--vocab-size <n>', kind: 'int', min: 1, help: 'joint SentencePiece vocabulary', defaultText: '8000' });
  o({ flags: '--dropout <x>', kind: 'number', help: "override the preset's dropout", defaultText: "the preset's" });
  o({ flags: '--label-smoothing <x>', kind: 'number', help: 'label smoothing', defaultText: '0.1' });
  o({ flags: '--search <kind>', choices: ['greedy', 'beam'], help: 'decoding for BLEU', defaultText: 'beam' });
  o({ flags: '--beam <k>', kind: 'int', min: 1, help: 'beam width', defaultText: '5' });
  o({ flags: '--lenpen <x>', kind: 'number', help: 'length penalty (fairseq --lenpen)', defaultText: '1' });
  o({ flags: '--checkpoint-every <n>', kind: 'int', min: 1, help: 'checkpoint every N updates (and at epoch ends)', defaultText: '200' });
  o({ flags: '--progress-every <n>', kind: 'int', min: 1, help: 'progress line every N updates', defaultText: '10' });
  o({ flags: '--seed <n>', kind: 'int', min: 0, help: 'seed of init, batching and dropout', defaultText: '1' });
  return cmd;
}

/** The command that resumes the run in `out`. */
const resumeHint = (out: string): string => `pnpm --filter @asam/nmt train -- --resume --out ${out}`;

type Opts = Record<string, unknown>;
/** Flags of the runtime's vocabulary and the fairseq-style aliases this CLI had before: the attribute of each alias. */
const ALIASES: Record<string, { flag: string; alias: string; aliasFlag: string }> = {
  epochs: { flag: '--epochs', alias: 'maxEpochs', aliasFlag: '--max-epochs' },
  maxSteps: { flag: '--max-steps', alias: 'maxUpdates', aliasFlag: '--max-updates' },
};
/** A numeric flag's value; a runtime flag given together with its alias is refused. */
const num = (o: Opts, k: string): number | undefined => {
  const a = Object.entries(ALIASES).find(([, v]) => v.alias === k);
  if (a) {
    const [name, { flag, aliasFlag }] = a;
    if (o[name] !== undefined && o[k] !== undefined) throw new UsageError(`${flag} and ${aliasFlag} name the same setting; give one`);
    return (o[name] ?? o[k]) as number | undefined;
  }
  return o[k] as number | undefined;
};
/** Drops undefined fields (resolveTranslationConfig fills those with its defaults). */
const defined = <T extends object>(x: T): Partial<T> => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;

type PartialTranslationConfig = Parameters<typeof resolveTranslationConfig>[0];

function configFromFlags(o: Opts, dirs: { outDir: string; dataDir: string; cacheDir: string }): PartialTranslationConfig {
  const method: Method = o.optimizer === 'adam' ? 'none' : (o.optimizer as Method);
  const eta = num(o, 'eta');
  const optimizer = { method, rho: num(o, 'rho') ?? (method === 'sam' ? 0.1 : method === 'asam' ? 0.2 : 0), weightDecay: num(o, 'weightDecay')!,
    ...(method === 'asam' && eta !== undefined ? { eta } : {}) };
  const dropout = num(o, 'dropout');
  return {
    ...dirs,
    preset: o.preset as string,
    corpus: o.corpus as TranslationConfig['corpus'],
    optimizer,
    archOverrides: dropout === undefined ? {} : { dropout },
    search: defined({ kind: o.search as 'greedy' | 'beam' | undefined, beam: num(o, 'beam'), lenPenalty: num(o, 'lenpen') }),
    resume: false,
    ...defined({
      lr: num(o, 'lr'), warmupUpdates: num(o, 'warmup'), warmupInitLr: num(o, 'warmupInitLr'), maxUpdates: num(o, 'maxUpdates'),
      maxEpochs: num(o, 'maxEpochs'), maxTokens: num(o, 'maxTokens'), maxLen: num(o, 'maxLen'), trainLimit: num(o, 'trainLimit'),
      validLimit: num(o, 'validLimit'), testLimit: num(o, 'testLimit'), testSplit: o.testSplit as string | undefined,
      vocabSize: num(o, 'vocabSize'), labelSmoothing: num(o, 'labelSmoothing'), checkpointEveryUpdates: num(o, 'checkpointEvery'),
      logEveryUpdates: num(o, 'progressEvery'), seed: num(o, 'seed'), workers: num(o, 'workers'), microBatch: num(o, 'microBatch'),
    }),
  };
}


/** Runs the CLI on `argv` with `env` ($INIT_CWD, $ASAM_DATA_DIR, $ASAM_CACHE_DIR, $ASAM_BACKEND). */
async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const cmd = command();
  const o = parseCommand(cmd, argv);
  const out = requireOption(o.out as string | undefined, '--out', 'the run folder');
  const resume = o.resume === true;
  if (resume) {
    const extra = givenFlags(cmd).filter((g) => !RESUME_FLAGS.includes(g));
    if (extra.length) {
      throw new UsageError(`--resume reuses ${path.join(out, 'config.json')}; drop ${extra.join(', ')} (only ${RESUME_FLAGS.slice(3).join(', ')} may be given)`);
    }
  }
  const created = firstMissingFolder(out);
  const mode = prepareRunFolder(out, { resume, overwrite: o.overwrite === true, runFiles: NMT_RUN_FILES });
  if (mode === 'finished') {
    const r = readRunResult(out)!;
    process.stdout.write(`[nmt] ${out} is a finished run (status ${formatRunResult(r)}); ` +
      'nothing to resume, the folder is left as it is (--overwrite starts it again)\n');
    return 0;
  }

  const base = invocationDir(env, process.cwd());
  const fromEnv = (v: string | undefined): string | undefined => (v ? resolveUserPath(v, base) : undefined);
  let config: TranslationConfig;
  if (mode === 'resume') {
    // config.json: { format, task, runtime, config }, or the flat / { config, derived } layout of older runs
    const file = path.join(out, 'config.json');
    const raw = readRunJson(file, START_AGAIN_FIX);
    try {
      const saved = translationConfigOfRun(raw, defaultTranslationDeps, file);
      config = resolveTranslationConfig({
      ...saved,
      outDir: out,
      resume: true,
      ...defined({
        dataDir: o.dataDir as string | undefined, cacheDir: o.cacheDir as string | undefined, maxUpdates: num(o, 'maxUpdates'),
        maxEpochs: num(o, 'maxEpochs'), logEveryUpdates: num(o, 'progressEvery'), checkpointEveryUpdates: num(o, 'checkpointEvery'),
        testLimit: num(o, 'testLimit'), testSplit: o.testSplit as string | undefined, workers: num(o, 'workers'), microBatch: num(o, 'microBatch'),
      }),
      });
    } catch (e) {
      // a config.json of another program, or edited by hand: the file is named, with the fix
      if (!isUserError(e)) throw e;
      throw new UsageError(`${file} is not a translation config this program can resume: ${oneLine(e.message)}; ${START_AGAIN_FIX}`);
    }
  } else {
    config = resolveTranslationConfig(configFromFlags(o, {
      outDir: out,
      dataDir: resolveDataDir({ dir: (o.dataDir as string | undefined) ?? fromEnv(env.ASAM_DATA_DIR), env }),
      cacheDir: (o.cacheDir as string | undefined) ?? fromEnv(env.ASAM_CACHE_DIR) ?? path.join(os.homedir(), '.cache', 'asam'),
    }));
  }

  backendFrom(o.backend as string | undefined, env); // a bad $ASAM_BACKEND is reported before any download
  // data on demand: a corpus that is not in the data folder is downloaded first (a failed download: no run folder)
  await ensureDataset(config.corpus, config.dataDir, { allowDownload: o.download !== false, mirror: mirrorFrom(o.mirror as string | undefined, env), sink: process.stdout, tag: '[nmt]' });

  return runInFolder({
    tag: '[nmt]', out, mode, created, runFiles: NMT_RUN_FILES, backendFlag: o.backend as string | undefined, env, argv, cwd: base,
    programFile: import.meta.url, extra: { dataDir: config.dataDir, cacheDir: config.cacheDir },
    initEngine: (backend) => initEngine({ backend: backend as BackendRequest, nativeKernels: nativeKernelsFrom(o.nativeKernels as string | undefined, env) }),
  }, async (engine) => {
    process.stdout.write(`[nmt] ${mode === 'resume' ? 'resuming' : 'new run'}: ${config.corpus} from ${config.dataDir}; preset ${config.preset}; ` +
      `optimizer ${config.optimizer.method === 'none' ? 'adam (Adam alone)' : `Adam+${config.optimizer.method.toUpperCase()}`} rho ${config.optimizer.rho}; out ${out}\n`);
    // Ctrl-C / SIGTERM: a checkpoint at the next update and status 'stopped'; a second Ctrl-C stops at once
    const stop = catchStopSignals({
      onFirst: (sig) => process.stdout.write(`[nmt] ${sig}: stopping at the next step… (it writes a checkpoint there; Ctrl-C again stops at once)\n`),
      onSecond: (sig) => {
        markRunStopped(out);
        process.stdout.write(`[nmt] ${sig} again: stopped at once; the run resumes from its last checkpoint: ${resumeHint(out)}\n`);
        process.exit(exitCodeOf(sig));
      },
    });
    const r = await trainTranslation(
      config,
      {
        backend: engine.backend,
        shouldStop: () => stop.requested,
        onLog: (msg) => process.stdout.write(`[nmt] ${msg}\n`),
        onProgress: (p) => process.stdout.write(`${formatProgress(p)}\n`),
        onEpoch: (e) => process.stdout.write(`== ${formatEpochRow(e)}\n`),
      },
      defaultTranslationDeps(),
    ).finally(() => stop.dispose());
    if (r.status === 'stopped') {
      process.stdout.write(`[nmt] ${formatRunResult(r)}\n[nmt] stopped at a checkpoint after ${r.steps} update(s); resume with: ${resumeHint(out)}\n`);
      return exitCodeOf(stop.signal ?? 'SIGINT');
    }
    // test_bleu is sacreBLEU's (detokenized output, 13a tokenization); papers on IWSLT'14 report BLEU on tokenized text
    const tok = r.test?.tokenizedBleu;
    const line = formatRunResult(r).replace(/(final test_bleu [0-9.]+)/, (m) => (typeof tok === 'number' ? `${m} (sacreBLEU; ${tok.toFixed(2)} on tokenized text, as fairseq scores it)` : m));
    process.stdout.write(`[nmt] ${line}; ${(r.meanStepSeconds ?? NaN).toFixed(2)} s/update\n`);
    process.stdout.write(`[nmt] results in ${out}: config.json, env.json, log.txt, metrics.csv, result.json, samples.txt, test-hypotheses.txt, test-bleu-segments.json\n`);
    return r.status === 'completed' ? 0 : 3;
  });
}

void runCli(() => main(process.argv.slice(2), process.env));
