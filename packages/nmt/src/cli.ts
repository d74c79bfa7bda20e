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
import * as os from 'node:os';
import * as path from 'node:path';
import {
  UsageError, addOption, backendFrom, addSharedOptions, createCommand, givenFlags, invocationDir, parseCommand, nativeKernelsFrom, requireOption,
  resolveUserPath, runCli, mirrorFrom,
} from '@asam/cli';
import { runTrainCommand } from '@asam/cli/train';
import type { Method } from '@asam/core';
import { ensureDataset, resolveDataDir } from '@asam/data';
import { initEngine, type BackendRequest } from '@asam/engine';
import { createTaskRegistry, formatRunResult } from '@asam/train';
import { listPresets } from './presets.ts';
import { resolveTranslationConfig, type TranslationConfig } from './train-config.ts';
import { nmtTask } from './train-data.ts';
import { NMT_RUNTIME_NAMES, type NmtTaskConfig } from './train.ts';

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


/** The runtime's flags of this CLI and the flag `asam train` knows each by. */
const RUNTIME_PASS: Array<[attr: string, flag: string]> = [
  ['epochs', '--epochs'], ['maxEpochs', '--epochs'], ['maxSteps', '--max-steps'], ['maxUpdates', '--max-steps'], ['checkpointEvery', '--checkpoint-every'],
  ['progressEvery', '--progress-every'], ['workers', '--workers'], ['microBatch', '--micro-batch'], ['backend', '--backend'], ['nativeKernels', '--native-kernels'],
];

/**
 * Runs the CLI on `argv` with `env` ($INIT_CWD, $ASAM_DATA_DIR, $ASAM_CACHE_DIR, $ASAM_BACKEND): a front end of
 * `asam train nmt` (@asam/cli's runTrainCommand, through @asam/train's runTask). Its own flags set the task's fields;
 * the runtime's flags go on under the runtime's names.
 */
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
  num(o, 'maxEpochs'); // a runtime flag given with its alias is refused here
  num(o, 'maxUpdates');

  const base = invocationDir(env, process.cwd());
  const fromEnv = (v: string | undefined): string | undefined => (v ? resolveUserPath(v, base) : undefined);
  let taskConfig: Record<string, unknown> | undefined;
  let dataDir = o.dataDir as string | undefined;
  if (!resume) {
    dataDir = resolveDataDir({ dir: dataDir ?? fromEnv(env.ASAM_DATA_DIR), env });
    const flat = configFromFlags(o, {
      outDir: out, dataDir,
      cacheDir: (o.cacheDir as string | undefined) ?? fromEnv(env.ASAM_CACHE_DIR) ?? path.join(os.homedir(), '.cache', 'asam'),
    });
    const runtimeKeys = new Set(Object.keys(NMT_RUNTIME_NAMES));
    taskConfig = Object.fromEntries(Object.entries(flat).filter(([k]) => !runtimeKeys.has(k)));
  }
  backendFrom(o.backend as string | undefined, env); // a bad $ASAM_BACKEND is reported before any download

  const pass: string[] = ['nmt', '--out', out];
  for (const [attr, flag] of RUNTIME_PASS) if (o[attr] !== undefined && !pass.includes(flag)) pass.push(flag, String(o[attr]));
  if (dataDir !== undefined) pass.push('--data-dir', dataDir);
  if (resume) pass.push('--resume');
  if (o.overwrite === true) pass.push('--overwrite');

  return runTrainCommand({
    tasks: createTaskRegistry([nmtTask]), name: 'pnpm --filter @asam/nmt train --', argv: pass, recordArgv: argv, env, programFile: import.meta.url,
    configNoun: 'translation', resumeHint, ...(taskConfig ? { taskConfig } : {}),
    resumeTaskOverrides: defined({
      dataDir: o.dataDir as string | undefined, cacheDir: o.cacheDir as string | undefined, testLimit: num(o, 'testLimit'), testSplit: o.testSplit as string | undefined,
    }),
    defaultDataDir: () => resolveDataDir({ env }),
    initEngine: (backend) => initEngine({ backend: backend as BackendRequest, nativeKernels: nativeKernelsFrom(o.nativeKernels as string | undefined, env) }),
    // data on demand: a corpus that is not in the data folder is downloaded first (a failed download: no run folder)
    prepareData: async (_spec, config) => {
      const c = config as NmtTaskConfig;
      await ensureDataset(c.corpus, c.dataDir, { allowDownload: o.download !== false, mirror: mirrorFrom(o.mirror as string | undefined, env), sink: process.stdout, tag: '[nmt]' });
    },
    envExtra: (config) => ({ dataDir: (config as NmtTaskConfig).dataDir, cacheDir: (config as NmtTaskConfig).cacheDir }),
    describe: (config) => {
      const c = config as NmtTaskConfig;
      return `${c.corpus} from ${c.dataDir}; preset ${c.preset}; ` +
        `optimizer ${c.optimizer.method === 'none' ? 'adam (Adam alone)' : `Adam+${c.optimizer.method.toUpperCase()}`} rho ${c.optimizer.rho}`;
    },
    // test_bleu is sacreBLEU's (detokenized output, 13a tokenization); papers on IWSLT'14 report BLEU on tokenized text
    resultLine: (r) => {
      const tok = r.test?.tokenizedBleu;
      const line = formatRunResult(r).replace(/(final test_bleu [0-9.]+)/, (m) => (typeof tok === 'number' ? `${m} (sacreBLEU; ${tok.toFixed(2)} on tokenized text, as fairseq scores it)` : m));
      return `${line}; ${(r.meanStepSeconds ?? NaN).toFixed(2)} s/update`;
    },
  });
}

void runCli(() => main(process.argv.slice(2), process.env));
